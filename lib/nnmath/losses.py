r"""Loss functions and their gradients.

Shapes. The last axis holds the ``n`` classes (or outputs); every leading axis is a batch
axis. A loss is the **mean over the batch** of the per-example loss, so a ``(N, n)`` input
averages ``N`` rows and a single ``(n,)`` vector is a batch of one. Each ``_grad`` returns
the derivative of that mean, so it carries the factor ``1/N``.
``binary_cross_entropy_with_logits`` is the exception: every element is its own example.

Arguments. Every loss takes ``(scores, targets)``, as every framework loss takes
``(input, target)``: ``scores`` is what the network produced and the loss judges (logits
for the losses named ``..._with_logits`` or ``softmax_...``, probabilities for
``cross_entropy``, values for ``mse``); ``targets`` are either integer class indices of
shape ``scores.shape[:-1]``, or a distribution (for ``mse``: any values) of the shape of
``scores``. Gradients are with respect to ``scores``, and exact for soft targets too,
including targets that do not sum to 1.

Nothing here takes ``log(p + eps)``: cross-entropy on logits is computed from the logits
with the machinery of :mod:`nnmath.softmax` (exact shifts, the largest or the labelled term
kept apart from the rest, ``log1p``), so it is finite for every finite logit and accurate to
a few ulp, also for confident rows whose loss is far below the rounding error of 1.
Losses and gradients run block by block (``nnmath._engine``): a loss allocates no array of
the input's size, a gradient only the one it returns.

References
----------
.. [1] I. Goodfellow, Y. Bengio, A. Courville, *Deep Learning*, MIT Press, 2016, §6.2.
.. [2] K. Saitoh, *Deep Learning from Scratch*, O'Reilly Japan, 2016, §4.2 and appendix A.
"""

import functools

import numpy as np

from ._checks import as_float_array, reject_masked
from ._engine import (
    elementwise,
    elementwise_sum,
    log1p_tail,
    max_and_rest,
    minus_shift,
    row_formulas_errstate,
    shifted_exp,
    sum_bound,
    sum_rows,
    sweep_rows,
    wide_dtype,
)


class _Labels:
    """Checked labels: class ``indices`` (batch shape) or a ``distribution`` (full shape)."""

    def __init__(self, indices=None, distribution=None, exponent=0):
        self.indices = indices
        self.distribution = distribution
        # Huge soft labels are held as distribution * 2**-exponent; see _check_labels.
        self.exponent = exponent

    def take(self, values):
        """``values[..., label]`` for index labels (batch shape)."""
        return np.take_along_axis(values, self.indices[..., np.newaxis], axis=-1)[..., 0]

    def one_hot_like(self, values):
        """The labels as an array of ``values``' shape and dtype."""
        if self.distribution is not None:
            return self.distribution
        one_hot = np.zeros_like(values)
        np.put_along_axis(one_hot, self.indices[..., np.newaxis], 1, axis=-1)
        return one_hot


def _check_scores(values, name):
    """A float array with a non-empty last axis and at least one row."""
    values = as_float_array(values, name)
    if values.ndim == 0:
        raise ValueError(f"{name} must have a class axis (at least 1-D), got a scalar")
    if values.shape[-1] == 0 or values.size == 0:
        raise ValueError(f"{name} must hold at least one row with at least one class, got shape {values.shape}")
    return values


def _all_finite(values, non_negative=False):
    """True when every entry is finite (and >= 0). Two reductions instead of boolean arrays:
    NaN propagates through min and max and fails every comparison."""
    low, high = values.min(), values.max()
    return bool(np.isfinite(low) and np.isfinite(high) and (low >= 0 or not non_negative))


def _first_index(mask):
    """The first True position of ``mask`` as an int (1-D) or a tuple."""
    position = tuple(int(i) for i in np.argwhere(mask)[0])
    return position[0] if len(position) == 1 else position


def _check_labels(labels, values, name, *, label_name="targets", non_negative=True, dtype=None, scale_huge=False):
    """Validate ``labels`` (called ``label_name``) against the scores ``values``, shape ``(..., n)``.

    A distribution is validated in its own dtype and returned in ``dtype``, by default the
    dtype of ``values``. With ``scale_huge``, a distribution whose row sums exceed
    :data:`_HUGE_LABEL_SUM` (or do not fit ``dtype``) is returned scaled by a power of 2,
    :math:`2^{-s}`, so that every row sums to at most 1 and nothing the loss or its gradient
    forms from it can overflow; ``exponent`` is :math:`s`, by which the caller scales the
    results back (exactly, with ``np.ldexp``).
    """
    batch_shape, n = values.shape[:-1], values.shape[-1]
    reject_masked(labels, label_name)
    try:
        array = np.asarray(labels)
    except ValueError as error:  # ragged nested lists
        raise TypeError(f"{label_name} must be an array of numbers, got a ragged sequence") from error
    if array.dtype.kind in "iu" and array.shape == batch_shape:
        out_of_range = (array < 0) | (array >= n)
        if out_of_range.any():
            where = _first_index(out_of_range) if array.ndim else None
            bad = array[where] if array.ndim else array
            at = f" at index {where}" if array.ndim else ""
            raise ValueError(f"{label_name} must be integers in [0, {n}), got {int(bad)}{at}")
        return _Labels(indices=array.astype(np.intp, copy=False))
    if array.shape == values.shape:
        dtype = values.dtype if dtype is None else dtype
        distribution = as_float_array(array, label_name)  # validated as given, before any rounding
        if not _all_finite(distribution, non_negative):
            invalid = ~np.isfinite(distribution)
            if non_negative:
                invalid |= distribution < 0
            where = _first_index(invalid) if distribution.ndim else ()
            kind = "non-negative and finite" if non_negative else "finite"
            raise ValueError(f"{label_name} must be {kind}, got {float(distribution[where])} at index {where}")
        exponent = 0
        if scale_huge:
            wide = np.result_type(distribution.dtype, np.float64)
            with np.errstate(over="ignore"):
                largest_sum = np.max(np.sum(distribution, axis=-1, dtype=wide))
            if not largest_sum <= min(_HUGE_LABEL_SUM, float(np.finfo(dtype).max)):
                if np.isfinite(largest_sum):
                    exponent = int(np.frexp(largest_sum)[1])
                else:  # beyond even float64: bound each row's sum by n times its largest entry
                    exponent = int(np.frexp(np.max(distribution))[1]) + int(n).bit_length()
                distribution = np.ldexp(distribution, -exponent)
        return _Labels(distribution=distribution.astype(dtype, copy=False), exponent=exponent)
    if array.shape == batch_shape:
        raise TypeError(
            f"{label_name} of shape {batch_shape} are class indices and must be integers, got dtype {array.dtype}"
        )
    raise ValueError(
        f"{label_name} must have shape {batch_shape} (class indices) or {values.shape} (a distribution) "
        f"to match {name} of shape {values.shape}, got shape {array.shape}"
    )


#: Soft labels whose row sums exceed this are scaled down for the computation (2**64).
_HUGE_LABEL_SUM = 2.0**64


def _batch_size(values):
    return values.size // values.shape[-1]


def mse(scores, targets):
    r"""Mean squared error, averaged over the batch.

    .. math:: E = \frac{1}{N}\sum_{\text{rows}} \frac12 \sum_k (y_k - t_k)^2

    Parameters
    ----------
    scores : array_like, shape (..., n)
        Predictions :math:`y`.
    targets : array_like
        Targets :math:`t` of shape ``(..., n)`` (any finite reals), or integer class indices of
        shape ``(...)``, which stand for one-hot targets.

    Returns
    -------
    numpy.floating
        The loss, in the float dtype of ``y``: finite whenever the true loss is
        representable in that dtype, ``inf`` (without a warning) when it is not.

    Notes
    -----
    The squares overflow long before the loss does: in float16 any error above 256
    (:math:`256^2 > 65504`), in float64 an error above :math:`1.3 \times 10^{154}`,
    although :math:`\tfrac12 e^2` and the mean may still fit. float16 is computed in
    float64, where nothing overflows, and rounded once at the end. float32 and float64
    are computed in their own dtype; only if NumPy reports an overflow is the loss
    computed again: float32 in float64, float64 (and longdouble) with every entry scaled
    by a power of 2, :math:`E = 2^{2s} E(2^{-s}y, 2^{-s}t)`, exact up to the entries so
    small next to the largest one that their squares do not count.

    Examples
    --------
    >>> round(float(mse([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0], 2)), 10)
    0.0975
    """
    y = _check_scores(scores, "scores")
    work = _mse_dtype(y.dtype)
    t = _check_labels(targets, y, "scores", non_negative=False, dtype=work).one_hot_like(y)
    loss = _mean_half_square(y, t, work)
    with np.errstate(over="ignore"):  # a loss beyond the range of y's dtype is inf
        return y.dtype.type(loss)


def _mse_dtype(dtype):
    """The dtype ``mse`` computes in: float64 for float16 (whose squares overflow beyond 256)."""
    return np.dtype(np.float64) if dtype == np.float16 else dtype


def _mean_half_square(y, t, work):
    """The mean over rows of ``0.5 * sum_k (y_k - t_k)**2``, in ``work``, finite whenever it fits."""
    with np.errstate(over="ignore"):
        difference = np.subtract(y, t, dtype=work)
        loss = np.mean(0.5 * np.sum(difference * difference, axis=-1))
    # An infinite loss from finite input means a difference, a square or a sum overflowed.
    if np.isfinite(loss) or not np.isfinite(np.max(np.abs(y))):  # y itself infinite or NaN: the formula's value
        return loss
    # float32 fits in float64 with room to spare.
    wide = np.result_type(work, np.float64)
    if wide != work:
        difference = np.subtract(y, t, dtype=wide)
        return np.mean(0.5 * np.sum(difference * difference, axis=-1))
    # float64 and longdouble: scale every entry by 2**-s, with 2**s above the largest of
    # them, so that the differences lie below 2 and nothing overflows. Scaling by a power of
    # 2 is exact except for entries below 2**-1022 times the largest: their squares do not count.
    with np.errstate(over="ignore", invalid="ignore"):
        largest = max(np.max(np.abs(y)), np.max(np.abs(t)))  # finite: see above
        exponent = int(np.frexp(largest)[1])
        difference = np.subtract(np.ldexp(y, -exponent), np.ldexp(t, -exponent), dtype=work)
        scaled = np.mean(0.5 * np.sum(difference * difference, axis=-1))
        return np.ldexp(scaled, 2 * exponent)  # inf when the loss itself does not fit


def mse_grad(scores, targets):
    r"""Gradient of :func:`mse` with respect to ``y``.

    .. math:: \frac{\partial E}{\partial y_k} = \frac{y_k - t_k}{N}

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``y``; each entry finite whenever its true value is
        representable in that dtype (``inf``, without a warning, when it is not).

    Notes
    -----
    :math:`y_k - t_k` can overflow where :math:`(y_k - t_k)/N` fits. float16 is computed
    in float64 and rounded once. float32 and float64 are computed as written, and an
    entry whose difference overflowed (NumPy reports it; an array without one pays for no
    test) is computed again: in float64 for float32, as :math:`(y_k/2 - t_k/2)/(N/2)`, the
    same correctly rounded quotient, for float64. Every other entry is the plain
    :math:`(y_k - t_k)/N`, whatever its neighbours.
    """
    y = _check_scores(scores, "scores")
    work = _mse_dtype(y.dtype)
    t = _check_labels(targets, y, "scores", non_negative=False, dtype=work).one_hot_like(y)
    batch = _batch_size(y)
    if work != y.dtype:
        with np.errstate(over="ignore"):  # an entry beyond float16's range is inf
            return (np.subtract(y, t, dtype=work) / batch).astype(y.dtype)
    with np.errstate(over="ignore"):  # an entry whose true value does not fit is inf
        grad = (y - t) / batch
        if np.isfinite(np.max(np.abs(grad))) or not np.isfinite(np.max(np.abs(y))):
            return grad  # nothing overflowed (or y itself holds the infinity)
        overflowed = np.isinf(grad) & np.isfinite(y)  # the targets are finite
        y_over, t_over = y[overflowed], t[overflowed]
        wide = np.result_type(y.dtype, np.float64)
        if wide != y.dtype:
            grad[overflowed] = (y_over.astype(wide) - t_over) / batch
        else:
            grad[overflowed] = (y_over * 0.5 - t_over * 0.5) / (batch * 0.5)
    return grad


def _check_probs(probs):
    probs = _check_scores(probs, "scores")
    outside = ~((probs >= 0) & (probs <= 1))  # also catches nan
    if outside.any():
        where = _first_index(outside)
        raise ValueError(f"scores must be probabilities in [0, 1], got {float(probs[where])} at index {where}")
    return probs


def _t_log_y(t, y):
    r""":math:`t \log y` elementwise, 0 where :math:`t = 0` (even where :math:`y = 0`): the
    convention :math:`0 \log 0 = 0` of the entropy, in any float dtype (long double too)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0 = -inf; 0 * -inf is set to 0 below
        terms = t * np.log(y)
    terms[t == 0] = 0
    return terms


def cross_entropy(scores, targets):
    r"""Cross-entropy of predicted probabilities, averaged over the batch.

    .. math:: E = -\frac{1}{N}\sum_{\text{rows}} \sum_k t_k \log y_k

    with the convention :math:`0 \log 0 = 0`. For a one-hot (or index) label only the
    true class's term survives: :math:`E = -\log y_{\text{true}}`.

    Parameters
    ----------
    scores : array_like, shape (..., n)
        Probabilities :math:`y` in [0, 1].
    targets : array_like
        Class indices of shape ``(...)`` or a distribution of shape ``(..., n)``.

    Returns
    -------
    numpy.floating
        The loss in the float dtype of ``scores``; ``inf`` when a true class has
        probability exactly 0 (the honest value: no ``eps`` is added).

    Examples
    --------
    >>> round(float(cross_entropy([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0], 2)), 6)
    0.510826
    """
    probs = _check_probs(scores)
    labels = _check_labels(targets, probs, "scores")
    with np.errstate(divide="ignore"):  # log 0 = -inf is the right answer there
        if labels.indices is not None:
            per_row = -np.log(labels.take(probs))
        else:
            per_row = -np.sum(_t_log_y(labels.distribution, probs), axis=-1)
    return probs.dtype.type(np.mean(per_row))


def cross_entropy_grad(scores, targets):
    r"""Gradient of :func:`cross_entropy` with respect to ``scores``.

    .. math:: \frac{\partial E}{\partial y_k} = -\frac{t_k}{N\,y_k}

    It is 0 wherever :math:`t_k = 0` (even if :math:`y_k = 0`) and :math:`-\infty` where
    :math:`t_k > 0 = y_k`.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``scores``.
    """
    probs = _check_probs(scores)
    labels = _check_labels(targets, probs, "scores")
    targets = labels.one_hot_like(probs)
    grad = np.zeros_like(probs)
    # A probability of -0.0 is the probability 0: adding +0.0 makes it +0.0, so that the
    # gradient there is -inf, not +inf. Quotients beyond the dtype's range are -inf, silently.
    with np.errstate(divide="ignore", over="ignore"):
        np.divide(targets * (-1 / _batch_size(probs)), probs + 0.0, out=grad, where=targets != 0)
    return grad


def softmax_cross_entropy(scores, targets):
    r"""Cross-entropy of ``softmax(scores)``, computed from the logits ``scores``.

    .. math:: E = -\frac{1}{N}\sum_{\text{rows}} \sum_k t_k \log\operatorname{softmax}(a)_k
              = \frac{1}{N}\sum_{\text{rows}} \Bigl(\bigl(\textstyle\sum_k t_k\bigr)\operatorname{LSE}(a) - \sum_k t_k a_k\Bigr)

    Parameters
    ----------
    scores : array_like, shape (..., n)
        Logits :math:`a`: unnormalised scores.
    targets : array_like
        Class indices of shape ``(...)`` or a distribution of shape ``(..., n)``.

    Returns
    -------
    numpy.floating
        The loss, finite for every finite input, in the float dtype of ``scores``.

    Notes
    -----
    For a class index :math:`t`, the row's loss is
    :math:`-\log \operatorname{softmax}(a)_t = \log(1 + s_t / e_t)`, with :math:`e_t` the
    label's term and :math:`s_t` the sum of the others, summed apart from it. ``log1p``
    keeps :math:`s_t/e_t` for a confident row, such as ``[89, 0, -89]`` with label 0, whose
    loss :math:`2.2 \times 10^{-39}` the textbook :math:`\operatorname{LSE}(a) - a_t`
    rounds to 0. For soft labels the row's loss is the sum of terms :math:`\ge 0`,
    :math:`\sum_k t_k (m - a_k) + (\sum_k t_k) \log(1 + s/t)` (:math:`m` the row's maximum,
    :math:`t` its term and :math:`s` the others'), so nothing cancels.

    Examples
    --------
    >>> float(softmax_cross_entropy([[1000.0, 0.0]], [1]))
    1000.0
    """
    logits = _check_scores(scores, "scores")
    labels = _check_labels(targets, logits, "scores", scale_huge=True)
    rows, targets = _as_rows(logits, labels)
    if targets.ndim == 1:
        per_row = _index_label_losses(rows, targets)
    else:
        per_row = np.empty(rows.shape[0], wide_dtype(rows.dtype))
        sweep_rows(_cross_entropy_rows, rows, per_row, sum_bound(rows.dtype), targets)
    return _loss_in_dtype(per_row, labels.exponent, logits.dtype)


def _index_label_losses(rows, targets):
    """Each row's loss for the class indices ``targets``."""
    parts = _IndexParts(rows)
    kernel = functools.partial(_index_label_rows, parts=parts, normalising=False)
    unused = np.empty(rows.shape[0])  # the kernel writes through parts, and its exponentials to scratch
    sweep_rows(kernel, rows, unused, sum_bound(rows.dtype), targets, parts.row_index)
    return parts.losses()


def _index_label_loss(gap, picked, rest):
    """Each row's ``-log softmax(a)_t`` from ``gap = a_t - c``, ``picked = e^gap`` and the sum
    ``rest`` of the other terms.

    ``log(1 + rest / picked)``: no cancellation, and for a confident row it keeps
    ``rest / picked`` where ``log(sum) - a_t`` gives ``log(1) = 0``. It needs ``picked`` to be
    a normal number: ``a_t - c >= 0``, or ``picked`` the larger part of the sum. Otherwise (a
    label whose logit is far below the rest) ``log(sum) - (a_t - c)``: two terms >= 0, as the
    sum is >= 1.
    """
    use_log1p = (gap >= 0) | (picked >= rest)
    return np.where(use_log1p, np.log1p(rest / picked), np.log(picked + rest) - gap)


class _IndexParts:
    r"""What the index-label kernel keeps of each row: :math:`a_t - c` and the sum of the other terms.

    Rows are written by their index (``row_index``), so that the rows :func:`sweep_rows`
    runs again with a shift overwrite their first values. Everything that needs only these
    two numbers per row (the loss, the label's gradient entry) is then computed once for
    the whole batch, not block by block: a dozen small NumPy calls per block are what a
    block costs beyond its passes over memory.
    """

    def __init__(self, rows):
        wide = wide_dtype(rows.dtype)
        self.gap = np.empty(rows.shape[0], wide)  # a_t - c
        self.rest = np.empty(rows.shape[0], wide)  # the sum of the terms other than the label's
        self.row_index = np.arange(rows.shape[0])

    def losses(self):
        """Each row's ``-log softmax(a)_t``."""
        with row_formulas_errstate():  # as inside the kernels
            return _index_label_loss(self.gap, np.exp(self.gap), self.rest)

    def label_grads(self, batch):
        r"""Each row's gradient at its label, :math:`(y_t - 1)/N = -s_t / (N S)`."""
        # y_t - 1 = -(S - e_t)/S cancels when y_t is close to 1; S - e_t is the sum of the
        # other terms, which was kept apart: no cancellation at all.
        with row_formulas_errstate():
            return -(self.rest / (batch * (np.exp(self.gap) + self.rest)))


def _index_label_rows(x, out, scratch, shift, t, row_index, parts, normalising, batch=None):
    r"""Index labels: the rows' :math:`a_t - c` and other terms' sum into ``parts``; returns :math:`S`.

    The exponentials :math:`e^{a - c}`, with 0 at each row's label, are written to ``out``
    when ``batch`` is given, then scaled to the gradient :math:`y_k / N` off the label
    (its entry stays 0 for :meth:`_IndexParts.label_grads`); otherwise to a scratch buffer.
    """
    e = out if batch is not None else scratch[0]
    rows = np.arange(x.shape[0])
    shifted_exp(x, shift, e)
    e[rows, t] = 0
    wide = parts.gap.dtype
    rest = sum_rows(e, normalising).astype(wide, copy=False)
    gap = minus_shift(x[rows, t], shift, wide)
    parts.gap[row_index], parts.rest[row_index] = gap, rest
    total = np.exp(gap) + rest  # S
    if batch is not None:
        e *= (1 / (batch * total)).astype(x.dtype)[:, np.newaxis]  # y_k / N
    return total


def _cross_entropy_rows(x, loss, scratch, shift, t):
    """``loss[i]`` = the cross-entropy of row ``x[i]`` with the distribution ``t[i]``."""
    e = scratch[0]
    _, _, row_max, top, rest = max_and_rest(x, e, shift)
    lse_minus_max = log1p_tail(row_max, top, rest)  # LSE - m = log(1 + s/t) >= 0
    # sum_k t_k (LSE - a_k) = sum_k t_k (m - a_k) + (sum_k t_k) log(1 + s/t): terms >= 0.
    gaps = np.multiply(np.subtract(row_max[:, np.newaxis], x, out=e), t, out=e)
    loss[:] = sum_rows(gaps) + sum_rows(t) * lse_minus_max
    return top + rest


def softmax_cross_entropy_grad(scores, targets):
    r"""Gradient of :func:`softmax_cross_entropy` with respect to ``scores``.

    .. math:: \frac{\partial E}{\partial a_k} = \frac{1}{N}\Bigl(y_k \sum_j t_j - t_k\Bigr),
              \qquad y = \operatorname{softmax}(a)

    which is the famous :math:`(y_k - t_k)/N` whenever the labels sum to 1 (one-hot,
    index or soft labels).

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``scores``.

    Notes
    -----
    :math:`y_t - 1` cancels when :math:`y_t` is close to 1 (a confident, correct row): the
    textbook ``softmax(a) - one_hot`` returns 0 there. Written as
    :math:`-(S - e_t)/S = -s_t / S`, with :math:`s_t` the sum of the terms other than the
    label's, summed apart from it, it keeps all its digits. Soft labels use the same idea:
    :math:`y_k T - t_k = \bigl(e_k (T - t_k) - t_k (S - e_k)\bigr)/S`, :math:`T = \sum_j t_j`.
    """
    logits = _check_scores(scores, "scores")
    labels = _check_labels(targets, logits, "scores", scale_huge=True)
    rows, targets = _as_rows(logits, labels)
    grad = np.empty(rows.shape, rows.dtype)
    batch = rows.shape[0]
    if targets.ndim == 2:
        kernel = functools.partial(_cross_entropy_grad_rows, batch=batch)
        sweep_rows(kernel, rows, grad, sum_bound(rows.dtype, batch), targets, scratch=2)
    else:
        _index_label_loss_and_grad(rows, targets, grad)
    return _grad_in_dtype(grad, labels.exponent, logits)


def _index_label_loss_and_grad(rows, targets, grad):
    """Fill ``grad`` for class indices ``targets``; returns the parts from which the loss follows."""
    batch = rows.shape[0]
    parts = _IndexParts(rows)
    kernel = functools.partial(_index_label_rows, parts=parts, normalising=True, batch=batch)
    sweep_rows(kernel, rows, grad, sum_bound(rows.dtype, batch), targets, parts.row_index, scratch=0)
    grad[parts.row_index, targets] = parts.label_grads(batch)
    return parts


def _cross_entropy_grad_rows(x, grad, scratch, shift, t, batch):
    """``grad`` = the gradient for the rows ``x`` with the distributions ``t``."""
    # Soft labels: y_k T - t_k = (e_k (T - t_k) - t_k (S - e_k)) / S, with T = sum_k t_k. The
    # other terms S - e_k are S minus e_k (no cancellation, e_k <= S/2) except at the row's
    # max, where they are the separately summed rest.
    e, others = scratch
    rows, top_at, _, top, rest = max_and_rest(x, e, shift)
    e[rows, top_at] = top
    total = top + rest
    np.subtract(total.astype(x.dtype)[:, np.newaxis], e, out=others)
    others[rows, top_at] = rest
    label_sums = sum_rows(t)[:, np.newaxis]
    np.multiply(others, t, out=others)
    np.multiply(e, np.subtract(label_sums, t, out=grad), out=e)
    np.subtract(e, others, out=e)
    np.multiply(e, (1 / (batch * total)).astype(x.dtype)[:, np.newaxis], out=grad)
    return total


def softmax_cross_entropy_with_grad(scores, targets):
    r"""The loss of :func:`softmax_cross_entropy` and its gradient, in one pass over the logits.

    .. math:: E = -\frac{1}{N}\sum_{\text{rows}} \sum_k t_k \log y_k, \qquad
              \frac{\partial E}{\partial a_k} = \frac{1}{N}\Bigl(y_k \sum_j t_j - t_k\Bigr),
              \qquad y = \operatorname{softmax}(a)

    A training step needs both; computing them together takes one exponential per logit
    instead of two, the fused Softmax-with-Loss of the book's chapter 7.

    Parameters
    ----------
    scores : array_like, shape (..., n)
        Logits :math:`a`: unnormalised scores.
    targets : array_like
        Class indices of shape ``(...)`` or a distribution of shape ``(..., n)``.

    Returns
    -------
    loss : numpy.floating
        The mean loss, in the float dtype of ``scores``, within the accuracy bounds of
        :func:`softmax_cross_entropy` (float32 rows are summed in float64 here, so the two
        may differ in the last bits).
    grad : numpy.ndarray
        The gradient, equal to :func:`softmax_cross_entropy_grad`, with the shape and float
        dtype of ``scores``.

    Examples
    --------
    >>> loss, grad = softmax_cross_entropy_with_grad([[0.0, 0.0]], [1])
    >>> round(float(loss), 6), grad.tolist()
    (0.693147, [[0.5, -0.5]])
    """
    logits = _check_scores(scores, "scores")
    labels = _check_labels(targets, logits, "scores", scale_huge=True)
    rows, targets = _as_rows(logits, labels)
    grad = np.empty(rows.shape, rows.dtype)
    if targets.ndim == 1:
        per_row = _index_label_loss_and_grad(rows, targets, grad).losses()
    else:
        per_row = np.empty(rows.shape[0], wide_dtype(rows.dtype))
        batch = rows.shape[0]
        kernel = functools.partial(_soft_label_loss_and_grad_rows, batch=batch, per_row=per_row)
        sweep_rows(kernel, rows, grad, sum_bound(rows.dtype, batch), targets, np.arange(batch), scratch=2)
    return _loss_in_dtype(per_row, labels.exponent, logits.dtype), _grad_in_dtype(grad, labels.exponent, logits)


def _soft_label_loss_and_grad_rows(x, grad, scratch, shift, t, row_index, batch, per_row):
    """The gradient of rows ``x`` into ``grad`` and their losses into ``per_row[row_index]``."""
    e = scratch[0]
    total = _cross_entropy_grad_rows(x, grad, scratch, shift, t, batch)
    # The loss from the same exponentials would need the row maxima's terms apart; the soft
    # label case is rare in training loops, so it reuses the loss kernel (a second exp).
    loss = np.empty(x.shape[0], per_row.dtype)
    _cross_entropy_rows(x, loss, [e], shift, t)
    per_row[row_index] = loss
    return total


def _loss_in_dtype(per_row, exponent, dtype):
    """The mean of the rows' losses (computed for labels scaled by 2**-exponent) in ``dtype``;
    a loss beyond the dtype's range is the infinity it rounds to, without a warning."""
    with np.errstate(over="ignore"):
        return dtype.type(np.ldexp(np.mean(per_row), exponent))


def _grad_in_dtype(grad, exponent, logits):
    """The rows' gradient in the shape and dtype of ``logits``, scaled back by 2**exponent."""
    with np.errstate(over="ignore"):
        if exponent:
            grad = np.ldexp(grad, exponent)
        return grad.reshape(logits.shape).astype(logits.dtype, copy=False)


def _as_rows(logits, labels):
    """``(rows, targets)``: the logits as ``(N, n)`` (float16 as float32) and the labels as
    ``(N,)`` class indices or an ``(N, n)`` distribution of the same dtype."""
    work = logits.astype(np.float32) if logits.dtype == np.float16 else logits
    rows = work.reshape(-1, work.shape[-1])
    if labels.indices is not None:
        return rows, labels.indices.reshape(-1)
    return rows, labels.distribution.astype(work.dtype, copy=False).reshape(rows.shape)


def _check_binary(logits, targets):
    """``(logits, targets, dtype, range_test)``: both as arrays of the dtype to compute in
    (float16 as float32), the dtype to return, and the test of the targets' range.

    Shapes and types are checked here. The range [0, 1] is tested on the targets as given
    (``1 + 1e-10`` must fail before it could round to 1): here, when they must be converted;
    otherwise by the kernels, block by block while each block is in the cache, which saves
    reading the whole array once more (0.4 to 0.5 times one ``np.exp``). Either way the
    ``ValueError`` comes before any result is returned (:meth:`_RangeTest.report`).
    """
    logits = as_float_array(logits, "scores")
    if logits.size == 0:
        raise ValueError(f"scores must hold at least one element, got shape {logits.shape}")
    targets = as_float_array(targets, "targets")
    if targets.shape != logits.shape:
        raise ValueError(f"targets must have the shape of scores {logits.shape}, got shape {targets.shape}")
    work = np.float32 if logits.dtype == np.float16 else logits.dtype
    range_test = _RangeTest(targets)
    if targets.dtype != work:
        range_test.test(targets)
        range_test.report()
    return logits.astype(work, copy=False), targets.astype(work, copy=False), logits.dtype, range_test


class _RangeTest:
    """Whether every target lies in [0, 1] (NaN fails), tested block by block."""

    def __init__(self, targets):
        self.targets = targets
        self.passed = True

    def test(self, block):
        if not (block.min() >= 0 and block.max() <= 1):  # two reductions; NaN fails both
            self.passed = False

    def report(self):
        """Raise the ``ValueError`` naming the first target outside [0, 1], if there is one."""
        if self.passed:
            return
        targets = self.targets
        outside = ~((targets >= 0) & (targets <= 1))
        where = _first_index(outside) if targets.ndim else ()
        raise ValueError(f"targets must lie in [0, 1], got {float(targets[where])} at index {where}")


class _Overflow:
    """An ``np.errstate(call=...)`` handler that records that an overflow happened: the
    floating-point flags tell, at no cost, whether a block needs its careful path."""

    def __init__(self):
        self.happened = False

    def __call__(self, kind, flag):
        self.happened = True


def binary_cross_entropy_with_logits(scores, targets):
    r"""Binary cross-entropy of ``sigmoid(logits)``, averaged over all elements.

    .. math:: E = -\frac{1}{M}\sum_i \bigl[t_i \log\sigma(z_i) + (1 - t_i)\log(1 - \sigma(z_i))\bigr]
              = \frac{1}{M}\sum_i \bigl[\max(z_i, 0) - z_i t_i + \log(1 + e^{-|z_i|})\bigr]

    Parameters
    ----------
    scores : array_like
        Logits :math:`z` of any shape with at least one element.
    targets : array_like
        Targets :math:`t \in [0, 1]` of the same shape.

    Returns
    -------
    numpy.floating
        The loss, finite for every finite input, in the float dtype of ``scores``.

    Notes
    -----
    The right-hand form follows from :math:`\log\sigma(z) = -\operatorname{softplus}(-z)`
    and never evaluates :math:`\log 0`. It is evaluated as

    .. math:: \log(1 + e^{-|z|}) + \max\bigl(z(1 - t),\ -z t\bigr),

    three terms :math:`\ge 0`: ``log1p`` keeps :math:`e^{-|z|}` when it is tiny, and the
    maximum equals :math:`\max(z, 0) - z t` without its cancellation when
    :math:`t \approx 1`. At :math:`z = \pm\infty` a product :math:`z t` or
    :math:`z (1 - t)` whose factor :math:`t` or :math:`1 - t` is exactly 0 is 0, its value
    for every finite :math:`z`, so the loss is its limit (0 for a confident right answer,
    ``inf`` otherwise), not ``nan``.

    Elements are summed block by block (pairwise within a block), in the dtype of the
    computation (float32 for float16 input), and the blocks' sums in float64. Where a sum
    overflows although the mean fits (an infinite mean), the sums are computed again:
    float32 in float64, float64 (and longdouble) with every term scaled by a power of 2.
    The result is finite whenever the mean is representable in the dtype of ``logits``.
    """
    logits, targets, dtype, range_test = _check_binary(scores, targets)
    kernel = functools.partial(_binary_cross_entropy_block, range_test=range_test)
    with np.errstate(over="ignore"):
        mean = elementwise_sum(kernel, logits, targets, scratch=3) / logits.size
    range_test.report()
    if not np.isfinite(mean):  # a sum overflowed, or the loss is truly infinite: sum again, carefully
        mean = _binary_cross_entropy_mean_again(logits, targets)
    with np.errstate(over="ignore"):  # a mean beyond float16's range is inf
        return dtype.type(mean)


def _binary_cross_entropy_mean_again(logits, targets):
    """The mean loss, for input whose sum of losses overflowed in its own dtype."""
    size = logits.size
    wide = wide_dtype(logits.dtype)
    if wide != logits.dtype:  # float32 terms, at most 3.4e38 each: their float64 sum cannot overflow
        kernel = functools.partial(_binary_cross_entropy_block, sum_dtype=wide)
        return elementwise_sum(kernel, logits, targets, scratch=3) / size
    # Terms are at most the dtype's largest number; scaled by 2**-s with 2**s > 2 * size,
    # no sum of them can overflow.
    exponent = size.bit_length() + 1
    kernel = functools.partial(_binary_cross_entropy_block, exponent=-exponent)
    with np.errstate(over="ignore"):
        return np.ldexp(elementwise_sum(kernel, logits, targets, scratch=3) / size, exponent)


def _binary_cross_entropy_block(z, t, out, minus_z, gap, sum_dtype=None, exponent=0, range_test=None):
    """The sum (in ``sum_dtype``, by default the block's) of the block's losses, times ``2**exponent``."""
    if range_test is not None:
        range_test.test(t)
    np.negative(z, out=minus_z)
    np.exp(np.minimum(z, minus_z, out=out), out=out)  # e^-|z| in (0, 1]: no overflow
    np.log1p(out, out=out)  # log(1 + e^-|z|), exact even where e^-|z| is far below 1
    # max(z, 0) - z t: for z >= 0 it is z (1 - t) >= 0 >= -z t, for z < 0 it is
    # -z t >= 0 >= z (1 - t). Two products and no subtraction of nearly equal numbers
    # (z - z t loses every digit when t is close to 1).
    with np.errstate(invalid="ignore"):  # inf * 0 at an infinite z: tested for below
        np.multiply(z, np.subtract(1, t, out=gap), out=gap)
        np.multiply(minus_z, t, out=minus_z)
        np.maximum(gap, minus_z, out=gap)
    if exponent:
        np.ldexp(out, exponent, out=out)
        np.ldexp(gap, exponent, out=gap)
    # The block's sum: two sums, no third array.
    total = np.add.reduce(out, dtype=sum_dtype) + np.add.reduce(gap, dtype=sum_dtype)
    if np.isnan(total) and np.isinf(z).any():  # a product inf * 0: the block again, at the limits
        _products_at_infinity(z, t, gap, minus_z)
        np.maximum(gap, minus_z, out=gap)
        if exponent:
            np.ldexp(gap, exponent, out=gap)
        total = np.add.reduce(out, dtype=sum_dtype) + np.add.reduce(gap, dtype=sum_dtype)
    return total


def _products_at_infinity(z, t, gap, minus_z):
    """``gap = z (1 - t)``, ``minus_z = -z t`` for a block where some ``z`` is infinite.

    ``inf * 0`` is ``nan``; but a product whose factor ``1 - t`` or ``t`` is exactly 0 is
    0 for every finite ``z``, and that is its limit as ``z`` goes to infinity. (A NaN ``z``
    stays NaN.) Only such blocks pay for the masks.
    """
    with np.errstate(invalid="ignore"):
        np.multiply(z, np.subtract(1, t, out=gap), out=gap)
        np.multiply(np.negative(z, out=minus_z), t, out=minus_z)
    infinite = np.isinf(z)
    gap[infinite & (t == 1)] = 0
    minus_z[infinite & (t == 0)] = 0


def binary_cross_entropy_with_logits_grad(scores, targets):
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to ``scores``.

    .. math:: \frac{\partial E}{\partial z_i} = \frac{\sigma(z_i) - t_i}{M}

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``scores``.

    Notes
    -----
    With :math:`a = e^{-z}`,

    .. math:: \sigma(z) - t = (1 - t)\,\sigma(z) - t\,\sigma(-z) = \frac{(1 - t) - t a}{1 + a},

    which has no cancellation for a hard target: :math:`t = 1` gives
    :math:`-a/(1 + a) = -\sigma(-z)` exactly, where :math:`\sigma(z) - 1` computed directly
    is 0 as soon as :math:`\sigma(z)` rounds to 1. Where :math:`a` or :math:`(1 + a) M`
    overflows (:math:`z < -709.78` in float64, or :math:`z = -\infty`), that element is
    computed with :math:`e = e^{-|z|}` instead, as :math:`((n - t) - t e)/((1 + e) M)` with
    the numerator :math:`n` of :func:`~nnmath.sigmoid`. NumPy reports the overflow, so a
    block without one pays for no per-element test, and each element's result depends on
    that element alone (and on :math:`M`), never on its neighbours. At
    :math:`z = \pm\infty` the gradient is its limit, :math:`(1 - t)/M` or :math:`-t/M`.
    """
    logits, targets, dtype, range_test = _check_binary(scores, targets)
    kernel = functools.partial(_binary_cross_entropy_grad_block, size=logits.size, range_test=range_test)
    grad = elementwise(kernel, logits, targets, scratch=2)
    range_test.report()
    return np.asarray(grad).astype(dtype, copy=False)[()]


def _binary_cross_entropy_grad_block(z, t, out, a, other, size, range_test):
    """``out = ((1 - t) - t a) / ((1 + a) M)`` with ``a = exp(-z)``, for one block."""
    range_test.test(t)
    overflow = _Overflow()
    with np.errstate(over="call", invalid="call", call=overflow):  # records, does not raise
        np.exp(np.negative(z, out=a), out=a)
        np.subtract(1, t, out=out)
        out -= np.multiply(t, a, out=other)
        out /= np.multiply(np.add(a, 1, out=a), size, out=a)
    if not overflow.happened:  # NumPy set no overflow or invalid flag: every element is done
        return
    # Elements whose denominator (1 + a) M overflowed (z < -709.78 in float64, -inf or NaN)
    # use e = exp(-|z|), which never overflows: sigma(z) = n / (1 + e) with n = max(sign z, e),
    # as in sigmoid. Every other element keeps the form above, as it would in a block of its own.
    overflowed = ~np.isfinite(a)
    if not overflowed.any():
        return
    z_over, t_over = z[overflowed], t[overflowed]
    e = np.exp(-np.abs(z_over))
    numerator = np.maximum(np.sign(z_over), e) - t_over - t_over * e
    out[overflowed] = numerator / ((e + 1) * size)
