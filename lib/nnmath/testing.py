r"""Testing against exact values, in the style of ``numpy.testing``: the book's one oracle.

The tests and the chapters import this module; nothing else in the project computes an
exact value or an error in ulps.

* :func:`exact` evaluates any function written for mpmath elementwise at 50 significant
  digits, and ``exact_<name>`` does so for each activation of ``nnmath``, written from its
  mathematical definition, never from ``nnmath``'s formulas.
* ``exact_softmax``, ``exact_log_softmax``, ``exact_logsumexp`` and the loss references work
  along the last axis, with the two identities that 50 digits alone cannot see (below).
* :func:`ulp_error` is the one definition of an error in ulps; :func:`assert_ulp_within` and
  :func:`assert_close` are the assertions built on the oracle.
* :func:`portable` prints a value with only the digits no other machine can change, asserting it.
* :func:`accuracy_grid` is the fixed set of inputs on which the book and the tests measure,
  and :func:`worst_errors` compares implementations on it.

The error of a floating-point result :math:`\hat y` is measured against the exact value
:math:`y` of the function at the exact (floating-point) input, in units of the spacing of
floats at :math:`y` in the result's dtype:

.. math:: \operatorname{err}(\hat y) = \frac{|\hat y - y|}{\operatorname{ulp}(y)}, \qquad
          \operatorname{ulp}(y) = 2^{\max(\lfloor \log_2 |y| \rfloor,\ e_{\min}) - p + 1}

with :math:`p` the precision (53 bits in float64, 24 in float32) and :math:`e_{\min}` the
smallest normal exponent, so that below the normal range an ulp is the spacing of the
subnormals. A correctly rounded result has an error of at most 0.5.

Two identities are used because 50 digits alone cannot see them:
:math:`\log \sum_j e^{a_j - m} = \operatorname{log1p}\bigl(\sum_{j \ne k} e^{a_j - m}\bigr)` for one
index :math:`k` with :math:`a_k = m` (otherwise :math:`1 + 10^{-300}` is 1 at 50 digits) and
:math:`1 - \operatorname{softmax}(a)_t = \sum_{j \ne t} \operatorname{softmax}(a)_j`. Differences
:math:`a_j - m` are formed exactly (``exact=True``), whatever the exponents.

:func:`accuracy_grid` holds extremes up to :math:`\pm 10^{300}` (float64) and the float32
overflow point, rows whose entries differ by hundreds to thousands, rows of equal values,
and results in the subnormal range.

Examples
--------
>>> import numpy as np, mpmath
>>> import nnmath as nm
>>> float(ulp_error(np.float64(1.0) + 2.0**-52, mpmath.mpf(1))[()])
1.0
>>> x = np.linspace(-30.0, 30.0, 61)
>>> assert_ulp_within(nm.sigmoid(x), exact_sigmoid(x), 4)
>>> print(mpmath.nstr(exact(lambda v: v**2 / 3, np.array([1.0, 2.0]))[1], 30))
1.33333333333333333333333333333
"""

import mpmath
import numpy as np

DIGITS = 50
# Beyond this distance below the maximum an exponential is below 1e-1300 of the largest
# term: nothing at 50 digits, and far below the smallest subnormal of any dtype here.
_NEGLIGIBLE = 3000


# Measuring. ---------------------------------------------------------------------------


def ulp(value, dtype):
    """The ulp of the exact value ``value`` (an mpf) in ``dtype``, as an mpf."""
    finfo = np.finfo(dtype)
    precision = finfo.nmant + 1
    if value == 0:
        exponent = finfo.minexp
    else:
        exponent = max(int(mpmath.frexp(abs(value))[1]) - 1, finfo.minexp)
    return mpmath.ldexp(1, exponent - precision + 1)


def ulp_error(computed, exact, scale=None):
    """Elementwise ``|computed - exact| / ulp(scale)`` in the dtype of ``computed``.

    Parameters
    ----------
    computed : numpy.ndarray
        Floating-point results.
    exact : array_like of mpf
        The exact values, of ``computed``'s shape.
    scale : array_like of mpf, optional
        Whose ulp to measure in (default: ``exact``). For a difference that can cancel,
        such as :math:`y_k - t_k`, the size of its terms is the fair yardstick.

    Returns
    -------
    numpy.ndarray
        float64 errors, the shape of ``computed``. ``inf`` where ``computed`` is not finite
        but ``exact`` is; 0 where ``exact`` is beyond the dtype's range and ``computed`` is the
        infinity it rounds to.
    """
    computed = np.asarray(computed)
    exact = np.asarray(exact, dtype=object)
    scale = exact if scale is None else np.asarray(scale, dtype=object)
    largest = mpmath.mpf(float(np.finfo(computed.dtype).max))
    errors = np.empty(computed.shape, dtype=np.float64)
    with mpmath.workdps(DIGITS):
        for index in np.ndindex(computed.shape):
            got, want = float(computed[index]), mpmath.mpf(exact[index])
            if abs(want) > largest:  # overflows: only the infinity of the right sign is right
                errors[index] = 0.0 if np.isinf(got) and (got > 0) == (want > 0) else np.inf
            elif not np.isfinite(got):
                errors[index] = np.inf
            else:
                unit = ulp(abs(mpmath.mpf(scale[index])), computed.dtype)
                errors[index] = float(abs(mpmath.mpf(got) - want) / unit)
    return errors


def max_ulp_error(computed, exact, scale=None):
    """The largest :func:`ulp_error` of ``computed``, a float (``inf`` if any result is wrong
    by an infinity or is NaN)."""
    errors = ulp_error(computed, exact, scale)
    errors[np.isnan(errors)] = np.inf
    return float(errors.max()) if errors.size else 0.0


def assert_ulp_within(computed, exact, max_ulp, scale=None, err_msg=""):
    """Raise an ``AssertionError`` unless every result is within ``max_ulp`` ulps of its exact value.

    Parameters
    ----------
    computed : numpy.ndarray
        Floating-point results.
    exact : array_like of mpf
        Their exact values, of ``computed``'s shape (from :func:`exact` or ``exact_<name>``).
    max_ulp : float
        The bound, in ulps of ``exact`` (or of ``scale``; see :func:`ulp_error`).
    scale : array_like of mpf, optional
        Passed to :func:`ulp_error`.
    err_msg : str, optional
        Prepended to the failure message.

    Notes
    -----
    The failure message names the worst point, its result, its exact value and its error, so
    that a failure on another machine can be reproduced.
    """
    computed = np.asarray(computed)
    errors = ulp_error(computed, exact, scale)
    errors[np.isnan(errors)] = np.inf
    if errors.size == 0 or errors.max() <= max_ulp:
        return
    where = np.unravel_index(np.argmax(errors), errors.shape)
    exact_value = np.asarray(exact, dtype=object)[where]
    with mpmath.workdps(DIGITS):
        shown = mpmath.nstr(mpmath.mpf(exact_value), 20)
    count = int((errors > max_ulp).sum())
    raise AssertionError(
        f"{err_msg}{': ' if err_msg else ''}{count} of {errors.size} results beyond {max_ulp} ulp; "
        f"the worst at index {tuple(int(i) for i in where)}: got {float(computed[where])!r}, "
        f"exact {shown}, error {errors[where]:.3g} ulp"
    )


#: Relative tolerances of :func:`assert_close` for test suites: about 45 units in the last
#: place in float64 and 8 in float32.
RTOL = {np.dtype(np.float64): 1e-14, np.dtype(np.float32): 1e-6}


def assert_close(actual, exact, rtol, atol=None):
    """Raise an ``AssertionError`` unless ``|actual - exact| <= rtol |exact| + atol`` everywhere.

    Parameters
    ----------
    actual : array_like
        Floating-point results.
    exact : array_like of mpf
        Their exact values, of ``actual``'s shape.
    rtol : float or array_like
        A number, or an array of ``actual``'s shape (a tolerance per point).
    atol : float, optional
        By default the smallest normal number of ``actual``'s dtype: below it a float has no
        relative precision left, so an underflowed 0 is the right answer.
    """
    actual = np.asarray(actual)
    if atol is None:
        atol = float(np.finfo(actual.dtype).tiny)
    exact = np.asarray(exact, dtype=object)
    if actual.shape != exact.shape:
        raise AssertionError(f"shapes differ: actual {actual.shape}, exact {exact.shape}")
    rtol = np.broadcast_to(rtol, actual.shape)
    with mpmath.workdps(DIGITS):
        bad = [
            (index, float(actual[index]), mpmath.nstr(exact[index], 20))
            for index in np.ndindex(actual.shape)
            if not abs(mpmath.mpf(float(actual[index])) - exact[index])
            <= float(rtol[index]) * abs(exact[index]) + atol
        ]
    if bad:
        raise AssertionError(f"{len(bad)} results outside the tolerance; (index, got, exact): {bad[:10]}")


def portable(value, *specs, margin=1e-9):
    """``value`` formatted with the first of ``specs`` whose digits no other machine can change.

    A value computed through ``exp``, ``log`` or a matrix product differs in its last bits
    between machines (NumPy's SIMD kernels, the BLAS), so a printed digit is the same
    everywhere only if the value is far from the edge between two roundings. A format is
    accepted when the value moved by the relative ``margin`` either way prints the same.

    Parameters
    ----------
    value : float or sequence of float
        The number, or numbers that must all print in one common format.
    *specs : str
        Format specifications (``".3f"``, ``".2g"``, ...), tried in order.
    margin : float, optional
        The relative change the digits must survive: ``1e-9`` covers a few ulps of exp and
        log; a trained network's numbers need more, such as ``1e-3``.

    Returns
    -------
    str or list of str
        The text (a list for a sequence), in the first format that survives.

    Raises
    ------
    AssertionError
        When the value is near a rounding edge in every one of ``specs``.

    Examples
    --------
    >>> portable(0.12345, ".3f")
    '0.123'
    >>> portable(2 / 3, ".2f", margin=1e-3)
    '0.67'
    """
    values = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
    for spec in specs:
        texts = [format(v, spec) for v in values]
        if all(format(v * (1 - margin), spec) == text == format(v * (1 + margin), spec) for v, text in zip(values, texts)):
            return texts if isinstance(value, (list, tuple, np.ndarray)) else texts[0]
    raise AssertionError(f"{value} is within a relative {margin} of a rounding edge in every format {specs}")


def bits(array):
    """The bit patterns of a float array, so that comparisons see -0.0 and every last bit."""
    array = np.asarray(array)
    return array.view(f"u{array.dtype.itemsize}")


# Exact values, elementwise. --------------------------------------------------------------


def exact(function, *arrays):
    """``function`` applied elementwise at 50 significant digits; an object array of mpf.

    Parameters
    ----------
    function : callable
        Takes one mpf per array and returns an mpf; written for mpmath (for a SymPy
        expression, ``sympy.lambdify(x, expr, "mpmath")``).
    *arrays : array_like
        The inputs, broadcast together; each float is taken exactly.

    Returns
    -------
    numpy.ndarray
        dtype object, the broadcast shape, the exact values as mpf.
    """
    arrays = np.broadcast_arrays(*(np.asarray(a) for a in arrays))
    with mpmath.workdps(DIGITS):
        values = [
            function(*(mpmath.mpf(float(v)) for v in point))
            for point in zip(*(a.ravel() for a in arrays))
        ]
    shape = arrays[0].shape
    result = np.empty(len(values), dtype=object)
    result[:] = values
    return result.reshape(shape)


def _exp(u):
    """e^u, with arguments below -3000 (results below 1e-1300) taken as 0."""
    return mpmath.exp(u) if u > -_NEGLIGIBLE else mpmath.mpf(0)


def _sigmoid(x):
    return 1 / (1 + mpmath.exp(-x)) if x > -_NEGLIGIBLE else mpmath.mpf(0)


def _sigmoid_grad(x):
    if abs(x) > _NEGLIGIBLE:
        return mpmath.mpf(0)
    return mpmath.exp(-x) / (1 + mpmath.exp(-x)) ** 2


def _softplus(u):
    """log(1 + e^u), the definition (log1p: 1 + e^-700 is 1 at 50 digits)."""
    return u + mpmath.log1p(_exp(-u)) if u > 0 else mpmath.log1p(_exp(u))


def _tanh_grad(v):
    return mpmath.sech(v) ** 2


def _relu(v):
    return max(v, mpmath.mpf(0))


def _relu_grad(v):
    return mpmath.mpf(1 if v > 0 else 0)  # the book's subgradient at the kink is 0


def _leaky_relu(v, alpha=0.01):
    return v if v > 0 else mpmath.mpf(alpha) * v


def _leaky_relu_grad(v, alpha=0.01):
    return mpmath.mpf(1) if v > 0 else mpmath.mpf(alpha)


def _elu(v, alpha=1.0):
    return v if v > 0 else mpmath.mpf(alpha) * mpmath.expm1(v)


def _elu_grad(v, alpha=1.0):
    return mpmath.mpf(1) if v > 0 else mpmath.mpf(alpha) * _exp(v)


def _softplus_grad(v):
    return _sigmoid(v)


def _ncdf(v):
    # mpmath's erfc cannot take |x| ~ 1e300; there Phi is 1 or 0 to within exp(-1e19).
    if abs(v) > 1e9:
        return mpmath.mpf(1 if v > 0 else 0)
    return mpmath.ncdf(v)


def _npdf(v):
    return mpmath.exp(-(v**2) / 2) / mpmath.sqrt(2 * mpmath.pi) if abs(v) < 1e9 else mpmath.mpf(0)


def _gelu(v):
    return v * _ncdf(v)


def _gelu_grad(v):
    return _ncdf(v) + v * _npdf(v)


def _silu(v):
    return v * _sigmoid(v)


def _silu_grad(v):
    return _sigmoid(v) * (1 + v * _sigmoid(-v))


#: Each activation of nnmath and its derivative as an mpmath function of one mpf (and
#: ``alpha`` for ``leaky_relu`` and ``elu``), written from the definitions:
#: :math:`\sigma(x) = 1/(1 + e^{-x})`, :math:`\tanh`, :math:`\max(x, 0)`,
#: :math:`\log(1 + e^x)`, :math:`x\Phi(x)`, :math:`x\sigma(x)`, ... The derivatives are
#: written out by hand; the tests check each against ``mpmath.diff`` of its function.
DEFINITIONS = {
    "sigmoid": _sigmoid,
    "sigmoid_grad": _sigmoid_grad,
    "tanh": mpmath.tanh,
    "tanh_grad": _tanh_grad,
    "relu": _relu,
    "relu_grad": _relu_grad,
    "leaky_relu": _leaky_relu,
    "leaky_relu_grad": _leaky_relu_grad,
    "elu": _elu,
    "elu_grad": _elu_grad,
    "softplus": _softplus,
    "softplus_grad": _softplus_grad,
    "gelu": _gelu,
    "gelu_grad": _gelu_grad,
    "silu": _silu,
    "silu_grad": _silu_grad,
}


def _exact_activation(name):
    definition = DEFINITIONS[name]

    def exact_values(x, **parameters):
        return exact(lambda v: definition(v, **parameters), x)

    exact_values.__name__ = f"exact_{name}"
    exact_values.__qualname__ = exact_values.__name__
    exact_values.__doc__ = (
        f"The exact ``{name}`` of each element of ``x`` at 50 digits, an object array of mpf "
        f"(keyword parameters such as ``alpha`` are passed on). See :data:`DEFINITIONS`."
    )
    return exact_values


exact_sigmoid = _exact_activation("sigmoid")
exact_sigmoid_grad = _exact_activation("sigmoid_grad")
exact_tanh = _exact_activation("tanh")
exact_tanh_grad = _exact_activation("tanh_grad")
exact_relu = _exact_activation("relu")
exact_relu_grad = _exact_activation("relu_grad")
exact_leaky_relu = _exact_activation("leaky_relu")
exact_leaky_relu_grad = _exact_activation("leaky_relu_grad")
exact_elu = _exact_activation("elu")
exact_elu_grad = _exact_activation("elu_grad")
exact_softplus = _exact_activation("softplus")
exact_softplus_grad = _exact_activation("softplus_grad")
exact_gelu = _exact_activation("gelu")
exact_gelu_grad = _exact_activation("gelu_grad")
exact_silu = _exact_activation("silu")
exact_silu_grad = _exact_activation("silu_grad")


def exact_binary_cross_entropy(z, t):
    r"""Per element :math:`t\,\operatorname{softplus}(-z) + (1 - t)\operatorname{softplus}(z)`,
    i.e. :math:`-t \log\sigma(z) - (1 - t)\log(1 - \sigma(z))`, at 50 digits."""
    z, t = np.broadcast_arrays(np.asarray(z), np.asarray(t))
    with mpmath.workdps(DIGITS):
        values = []
        for a, b in zip(z.ravel(), t.ravel()):
            a, b = mpmath.mpf(float(a)), mpmath.mpf(float(b))
            values.append(b * _softplus(-a) + (1 - b) * _softplus(a))
    return np.array(values, dtype=object).reshape(z.shape)


def exact_binary_cross_entropy_grad(z, t):
    r"""Per element :math:`\sigma(z) - t` at 50 digits (without the :math:`1/M`).

    Written as :math:`(1 - t)\,\sigma(z) - t\,\sigma(-z)`, the same number, so that a hard
    target keeps its digits: :math:`\sigma(120) - 1 = -\sigma(-120) \approx -10^{-52}`,
    where :math:`\sigma(120)` itself is 1 at 50 digits.
    """
    z, t = np.broadcast_arrays(np.asarray(z), np.asarray(t))
    with mpmath.workdps(DIGITS):
        values = []
        for a, b in zip(z.ravel(), t.ravel()):
            a, b = mpmath.mpf(float(a)), mpmath.mpf(float(b))
            values.append((1 - b) * _sigmoid(a) - b * _sigmoid(-a))
    return np.array(values, dtype=object).reshape(z.shape)


# Exact values, along the last axis. ------------------------------------------------------


def _row_parts(row):
    """``(m, d, tail)`` of one row: its max, the exact differences a_j - m, and log sum_j e^(a_j - m)."""
    values = [mpmath.mpf(float(v)) for v in row]
    top = max(range(len(values)), key=lambda j: values[j])
    m = values[top]
    d = [mpmath.fsub(v, m, exact=True) for v in values]
    tail = mpmath.log1p(mpmath.fsum(_exp(dj) for j, dj in enumerate(d) if j != top))
    return m, d, tail


def _by_row(function, x, width):
    x = np.asarray(x)
    rows = x.reshape(-1, x.shape[-1])
    with mpmath.workdps(DIGITS):
        values = [function(*_row_parts(row)) for row in rows]
    shape = x.shape[:-1] + ((x.shape[-1],) if width else ())
    return np.array(values, dtype=object).reshape(shape)


def exact_logsumexp(x):
    r""":math:`\log \sum_j e^{a_j}` of each row (last axis) at 50 digits."""
    return _by_row(lambda m, d, tail: m + tail, x, width=False)


def exact_log_softmax(x):
    r""":math:`a_k - \log \sum_j e^{a_j}` along the last axis at 50 digits."""
    return _by_row(lambda m, d, tail: [dk - tail for dk in d], x, width=True)


def exact_softmax(x):
    r""":math:`e^{a_k} / \sum_j e^{a_j}` along the last axis at 50 digits."""
    return _by_row(lambda m, d, tail: [_exp(dk - tail) for dk in d], x, width=True)


def exact_softmax_cross_entropy_rows(logits, labels):
    r"""Per row :math:`\sum_k t_k\,(\operatorname{LSE}(a) - a_k)` at 50 digits.

    ``labels`` are class indices (shape ``logits.shape[:-1]``) or distributions (the shape
    of ``logits``). The loss of :func:`~nnmath.softmax_cross_entropy` is their mean.
    """
    distribution = _as_distribution(logits, labels)
    log_probs = exact_log_softmax(logits).reshape(-1, np.shape(logits)[-1])
    with mpmath.workdps(DIGITS):
        values = [
            -mpmath.fsum(mpmath.mpf(float(tk)) * lk for tk, lk in zip(t_row, l_row) if tk != 0)
            for t_row, l_row in zip(distribution.reshape(log_probs.shape), log_probs)
        ]
    return np.array(values, dtype=object).reshape(np.shape(logits)[:-1])


def exact_softmax_cross_entropy_grad_rows(logits, labels):
    r"""Per row :math:`y_k \sum_j t_j - t_k`, :math:`y = \operatorname{softmax}(a)`, at 50 digits.

    The gradient of :func:`~nnmath.softmax_cross_entropy` is this divided by the batch size.
    Where :math:`t_k = 1` is the only label, :math:`y_k - 1 = -\sum_{j \ne k} y_j`, so that
    a probability within :math:`10^{-300}` of 1 still gives the right difference.
    """
    distribution = _as_distribution(logits, labels)
    probs = exact_softmax(logits).reshape(-1, np.shape(logits)[-1])
    rows = []
    with mpmath.workdps(DIGITS):
        for t_row, y_row in zip(distribution.reshape(probs.shape), probs):
            t_row = [mpmath.mpf(float(tk)) for tk in t_row]
            total = mpmath.fsum(t_row)
            if total == 1 and max(t_row) == 1:  # one-hot: y_k - 1 = -(the other y_j)
                others = [-mpmath.fsum(y for j, y in enumerate(y_row) if j != k) for k in range(len(y_row))]
                rows.append([others[k] if tk == 1 else yk for k, (yk, tk) in enumerate(zip(y_row, t_row))])
            else:
                rows.append([yk * total - tk for yk, tk in zip(y_row, t_row)])
    return np.array(rows, dtype=object).reshape(np.shape(logits))


def _as_distribution(logits, labels):
    labels = np.asarray(labels)
    if labels.shape == np.shape(logits):
        return labels
    return np.eye(np.shape(logits)[-1])[labels]


# The grid. -------------------------------------------------------------------------------


def accuracy_grid(dtype):
    """The fixed inputs on which accuracy is measured, for float64 or float32.

    Returns
    -------
    dict
        ``x``: 1-D array of elementwise inputs, from 0 and the smallest subnormal to
        :math:`\\pm` the largest float, dense where the results are subnormal and where
        exponentials overflow. ``targets``: a target in [0, 1] for each ``x`` (0, 1, 1/2,
        values close to 0 or 1, uniform ones). ``rows``: a list of 2-D arrays of logits (one
        per row length), with ``labels`` (class indices, the max, the min or random) and
        ``soft_labels`` (one-hot, near one-hot, uniform, random, not summing to 1) for each.
    """
    dtype = np.dtype(dtype)
    double = dtype == np.float64
    rng = np.random.default_rng(20261126 if double else 20261127)
    finfo = np.finfo(dtype)
    big = 709.78 if double else 88.72  # exp overflows beyond this
    sub = 745.13 if double else 103.97  # exp(-sub) is the smallest subnormal
    huge = [1e10, 1e100, 1e300] if double else [1e10, 1e30, 3e38]

    points = [0.0, float(finfo.smallest_subnormal), float(finfo.tiny), 1e-30, 1e-8, 2.0**-20]
    points += [0.5, 1.0, 2.0, 16.0, 17.5, 20.0, 36.5, 40.0, 1000.0]
    points += [big - 1, big - 0.01, big, big + 0.01, big + 1]  # exp overflows beyond big
    points += [sub - 37, sub - 1, sub - 0.01, sub, sub + 0.01]  # exp(-x) is subnormal or 0
    points += huge + [float(finfo.max)]
    x = np.concatenate(
        [
            [-0.0],
            points,
            np.negative(points),
            rng.uniform(-1, 1, 40),
            rng.uniform(-40, 40, 160),
            rng.uniform(-sub - 5, big + 5, 100),
            -rng.uniform(big - 37, sub, 80),  # results in the subnormal range
            np.sign(rng.uniform(-1, 1, 40)) * 10.0 ** rng.uniform(-30, np.log10(float(finfo.max)) - 1, 40),
        ]
    ).astype(dtype)
    special_targets = [0.0, 1.0, 0.5, 0.25, 1 - 2.0**-20, 2.0**-20, 0.999, 0.001]
    half = x.size // 2
    targets = np.concatenate([np.resize(special_targets, half), rng.uniform(0, 1, x.size - half)])
    targets = rng.permutation(targets).astype(dtype)

    spread = 1000.0 if double else 120.0
    offsets = [big - 4, big - 1, big + 1, big + 20, 10 * big, 1e4, -1e4] + huge + [-h for h in huge]

    def rows_of(n):
        made = [rng.normal(scale=s, size=(12, n)) for s in (1.0, 10.0, 100.0, spread)]
        made += [rng.normal(scale=s, size=(4, n)) + offset for offset in offsets for s in (1.0, 30.0)]
        top = rng.uniform(-spread, spread, size=(16, 1))
        made.append(top - rng.uniform(0, spread * 1.5, size=(16, n)))  # entries hundreds to thousands apart
        made.append(rng.uniform(-sub, 20, size=(8, 1)) + np.zeros((8, n)))  # rows of equal values
        made.append(np.array([[v] * n for v in (0.0, 1.0, -1.0, big, -big, 1000.0, huge[-1], -huge[-1])]))
        # subnormal results: entries sub - 37 to sub below the max
        gaps = np.concatenate([np.zeros((12, 1)), rng.uniform(sub - 37, sub + 0.5, size=(12, n - 1))], axis=1)
        made.append(rng.uniform(-5, 40, size=(12, 1)) - gaps)
        spreads = (15.0, 30.0, 89.0, 89.3, 300.0, big - 1, big, sub, 1000.0)
        made.append(np.array([[a, 0.0] + [-a] * (n - 2) for a in spreads]))  # [a, 0, -a, ...]
        return np.concatenate(made).astype(dtype)

    rows = [rows_of(2), rows_of(3), rows_of(5), rng.normal(scale=4, size=(3, 100)).astype(dtype)]
    labels, soft_labels = [], []
    for logits in rows:
        count, n = logits.shape
        kind = np.arange(count) % 3
        random_index = rng.integers(0, n, count)
        index = np.where(kind == 1, np.argmin(logits, axis=1), random_index)
        index = np.where(kind == 0, np.argmax(logits, axis=1), index)  # the max, the min, or any
        labels.append(index)
        soft = rng.uniform(0, 1, size=(count, n))
        soft /= soft.sum(axis=1, keepdims=True)
        soft[0::5] = np.eye(n)[index[0::5]]  # one-hot, as a distribution
        soft[1::5] = np.eye(n)[index[1::5]] * (1 - 1e-6) + 1e-6 / n  # nearly one-hot
        soft[2::5] = 1.0 / n
        soft[3::5] *= 1.5  # rows that sum to 1.5
        soft_labels.append(soft.astype(dtype))
    return {"x": x, "targets": targets, "rows": rows, "labels": labels, "soft_labels": soft_labels}


# Comparing implementations. --------------------------------------------------------------

#: The functions :func:`worst_errors` knows how to measure, and the form of their inputs.
MEASURED = {
    "sigmoid": "elementwise",
    "sigmoid_grad": "elementwise",
    "softmax": "rows",
    "log_softmax": "rows",
    "logsumexp": "rows",
    "softmax_cross_entropy": "row losses",
    "binary_cross_entropy": "element losses",
}


def worst_errors(candidates, dtype):
    r"""The largest error of each implementation on the grid, and the input where it occurs.

    Parameters
    ----------
    candidates : dict
        ``{function: {implementation name: callable}}`` with functions from :data:`MEASURED`.
        Elementwise callables take ``x``; row functions a 2-D array of rows (along the last
        axis); ``softmax_cross_entropy`` one row of shape ``(1, n)`` and its label of shape
        ``(1,)``; ``binary_cross_entropy`` one logit and one target, each of shape ``(1,)``.
    dtype : float64 or float32
        The grid of :func:`accuracy_grid` to measure on.

    Returns
    -------
    dict
        ``{function: {implementation name: (largest error in ulp, input as text)}}``. The
        losses are measured one row (element) at a time; ``logsumexp`` in ulps of
        ``max(|LSE|, |max a|)``: for a negative maximum :math:`m`, LSE is
        :math:`m + \log \sum_j e^{a_j - m}`, two terms that can cancel, and half an ulp in any
        exponential then shows up multiplied by :math:`|m| / |\mathrm{LSE}|` whatever the
        method. NaN counts as ``inf``.
    """
    grid = accuracy_grid(dtype)
    x, targets = grid["x"], grid["targets"]
    worst = {name: {label: (-1.0, "") for label in labels} for name, labels in candidates.items()}

    def keep(name, label, computed, exact, describe, scale=None):
        errors = ulp_error(np.asarray(computed).astype(dtype), exact, scale)
        errors[np.isnan(errors)] = np.inf
        where = np.unravel_index(np.argmax(errors), errors.shape)
        if errors[where] > worst[name][label][0]:
            worst[name][label] = (float(errors[where]), describe(where))

    def one_by_one(function, *arrays):
        values = [function(*(a[i : i + 1] for a in arrays)) for i in range(arrays[0].shape[0])]
        return np.array(values, dtype=dtype)

    with np.errstate(all="ignore"):
        for name, implementations in candidates.items():
            kind = MEASURED[name]
            if kind == "elementwise":
                exact = {"sigmoid": exact_sigmoid, "sigmoid_grad": exact_sigmoid_grad}[name](x)
                for label, function in implementations.items():
                    keep(name, label, function(x), exact, lambda i: f"x = {_short(x[i])}")
            elif kind == "element losses":
                exact = exact_binary_cross_entropy(x, targets)
                for label, function in implementations.items():
                    got = one_by_one(function, x, targets)
                    keep(name, label, got, exact, lambda i: f"z = {_short(x[i])}, t = {_short(targets[i])}")
            else:
                for rows, labels in zip(grid["rows"], grid["labels"]):
                    describe = lambda i, rows=rows: _short(rows[i[0]])
                    if kind == "row losses":
                        exact = exact_softmax_cross_entropy_rows(rows, labels)
                        def describe(i, rows=rows, labels=labels):
                            return f"{_short(rows[i[0]])}, label {labels[i[0]]}"

                        for label, function in implementations.items():
                            keep(name, label, one_by_one(function, rows, labels), exact, describe)
                        continue
                    exact = _ROW_REFERENCES[name](rows)
                    scale = None
                    if name == "logsumexp":
                        scale = [max(abs(v), abs(mpmath.mpf(float(r.max())))) for v, r in zip(exact, rows)]
                    for label, function in implementations.items():
                        keep(name, label, function(rows), exact, describe, scale)
    return worst


_ROW_REFERENCES = {"softmax": exact_softmax, "log_softmax": exact_log_softmax, "logsumexp": exact_logsumexp}


def _short(values):
    """A few significant digits of a number or the start of a row, for tables."""
    values = np.atleast_1d(values)
    text = ", ".join(f"{float(v):.6g}" for v in values[:4]) + (", ..." if values.size > 4 else "")
    return f"[{text}]" if values.size > 1 else text
