r"""Softmax and its relatives, along one axis.

Every function here works along ``axis`` (default the last one) of an array of any shape;
float dtypes are kept, other inputs become float64, inputs are never modified, and the
axis must hold at least one entry.

Why subtract the maximum. :math:`e^{a}` overflows float64 for :math:`a > 709.78`, so the
textbook :math:`e^{a_k} / \sum_j e^{a_j}` returns ``inf/inf = nan`` for logits such as
``[1010, 1000, 990]``. Softmax is invariant to adding a constant to every input, and with
:math:`m = \max_j a_j` every exponent :math:`a_j - m \le 0`, so nothing overflows and the
largest term is exactly 1, so the sum cannot underflow to 0 either.

Why subtracting the maximum is not enough. :math:`a_k - m` is itself rounded: for
``[709.5, 0.1]`` the difference :math:`-709.4` carries an absolute error of up to half its
ulp, about :math:`5.7 \times 10^{-14}`, and :math:`e^{a_k - m}` inherits it as a *relative*
error, some 500 ulp. Here every row is shifted by a constant :math:`c` that makes
:math:`a_k - c` exact for every entry whose result is not 0 (see :func:`_sweep_rows` and
:func:`_exact_shift`). Usually that is :math:`c = 0`: no subtraction at all, which is
safe whenever the row's exponentials sum to between 1 and about :math:`10^{307}`. The
other rows are computed again, with :math:`c = \lfloor m \rfloor` for a negative maximum
and, beyond the overflow limit, :math:`c = m` with the rounding error :math:`r` of each
difference computed exactly (Fast2Sum) and put back, :math:`e^{d + r} \approx e^{d}(1 + r)`.

Why ``log1p``. With :math:`t = e^{m - c}` the largest term and :math:`s` the sum of the
others, :math:`\operatorname{LSE}(a) = m + \log(1 + s/t)`. For a confident row such as
``[89, 0, -89]``, :math:`s/t \approx 2.2 \times 10^{-39}` and :math:`1 + s/t` rounds to 1:
``log`` then returns 0 and the log-probability of the largest entry comes out as exactly
0 instead of :math:`-2.2 \times 10^{-39}` (a 100% error). ``log1p(s/t)`` keeps it, because
:math:`s` is summed *without* the largest term.

Speed. Each function runs block by block over whole rows (``nnmath._blocks``), so that
its temporaries stay in the cache, without ``np.where``; per-row quantities (the largest
term, logarithms, reciprocals) are computed in float64 also for float32 input, and
float16 input is computed in float32. Nothing depends on ``np.longdouble``, whose width
differs between platforms. On a ``(4096, 1000)`` array, softmax costs about 2.3 times one
``np.exp`` and log_softmax about 3.5 times (``make bench`` measures it).

References
----------
.. [1] J. S. Bridle, "Probabilistic interpretation of feedforward classification network
   outputs, with relationships to statistical pattern recognition", in *Neurocomputing*,
   Springer, 1990.
"""

import numpy as np

from ._blocks import row_blocks
from ._checks import as_float_array, check_axis, check_bool


def _sum_dtype(dtype, normalising=False):
    """The dtype in which sums along a row accumulate.

    NumPy sums pairwise, so the sum of n positive terms is off by at most about
    log2(n) / 2 ulp, usually far less. Inside a logarithm (log-sum-exp, log-softmax, the
    loss) that is harmless, and the input's own dtype is used. A sum that divides the
    output (softmax, the gradient) adds its error to every entry, so float32 input is
    summed in float64 there, which costs about 0.3 times one ``np.exp``.
    """
    return np.result_type(dtype, np.float64) if normalising else np.dtype(dtype)


def _wide(dtype):
    """The dtype of per-row arithmetic (the largest term, logarithms, reciprocals).

    There is one value per row, so extra precision costs nothing: float64 for float16 and
    float32 input. float64 input stays in float64, deliberately not in ``np.longdouble``:
    that is 80-bit on x86-64 Linux but plain float64 on macOS arm64 and Windows, and the
    results must be the same on every platform. The accuracy bounds hold without it
    (``tests/test_accuracy.py``); longdouble input is computed in longdouble.
    """
    return np.result_type(dtype, np.float64)


def _sum_bound(dtype, factor=1):
    """The largest sum of a row's exponentials accepted without a shift.

    Up to it the sum, times ``factor`` (the batch size, for a gradient that divides by
    it), has a normal reciprocal: about 4.5e307 in float64 and 8.5e37 in float32.
    """
    return 1 / (np.finfo(dtype).tiny * factor)


def _exact_shift(row_max, limit):
    r"""Per-row shift :math:`c` that makes :math:`x - c` exact wherever it matters.

    For rows whose exponentials, unshifted, overflow or sum to less than 1. ``row_max``
    is the row maximum :math:`m`, shape ``(rows, 1)``; ``limit`` the largest :math:`m`
    for which the row's exponentials cannot overflow. Returns ``(shift, big)``, ``big``
    marking the rows shifted by their maximum.

    * :math:`m < 0`: :math:`c = \lfloor m \rfloor`, an integer. For :math:`x \le c`,
      :math:`x - c` is a multiple of the ulp of :math:`x` no larger than :math:`|x|`, hence
      exact; for :math:`c < x \le m` the two are within a factor 2 (Sterbenz's lemma),
      except for :math:`c = -1, |x| < 1/2`, where the error is below :math:`2^{-54}`.
      The largest term :math:`e^{m - c}` is in :math:`[1, e)`.
    * :math:`m >` ``limit``: :math:`c = m`, and :func:`_shifted_exp` corrects the rounding.
    * otherwise (only infinite or NaN rows come here) :math:`c = 0`, so that the shift
      makes no ``inf - inf``.
    """
    shift = np.minimum(np.floor(row_max), 0)
    big = row_max > limit
    shift[big] = row_max[big]
    shift[~np.isfinite(row_max)] = 0
    return shift, big


def _shifted_exp(x, shift, big, out):
    """``out = exp(x - shift)`` for a block of rows, with the shift made exact (see above)."""
    np.subtract(x, shift, out=out)  # far below a huge max this may be -inf: exp(-inf) = 0 is right
    if not big.any():
        return np.exp(out, out=out)
    # Rows shifted by their maximum m, beyond the overflow limit (> 370 in float64, > 52
    # in float32): every entry x with exp(x - m) > 0 lies within 745 (104) of m, hence
    # |x| <= m, so Fast2Sum gives the rounding error of d = x - m exactly,
    # r = x - (d + m), and exp(x - m) = exp(d + r) = exp(d) * (1 + r) to within r**2.
    # In the other rows of the block r is 0 wherever exp(d) is not. Clipping r to [-1, 1]
    # (fmax and fmin also turn NaN into a bound) only tames entries where exp(d) = 0:
    # far below the max, or -inf, where d = -inf gives r = inf or NaN.
    error = np.subtract(x, np.add(out, shift))
    np.fmin(np.fmax(error, -1, out=error), 1, out=error)
    np.exp(out, out=out)
    out *= np.add(error, 1, out=error)
    return out


def _exp(x, shift, out):
    """``out = exp(x - c)``: ``shift`` is None (c = 0, nothing subtracted) or ``(c, big)``."""
    if shift is None:
        return np.exp(x, out=out)
    return _shifted_exp(x, *shift, out=out)


def _minus_shift(values, shift, dtype):
    """Per-row ``values - c`` in ``dtype`` (c = 0 when ``shift`` is None)."""
    values = values.astype(dtype)
    return values if shift is None else values - shift[0][:, 0]


def _sum_rows(e, normalising=False):
    """Row sums of a block, pairwise (np.add.reduce: no Python overhead), see :func:`_sum_dtype`."""
    return np.add.reduce(e, axis=1, dtype=_sum_dtype(e.dtype, normalising))


def _log1p_tail(row_max, top, rest):
    r""":math:`\log \sum_j e^{a_j - m} = \log(1 + s/t)`, 0 for rows whose max is not finite."""
    tail = np.log1p(rest / top)
    finite = np.isfinite(row_max)
    if not finite.all():
        tail[~finite] = 0
    return tail


def _sweep_rows(kernel, rows, out, bound, *row_args, scratch=1):
    r"""Run ``kernel`` over blocks of ``rows``, unshifted, then shifted on the rows that need it.

    ``kernel(x, out, scratch, shift, *args)`` computes one block of rows ``x`` (shape
    ``(k, n)``) into ``out`` (its rows), with ``scratch`` buffers of the block's shape
    and ``args``, the matching rows of each of ``row_args``; it returns each row's sum
    :math:`S` of the exponentials :math:`e^{x - c}`.

    Every row is first computed with :math:`c = 0`: nothing is subtracted, so nothing is
    rounded. That is right when :math:`1 \le S \le` ``bound``: nothing overflowed,
    :math:`1/S` is a normal number, and a term that underflowed is off by less than the
    spacing of subnormals, which dividing by :math:`S \ge 1` cannot magnify. The other
    rows (a negative maximum with a small sum, an overflow, an infinity or a NaN) are
    computed again with the shift of :func:`_exact_shift`. Rows holding an infinity or a
    NaN give the infinities and NaN of the formulas, without floating-point warnings.
    """
    totals = np.empty(rows.shape[0], _sum_dtype(rows.dtype, normalising=True))
    buffers = None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for block in row_blocks(*rows.shape, rows.itemsize):
            x = rows[block]
            if buffers is None:
                buffers = np.empty((scratch,) + x.shape, x.dtype)
            args = [arg[block] for arg in row_args]
            totals[block] = kernel(x, out[block], buffers[:, : x.shape[0]], None, *args)
        redo = ~((totals >= 1) & (totals <= bound))  # NaN fails both tests
        if redo.any():
            again, out_again = rows[redo], out[redo]
            limit = np.log(bound) - np.log(rows.shape[1]) - 1
            shift = _exact_shift(np.max(again, axis=1, keepdims=True), limit)
            buffers = np.empty((scratch,) + again.shape, again.dtype)
            kernel(again, out_again, buffers, shift, *[arg[redo] for arg in row_args])
            out[redo] = out_again


def _along_axis(kernel, x, axis, reduce=False):
    """Apply a row kernel (see :func:`_sweep_rows`) along ``axis`` of ``x``.

    The axis is moved last and the array seen as ``(rows, n)``; the result has that shape
    (or ``(rows,)`` when ``reduce``) and is given back in the input's layout and dtype.
    float16 is computed in float32 and rounded once at the end.
    """
    work = x.astype(np.float32) if x.dtype == np.float16 else x
    moved = np.moveaxis(work, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    out = np.empty(rows.shape[:1] if reduce else rows.shape, work.dtype)
    _sweep_rows(kernel, rows, out, _sum_bound(work.dtype))
    result = out.reshape(moved.shape[:-1]) if reduce else np.moveaxis(out.reshape(moved.shape), -1, axis)
    return result.astype(x.dtype, copy=False)


def _max_and_rest(x, e, shift):
    r"""For a block of rows: ``(rows, top_at, row_max, top, rest)``.

    ``e`` is filled with :math:`e^{x - c}` except at each row's (first) maximum ``top_at``,
    where it holds 0; ``top`` is that largest term :math:`t = e^{m - c}`, recomputed in the
    wide dtype, and ``rest`` the sum :math:`s` of all the other terms. Leaving :math:`t`
    out of :math:`s` keeps the digits of :math:`s/t` when it is far below 1.
    """
    rows = np.arange(x.shape[0])
    top_at = np.argmax(x, axis=1)
    row_max = x[rows, top_at]
    _exp(x, shift, e)
    e[rows, top_at] = 0
    wide = _wide(x.dtype)
    top = np.exp(_minus_shift(row_max, shift, wide))
    return rows, top_at, row_max, top, _sum_rows(e).astype(wide)


def _logsumexp_rows(x, out, scratch, shift):
    _, _, row_max, top, rest = _max_and_rest(x, scratch[0], shift)
    out[:] = row_max + _log1p_tail(row_max, top, rest)
    return top + rest


def _softmax_rows(x, out, _, shift):
    total = _sum_rows(_exp(x, shift, out), normalising=True)
    out /= total.astype(x.dtype)[:, np.newaxis]
    return total


def _log_softmax_rows(x, out, _, shift):
    _, _, row_max, top, rest = _max_and_rest(x, out, shift)  # out serves as scratch first
    tail = _log1p_tail(row_max, top, rest)
    # (x - m) - log(1 + s/t): both parts are <= 0, so nothing cancels, and the rounding of
    # x - m is at most half an ulp of the result. Folding m + log(1 + s/t) into one
    # number first would round it to the ulp of m, which can be far larger than the result.
    np.subtract(x, row_max[:, np.newaxis], out=out)
    out -= tail.astype(x.dtype)[:, np.newaxis]
    return top + rest


def logsumexp(x, axis=-1, keepdims=False):
    r"""Log of the sum of exponentials along an axis, without overflow.

    .. math:: \operatorname{LSE}(a) = \log \sum_j e^{a_j} = m + \log \sum_j e^{a_j - m}, \quad m = \max_j a_j

    Parameters
    ----------
    x : array_like
        Real input of any shape with at least one entry along ``axis``.
    axis : int, default -1
        The axis to reduce.
    keepdims : bool, default False
        Keep the reduced axis with length 1.

    Returns
    -------
    numpy.ndarray
        The input's shape without ``axis`` (or with length 1 there), its float dtype.

    Examples
    --------
    >>> float(logsumexp([0.0, 0.0]))  # log 2
    0.6931471805599453
    >>> float(logsumexp([1000.0, 1000.0]))  # 1000 + log 2, where np.exp(1000) is inf
    1000.6931471805599
    """
    x = as_float_array(x, "x")
    axis = check_axis(x, axis, "x")
    keepdims = check_bool(keepdims, "keepdims")
    result = _along_axis(_logsumexp_rows, x, axis, reduce=True)
    return np.expand_dims(result, axis) if keepdims else result


def softmax(x, axis=-1):
    r"""Softmax along an axis.

    .. math:: \operatorname{softmax}(a)_k = \frac{e^{a_k}}{\sum_j e^{a_j}} = \frac{e^{a_k - m}}{\sum_j e^{a_j - m}}

    Parameters
    ----------
    x : array_like
        Logits of any shape with at least one entry along ``axis``.
    axis : int, default -1
        The axis along which the outputs sum to 1.

    Returns
    -------
    numpy.ndarray
        Probabilities with the shape and float dtype of ``x``. Each lies in [0, 1]: in
        exact arithmetic in (0, 1), but in floating point a far smaller logit gives
        exactly 0 and a far larger one exactly 1.

    Examples
    --------
    >>> softmax([1010.0, 1000.0, 990.0]).round(8).tolist()
    [0.9999546, 4.54e-05, 0.0]
    """
    x = as_float_array(x, "x")
    axis = check_axis(x, axis, "x")
    return _along_axis(_softmax_rows, x, axis)


def log_softmax(x, axis=-1):
    r"""Logarithm of the softmax along an axis, computed without taking a log of it.

    .. math:: \log \operatorname{softmax}(a)_k = a_k - \operatorname{LSE}(a) = (a_k - m) - \log \sum_j e^{a_j - m}

    Parameters
    ----------
    x : array_like
        Logits of any shape with at least one entry along ``axis``.
    axis : int, default -1
        The softmax axis.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``x``; finite for finite input, where
        ``np.log(softmax(x))`` gives ``-inf`` as soon as a probability underflows.

    Examples
    --------
    >>> log_softmax([1000.0, 0.0]).tolist()
    [0.0, -1000.0]
    """
    x = as_float_array(x, "x")
    axis = check_axis(x, axis, "x")
    return _along_axis(_log_softmax_rows, x, axis)


def hardmax(x, axis=-1):
    r"""One-hot vector of the (first) largest entry along an axis.

    .. math:: \operatorname{hardmax}(a)_k = \begin{cases} 1 & k = \min \arg\max_j a_j \\ 0 & \text{otherwise} \end{cases}

    It is the limit of :math:`\operatorname{softmax}(a / T)` as the temperature
    :math:`T \to 0^+` when the maximum is unique.

    Parameters
    ----------
    x : array_like
        Real input of any shape with at least one entry along ``axis``.
    axis : int, default -1
        The axis along which to pick the maximum.

    Returns
    -------
    numpy.ndarray
        0s and a single 1 per slice, in the shape and float dtype of ``x``.

    Examples
    --------
    >>> hardmax([1.0, 3.0, 3.0]).tolist()
    [0.0, 1.0, 0.0]
    """
    x = as_float_array(x, "x")
    axis = check_axis(x, axis, "x")
    winners = np.expand_dims(np.argmax(x, axis=axis), axis)
    one_hot = np.zeros_like(x)
    np.put_along_axis(one_hot, winners, 1, axis=axis)
    return one_hot


def softmax_jacobian(x):
    r"""Jacobian of the softmax of a vector.

    .. math:: \frac{\partial y_i}{\partial a_j} = y_i\,(\delta_{ij} - y_j), \qquad
              J = \operatorname{diag}(y) - y\,y^{\top}, \quad y = \operatorname{softmax}(a)

    Parameters
    ----------
    x : array_like
        A 1-D vector of logits of length ``n >= 1``.

    Returns
    -------
    numpy.ndarray
        The symmetric ``(n, n)`` matrix ``J[i, j] = dy_i / da_j``, in the float dtype of
        ``x``. Each row and column sums to 0, because the outputs always sum to 1.

    Notes
    -----
    The diagonal :math:`y_i(1 - y_i)` is computed as :math:`y_i \sum_{j \ne i} y_j`: the
    same number, without the cancellation of :math:`1 - y_i` when :math:`y_i \approx 1`,
    and independent of how closely the rounded :math:`y` sum to 1, so that rows and
    columns sum to 0 up to the rounding of the products alone.
    """
    x = as_float_array(x, "x")
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D vector of logits, got an array of shape {x.shape}")
    probs = softmax(x)
    others = np.sum(np.where(np.eye(probs.size, dtype=bool), 0, probs), axis=1)  # sum over j != i
    jacobian = -np.outer(probs, probs)
    np.fill_diagonal(jacobian, probs * others)
    return jacobian
