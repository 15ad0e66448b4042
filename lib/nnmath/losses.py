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

import numpy as np
from scipy import special

from ._checks import as_float_array
from .sigmoid import sigmoid
from .softmax import log_softmax, softmax


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
        invalid = ~np.isfinite(distribution)
        if non_negative:
            invalid |= distribution < 0
        if invalid.any():
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
    log_probs = log_softmax(logits)
    if labels.indices is not None:
        per_row = -labels.take(log_probs)
    else:
        per_row = -np.sum(labels.distribution * log_probs, axis=-1)
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
    grad = softmax(logits)
    if labels.indices is not None:
        np.put_along_axis(grad, labels.indices[..., np.newaxis], labels.take(grad) - 1, axis=-1)
    else:
        grad *= np.sum(labels.distribution, axis=-1, keepdims=True)
        grad -= labels.distribution
    grad /= _batch_size(logits)
    return grad


def _check_binary(logits, targets):
    logits = as_float_array(logits, "logits")
    if logits.size == 0:
        raise ValueError(f"logits must hold at least one element, got shape {logits.shape}")
    targets = as_float_array(targets, "targets")
    if targets.shape != logits.shape:
        raise ValueError(f"targets must have the shape of logits {logits.shape}, got shape {targets.shape}")
    outside = ~((targets >= 0) & (targets <= 1))
    if outside.any():
        where = _first_index(outside) if targets.ndim else ()
        raise ValueError(f"targets must lie in [0, 1], got {float(targets[where])} at index {where}")
    return logits, targets.astype(logits.dtype, copy=False)


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
    and never evaluates :math:`\log 0`.
    """
    logits, targets = _check_binary(logits, targets)
    per_element = np.maximum(logits, 0) - logits * targets + np.log1p(np.exp(-np.abs(logits)))
    return logits.dtype.type(np.mean(per_element))


def binary_cross_entropy_with_logits_grad(logits, targets):
    r"""Gradient of :func:`binary_cross_entropy_with_logits` with respect to ``logits``.

    .. math:: \frac{\partial E}{\partial z_i} = \frac{\sigma(z_i) - t_i}{M}

    Returns
    -------
    numpy.ndarray
        The shape and float dtype of ``logits``.
    """
    logits, targets = _check_binary(logits, targets)
    return (sigmoid(logits) - targets) / logits.size
