r"""Loss functions and their gradients.

Shapes. The last axis holds the ``n`` classes (or outputs); every leading axis is a batch
axis. A loss is the **mean over the batch** of the per-example loss, so a ``(N, n)`` input
averages ``N`` rows and a single ``(n,)`` vector is a batch of one. Each ``_grad`` returns
the derivative of that mean, so it carries the factor ``1/N``.
``binary_cross_entropy_with_logits`` is the exception: every element is its own example.

Labels. ``labels`` are either integer class indices of shape ``pred.shape[:-1]``, or a
distribution of the shape of ``pred`` (one-hot or soft). Gradients are exact for soft
labels too, including labels that do not sum to 1.

Nothing here takes ``log(p + eps)``: cross-entropy on logits goes through
:func:`~nnmath.log_softmax`, which is finite for every finite logit.

References
----------
.. [1] I. Goodfellow, Y. Bengio, A. Courville, *Deep Learning*, MIT Press, 2016, §6.2.
.. [2] K. Saitoh, *Deep Learning from Scratch*, O'Reilly Japan, 2016, §4.2 and appendix A.
"""

import functools

import numpy as np
from scipy import special

from ._blocks import elementwise, elementwise_sum, row_blocks
from ._checks import as_float_array
from .softmax import _exp_top_and_rest, _log1p_tail, _sum_dtype, _wide


class _Labels:
    """Checked labels: class ``indices`` (batch shape) or a ``distribution`` (full shape)."""

    def __init__(self, indices=None, distribution=None):
        self.indices = indices
        self.distribution = distribution

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


def _check_labels(labels, values, name, *, label_name="labels", non_negative=True):
    """Validate ``labels`` (called ``label_name``) against the scores ``values``, shape ``(..., n)``."""
    batch_shape, n = values.shape[:-1], values.shape[-1]
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
        distribution = as_float_array(array, label_name).astype(values.dtype, copy=False)
        if not _all_finite(distribution, non_negative):
            invalid = ~np.isfinite(distribution)
            if non_negative:
                invalid |= distribution < 0
            where = _first_index(invalid) if distribution.ndim else ()
            kind = "non-negative and finite" if non_negative else "finite"
            raise ValueError(f"{label_name} must be {kind}, got {float(distribution[where])} at index {where}")
        return _Labels(distribution=distribution)
    if array.shape == batch_shape:
        raise TypeError(
            f"{label_name} of shape {batch_shape} are class indices and must be integers, got dtype {array.dtype}"
        )
    raise ValueError(
        f"{label_name} must have shape {batch_shape} (class indices) or {values.shape} (a distribution) "
        f"to match {name} of shape {values.shape}, got shape {array.shape}"
    )


def _batch_size(values):
    return values.size // values.shape[-1]


def mse(y, t):
    r"""Mean squared error, averaged over the batch.

    .. math:: E = \frac{1}{N}\sum_{\text{rows}} \frac12 \sum_k (y_k - t_k)^2

    Parameters
    ----------
    y : array_like, shape (..., n)
        Predictions.
    t : array_like
        Targets of shape ``(..., n)`` (any finite reals), or integer class indices of
        shape ``(...)``, which stand for one-hot targets.

    Returns
    -------
    numpy.floating
        The loss, in the float dtype of ``y``.

    Examples
    --------
    >>> round(float(mse([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0], 2)), 10)
    0.0975
    """
    y = _check_scores(y, "y")
    t = _check_labels(t, y, "y", label_name="t", non_negative=False).one_hot_like(y)
    difference = y - t
    per_row = 0.5 * np.sum(difference * difference, axis=-1)
    return y.dtype.type(np.mean(per_row))


def mse_grad(y, t):
    r"""Gradient of :func:`mse` with respect to ``y``.

    .. math:: \frac{\partial E}{\partial y_k} = \frac{y_k - t_k}{N}

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``y``.
    """
    y = _check_scores(y, "y")
    t = _check_labels(t, y, "y", label_name="t", non_negative=False).one_hot_like(y)
    return (y - t) / _batch_size(y)


def _check_probs(probs):
    probs = _check_scores(probs, "probs")
    outside = ~((probs >= 0) & (probs <= 1))  # also catches nan
    if outside.any():
        where = _first_index(outside)
        raise ValueError(f"probs must be probabilities in [0, 1], got {float(probs[where])} at index {where}")
    return probs


def cross_entropy(probs, labels):
    r"""Cross-entropy of predicted probabilities, averaged over the batch.

    .. math:: E = -\frac{1}{N}\sum_{\text{rows}} \sum_k t_k \log y_k

    with the convention :math:`0 \log 0 = 0`. For a one-hot (or index) label only the
    true class's term survives: :math:`E = -\log y_{\text{true}}`.

    Parameters
    ----------
    probs : array_like, shape (..., n)
        Probabilities :math:`y` in [0, 1].
    labels : array_like
        Class indices of shape ``(...)`` or a distribution of shape ``(..., n)``.

    Returns
    -------
    numpy.floating
        The loss in the float dtype of ``probs``; ``inf`` when a true class has
        probability exactly 0 (the honest value: no ``eps`` is added).

    Examples
    --------
    >>> round(float(cross_entropy([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0], 2)), 6)
    0.510826
    """
    probs = _check_probs(probs)
    labels = _check_labels(labels, probs, "probs")
    with np.errstate(divide="ignore"):  # log 0 = -inf is the right answer there
        if labels.indices is not None:
            per_row = -np.log(labels.take(probs))
        else:
            per_row = -np.sum(special.xlogy(labels.distribution, probs), axis=-1)
    return probs.dtype.type(np.mean(per_row))


def cross_entropy_grad(probs, labels):
    r"""Gradient of :func:`cross_entropy` with respect to ``probs``.

    .. math:: \frac{\partial E}{\partial y_k} = -\frac{t_k}{N\,y_k}

    It is 0 wherever :math:`t_k = 0` (even if :math:`y_k = 0`) and :math:`-\infty` where
    :math:`t_k > 0 = y_k`.

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``probs``.
    """
    probs = _check_probs(probs)
    labels = _check_labels(labels, probs, "probs")
    targets = labels.one_hot_like(probs)
    grad = np.zeros_like(probs)
    with np.errstate(divide="ignore"):
        np.divide(targets * (-1 / _batch_size(probs)), probs, out=grad, where=targets != 0)
    return grad


def softmax_cross_entropy(logits, labels):
    r"""Cross-entropy of ``softmax(logits)``, computed from the log-softmax.

    .. math:: E = -\frac{1}{N}\sum_{\text{rows}} \sum_k t_k \log\operatorname{softmax}(a)_k
              = \frac{1}{N}\sum_{\text{rows}} \Bigl(\bigl(\textstyle\sum_k t_k\bigr)\operatorname{LSE}(a) - \sum_k t_k a_k\Bigr)

    Parameters
    ----------
    logits : array_like, shape (..., n)
        Unnormalised scores :math:`a`.
    labels : array_like
        Class indices of shape ``(...)`` or a distribution of shape ``(..., n)``.

    Returns
    -------
    numpy.floating
        The loss, finite for every finite input, in the float dtype of ``logits``.

    Examples
    --------
    >>> float(softmax_cross_entropy([[1000.0, 0.0]], [1]))
    1000.0
    """
    logits = _check_scores(logits, "logits")
    labels = _check_labels(labels, logits, "logits")
    rows, indices, distribution = _as_rows(logits, labels)
    per_row = np.empty(rows.shape[0], _wide(rows.dtype))
    scratch = None
    for block in row_blocks(*rows.shape):
        x = rows[block]
        if scratch is None:
            scratch = np.empty(x.shape, x.dtype)
        e_block = scratch[: x.shape[0]]
        _, row_max, top, rest = _exp_top_and_rest(x, e_block)
        lse_minus_max = _log1p_tail(row_max, top, rest)[:, 0]  # LSE - m = log(1 + s/t) >= 0
        if indices is not None:
            # -log softmax(a)_t = (m - a_t) + log(1 + s/t): two terms >= 0, so nothing cancels;
            # for a confident row (t the argmax) it is log1p(s/t) itself, not log(1) = 0.
            picked = np.take_along_axis(x, indices[block, np.newaxis], axis=1)[:, 0]
            per_row[block] = (row_max[:, 0].astype(per_row.dtype) - picked) + lse_minus_max
        else:
            # sum_k t_k (LSE - a_k) = sum_k t_k (m - a_k) + (sum_k t_k) log(1 + s/t): terms >= 0.
            t = distribution[block]
            np.multiply(np.subtract(row_max, x, out=e_block), t, out=e_block)
            weighted_gaps = np.sum(e_block, axis=1, dtype=_sum_dtype(x.dtype))
            label_sums = np.sum(t, axis=1, dtype=_sum_dtype(x.dtype))
            per_row[block] = weighted_gaps + label_sums * lse_minus_max
    return logits.dtype.type(np.mean(per_row))


def softmax_cross_entropy_grad(logits, labels):
    r"""Gradient of :func:`softmax_cross_entropy` with respect to ``logits``.

    .. math:: \frac{\partial E}{\partial a_k} = \frac{1}{N}\Bigl(y_k \sum_j t_j - t_k\Bigr),
              \qquad y = \operatorname{softmax}(a)

    which is the famous :math:`(y_k - t_k)/N` whenever the labels sum to 1 (one-hot,
    index or soft labels).

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``logits``.
    """
    logits = _check_scores(logits, "logits")
    labels = _check_labels(labels, logits, "logits")
    rows, indices, distribution = _as_rows(logits, labels)
    batch = rows.shape[0]
    grad = np.empty(rows.shape, rows.dtype)
    scratch = None
    for block in row_blocks(*rows.shape):
        x, e = rows[block], grad[block]
        index, _, top, rest = _exp_top_and_rest(x, e)  # e = exp(a - c), 0 at each row's max
        np.put_along_axis(e, index, top.astype(e.dtype), axis=1)
        total = top + rest  # S, the sum of all the terms
        scale = (1 / (batch * total)).astype(e.dtype)  # y_k / N = e_k * scale
        # y_t - 1 = -(S - e_t) / S cancels when y_t is close to 1. S - e_t is the sum of the
        # other terms: s itself when t is the row's max, and >= S/2 (no cancellation) otherwise.
        others_of_max = rest.astype(e.dtype)
        if indices is not None:
            t = indices[block, np.newaxis]
            others = np.where(t == index, others_of_max, total.astype(e.dtype) - np.take_along_axis(e, t, axis=1))
            e *= scale
            np.put_along_axis(e, t, -others * scale, axis=1)
        else:
            # y_k T - t_k = (e_k (T - t_k) - t_k (S - e_k)) / S with T = sum_k t_k: the same
            # "other terms" S - e_k, so a one-hot row gives exactly the index result.
            t = distribution[block]
            if scratch is None:
                scratch = np.empty(e.shape, e.dtype)
            others = scratch[: e.shape[0]]
            np.subtract(total.astype(e.dtype), e, out=others)
            np.put_along_axis(others, index, others_of_max, axis=1)
            label_sums = np.sum(t, axis=1, keepdims=True, dtype=_sum_dtype(e.dtype)).astype(e.dtype)
            np.multiply(others, t, out=others)
            np.multiply(e, np.subtract(label_sums, t), out=e)
            e -= others
            e *= scale
    return grad.reshape(logits.shape).astype(logits.dtype, copy=False)


def _as_rows(logits, labels):
    """``(rows, indices, distribution)``: the logits as ``(N, n)`` (float16 as float32) and the
    labels as ``(N,)`` indices or an ``(N, n)`` distribution (the other one is None)."""
    work = logits.astype(np.float32) if logits.dtype == np.float16 else logits
    rows = work.reshape(-1, work.shape[-1])
    if labels.indices is not None:
        return rows, labels.indices.reshape(-1), None
    return rows, None, labels.distribution.astype(work.dtype, copy=False).reshape(rows.shape)


def _check_binary(logits, targets):
    """``(logits, targets, dtype)``: both as arrays of the dtype to compute in (float16 as
    float32, where the factor 1/M alone can underflow), and the dtype to return."""
    logits = as_float_array(logits, "logits")
    if logits.size == 0:
        raise ValueError(f"logits must hold at least one element, got shape {logits.shape}")
    targets = as_float_array(targets, "targets")
    if targets.shape != logits.shape:
        raise ValueError(f"targets must have the shape of logits {logits.shape}, got shape {targets.shape}")
    if not (targets.min() >= 0 and targets.max() <= 1):  # two reductions; NaN fails both tests
        outside = ~((targets >= 0) & (targets <= 1))
        where = _first_index(outside) if targets.ndim else ()
        raise ValueError(f"targets must lie in [0, 1], got {float(targets[where])} at index {where}")
    work = np.float32 if logits.dtype == np.float16 else logits.dtype
    return logits.astype(work, copy=False), targets.astype(work, copy=False), logits.dtype


def binary_cross_entropy_with_logits(logits, targets):
    r"""Binary cross-entropy of ``sigmoid(logits)``, averaged over all elements.

    .. math:: E = -\frac{1}{M}\sum_i \bigl[t_i \log\sigma(z_i) + (1 - t_i)\log(1 - \sigma(z_i))\bigr]
              = \frac{1}{M}\sum_i \bigl[\max(z_i, 0) - z_i t_i + \log(1 + e^{-|z_i|})\bigr]

    Parameters
    ----------
    logits : array_like
        Scores :math:`z` of any shape with at least one element.
    targets : array_like
        Targets :math:`t \in [0, 1]` of the same shape.

    Returns
    -------
    numpy.floating
        The loss, finite for every finite input, in the float dtype of ``logits``.

    Notes
    -----
    The right-hand form follows from :math:`\log\sigma(z) = -\operatorname{softplus}(-z)`
    and never evaluates :math:`\log 0`. It is evaluated as

    .. math:: \log(1 + e^{-|z|}) + \max\bigl(z(1 - t),\ -z t\bigr),

    three terms :math:`\ge 0`: ``log1p`` keeps :math:`e^{-|z|}` when it is tiny, and the
    maximum equals :math:`\max(z, 0) - z t` without its cancellation when
    :math:`t \approx 1`. Elements are summed block by block, in float64.
    """
    logits, targets, dtype = _check_binary(logits, targets)
    accumulate = _sum_dtype(logits.dtype).type
    total = elementwise_sum(_binary_cross_entropy_block, logits, targets, scratch=2, accumulate=accumulate)
    return dtype.type(total / logits.size)


def _binary_cross_entropy_block(z, t, out, gap, other):
    """``out`` = the loss of each element of one block."""
    np.exp(np.negative(np.abs(z, out=out), out=out), out=out)  # e^-|z| in (0, 1]: no overflow
    np.log1p(out, out=out)  # log(1 + e^-|z|), exact even where e^-|z| is far below 1
    # max(z, 0) - z t: for z >= 0 it is z (1 - t) >= 0 >= -z t, for z < 0 it is
    # -z t >= 0 >= z (1 - t). Two products and no subtraction of nearly equal numbers
    # (z - z t loses every digit when t is close to 1).
    np.multiply(z, np.subtract(1, t, out=gap), out=gap)
    np.negative(np.multiply(z, t, out=other), out=other)
    out += np.maximum(gap, other, out=gap)


def binary_cross_entropy_with_logits_grad(logits, targets):
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to ``logits``.

    .. math:: \frac{\partial E}{\partial z_i} = \frac{\sigma(z_i) - t_i}{M}

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``logits``.

    Notes
    -----
    With :math:`e = e^{-|z|}` and :math:`\sigma(z) = n / (1 + e)`, where the numerator
    :math:`n` is 1 for :math:`z \ge 0` and :math:`e` for :math:`z < 0` (as in
    :func:`~nnmath.sigmoid`),

    .. math:: \sigma(z) - t = \frac{(n - t) - t e}{1 + e}.

    For a hard target the numerator has no cancellation: :math:`t = 1, z > 0` gives
    :math:`-e/(1 + e)`, the exact :math:`-\sigma(-z)`, where :math:`\sigma(z) - 1`
    computed directly is 0 as soon as :math:`\sigma(z)` rounds to 1.
    """
    logits, targets, dtype = _check_binary(logits, targets)
    kernel = functools.partial(_binary_cross_entropy_grad_block, size=logits.size)
    return elementwise(kernel, logits, targets, scratch=2).astype(dtype, copy=False)


def _binary_cross_entropy_grad_block(z, t, out, e, other, size):
    """``out = ((n - t) - t e) / ((1 + e) M)`` for one block."""
    np.exp(np.negative(np.abs(z, out=e), out=e), out=e)  # e = e^-|z| in (0, 1]
    np.maximum(np.sign(z, out=out), e, out=out)  # n: 1 for z >= 0, e for z < 0 (see sigmoid)
    out -= t
    out -= np.multiply(t, e, out=other)
    np.multiply(np.add(e, 1, out=e), size, out=e)
    out /= e
