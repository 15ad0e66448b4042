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
:math:`a_k - c` exact for every entry whose result is not 0 (see :func:`_exact_shift`):
:math:`c = 0` when the row's exponentials cannot overflow (no subtraction at all),
:math:`c = \lfloor m \rfloor` for a negative maximum, and for a maximum beyond the
overflow limit :math:`c = m` with the rounding error of each difference computed exactly
(Fast2Sum) and put back, :math:`e^{d + r} \approx e^{d}(1 + r)`.

Why ``log1p``. With :math:`t = e^{m - c}` the largest term and :math:`s` the sum of the
others, :math:`\operatorname{LSE}(a) = m + \log(1 + s/t)`. For a confident row such as
``[89, 0, -89]``, :math:`s/t \approx 4.5 \times 10^{-39}` and :math:`1 + s/t` rounds to 1:
``log`` then returns 0 and the log-probability of the largest entry comes out as exactly
0 instead of :math:`-4.5 \times 10^{-39}` (a 100% error). ``log1p(s/t)`` keeps it, because
:math:`s` is summed *without* the largest term.

Speed. Each function runs block by block over whole rows (``nnmath._blocks``), so its
temporaries stay in the cache; per-row quantities (sums, logarithms) are computed in
float64 (or wider) for every input dtype, and float16 input is computed in float32.

References
----------
.. [1] J. S. Bridle, "Probabilistic interpretation of feedforward classification network
   outputs, with relationships to statistical pattern recognition", in *Neurocomputing*,
   Springer, 1990.
"""

import numpy as np

from ._blocks import row_blocks
from ._checks import as_float_array, check_axis


def _sum_dtype(dtype):
    """Sums along a row accumulate in float64 (or longdouble for longdouble input)."""
    return np.result_type(dtype, np.float64)


def _wide(dtype):
    """The dtype of per-row arithmetic (the largest term, logarithms, reciprocals).

    There is one value per row, so extra precision costs nothing: float64 for float32
    input, long double (64-bit significand on x86) for float64 and longdouble input.
    """
    return np.result_type(dtype, np.float64) if np.dtype(dtype).itemsize < 8 else np.dtype(np.longdouble)


def _exact_shift(row_max, n):
    r"""Per-row shift :math:`c` that makes :math:`x - c` exact where it matters.

    ``row_max`` is the row maximum :math:`m`, shape ``(rows, 1)``; ``n`` the row length.
    Returns ``(shift, big)``, ``big`` marking the rows shifted by their maximum.

    * :math:`0 \le m \le` ``limit``: :math:`c = 0`. No subtraction, so nothing to round;
      ``limit`` (about :math:`707 - \log n` in float64) keeps the sum of the :math:`n`
      exponentials finite and its reciprocal normal, and the sum is at least 1, so
      terms that underflow only meet numbers :math:`\ge 1`.
    * :math:`m < 0`: :math:`c = \lfloor m \rfloor`, an integer. For :math:`x \le c`,
      :math:`x - c` is a multiple of the ulp of :math:`x` no larger than :math:`|x|`, hence
      exact; for :math:`c < x \le m` the two are within a factor 2 (Sterbenz), except for
      :math:`c = -1`, :math:`|x| < 1/2`, where the error is below :math:`2^{-54}`.
    * :math:`m >` ``limit``: :math:`c = m`, and :func:`_shifted_exp` corrects the rounding.
    * :math:`m` infinite or NaN: :math:`c = 0`, so no ``inf - inf`` arises in the shift.
    """
    limit = -np.log(np.finfo(row_max.dtype).tiny) - np.log(n) - 1
    with np.errstate(invalid="ignore"):  # comparisons and floor of NaN rows
        big = row_max > limit
        shift = np.where(big, row_max, np.minimum(np.floor(row_max), 0))
    return np.where(np.isfinite(row_max), shift, 0), big


def _shifted_exp(x, shift, big, out):
    """``out = exp(x - shift)`` for a block of rows, with the shift made exact (see above)."""
    if not shift.any():  # every row has 0 <= max <= limit: exp(x) itself
        return np.exp(x, out=out)
    with np.errstate(over="ignore"):  # far below the max, x - m may be -inf: exp(-inf) = 0 is right
        np.subtract(x, shift, out=out)
    if not big.any():
        return np.exp(out, out=out)
    # Rows shifted by their maximum m > 350: every entry x with exp(x - m) > 0 has
    # |x| <= m, so Fast2Sum gives the rounding error of d = x - m exactly,
    # r = x - (d + m), and exp(x - m) = exp(d + r) = exp(d) * (1 + r) to within r**2.
    # In the other rows of the block r is 0 wherever exp(d) is not; the clip only tames
    # entries so far below the max that exp(d) = 0 (where d = -inf gives r = inf).
    with np.errstate(over="ignore", invalid="ignore"):
        error = np.subtract(x, np.add(out, shift))
    np.clip(error, -1, 1, out=error)
    np.exp(out, out=out)
    out *= np.add(error, 1, out=error)
    return out


def _exp_top_and_rest(x, e):
    """The pieces of the log-sum-exp of each row of the block ``x``.

    Fills ``e`` with :math:`e^{x - c}` and returns ``(index, row_max, top, rest)``, each of
    shape ``(rows, 1)``: the position and value of each row's (first) maximum, the largest
    term :math:`t = e^{m - c}` (recomputed in the wide dtype) and the sum :math:`s` of all
    the other terms (accumulated in float64). ``e`` holds 0 at ``index`` on return: the largest term is left out of
    :math:`s` so that :math:`s/t` keeps its digits even when it is far below 1.
    """
    index = np.argmax(x, axis=1)[:, np.newaxis]
    row_max = np.take_along_axis(x, index, axis=1)
    shift, big = _exact_shift(row_max, x.shape[1])
    _shifted_exp(x, shift, big, out=e)
    with np.errstate(invalid="ignore"):  # rows with an infinite max
        top = np.exp(row_max.astype(_wide(x.dtype)) - shift)
    np.put_along_axis(e, index, 0, axis=1)
    rest = np.sum(e, axis=1, keepdims=True, dtype=_sum_dtype(x.dtype)).astype(top.dtype)
    return index, row_max, top, rest


def _log1p_tail(row_max, top, rest):
    r""":math:`\log \sum_j e^{a_j - m} = \log(1 + s/t)`, 0 for rows whose max is not finite."""
    with np.errstate(invalid="ignore", divide="ignore"):
        tail = np.log1p(rest / top)
    return np.where(np.isfinite(row_max), tail, 0)


def _by_rows(kernel, x, axis, reduce=False):
    """Apply ``kernel(x_block, out_block, scratch_block)`` to blocks of rows along ``axis``.

    The axis is moved last and the array seen as ``(rows, n)``; ``out`` has that shape (or
    ``(rows,)`` when ``reduce``) and is given back in the input's layout and dtype. float16
    is computed in float32 and rounded once at the end.
    """
    work = x.astype(np.float32) if x.dtype == np.float16 else x
    moved = np.moveaxis(work, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    out = np.empty(rows.shape[:1] if reduce else rows.shape, work.dtype)
    scratch = None
    for block in row_blocks(*rows.shape):
        x_block = rows[block]
        if scratch is None:
            scratch = np.empty(x_block.shape, work.dtype)
        kernel(x_block, out[block], scratch[: x_block.shape[0]])
    result = out.reshape(moved.shape[:-1]) if reduce else np.moveaxis(out.reshape(moved.shape), -1, axis)
    return result.astype(x.dtype, copy=False)


def _logsumexp_rows(x, out, e):
    _, row_max, top, rest = _exp_top_and_rest(x, e)
    out[:] = (row_max + _log1p_tail(row_max, top, rest))[:, 0]


def _softmax_rows(x, out, _):
    row_max = np.max(x, axis=1, keepdims=True)
    shift, big = _exact_shift(row_max, x.shape[1])
    _shifted_exp(x, shift, big, out=out)
    total = np.sum(out, axis=1, keepdims=True, dtype=_sum_dtype(x.dtype))
    with np.errstate(invalid="ignore", divide="ignore"):  # rows with an infinite or NaN entry
        np.divide(out, total.astype(x.dtype), out=out)


def _log_softmax_rows(x, out, e):
    _, row_max, top, rest = _exp_top_and_rest(x, e)
    # (x - m) - log(1 + s/t): both parts are <= 0, so nothing cancels, and the rounding of
    # x - m is at most half an ulp of the result. Folding m + log(1 + s/t) into one
    # number first would round it to the ulp of m, which can be far larger than the result.
    with np.errstate(invalid="ignore"):  # rows with an infinite max
        np.subtract(x, row_max, out=out)
    out -= _log1p_tail(row_max, top, rest).astype(x.dtype)


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
    result = _by_rows(_logsumexp_rows, x, axis, reduce=True)
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
    return _by_rows(_softmax_rows, x, axis)


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
    return _by_rows(_log_softmax_rows, x, axis)


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
