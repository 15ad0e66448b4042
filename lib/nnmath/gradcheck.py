r"""Numerical gradients, the independent check on every analytic ``_grad``.

A central difference has truncation error :math:`O(h^2)` and rounding error
:math:`O(\epsilon / h)`; balancing the two gives :math:`h \approx \epsilon^{1/3}` relative
to the size of :math:`x`, about ``6e-6`` in float64, for an overall error near
:math:`\epsilon^{2/3} \approx 4 \times 10^{-11}` relative to the function's scale.
"""

import numpy as np

from ._checks import as_float_array, check_real_parameter

#: The default relative step of :func:`numerical_grad`: :math:`\epsilon^{1/3} \approx 6.1 \times 10^{-6}`,
#: with :math:`\epsilon` the float64 machine epsilon.
RELATIVE_STEP = np.finfo(np.float64).eps ** (1 / 3)


def numerical_grad(f, x, eps=None):
    r"""Gradient of a scalar function by central differences, in float64.

    .. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + h_i e_i) - f(x - h_i e_i)}{2 h_i}

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a real scalar (a Python number, a NumPy scalar or a size-1 array).
        It receives a float64 array of ``x``'s shape and must not keep or modify it.
    x : array_like
        The point; integers and float32 are evaluated in float64. Never modified.
    eps : float, optional
        A fixed step :math:`h > 0`. By default :math:`h_i = \epsilon^{1/3} \max(1, |x_i|)`,
        with :math:`\epsilon` the float64 machine epsilon. A fixed step must move every
        entry: :math:`x_i \pm h` must differ from :math:`x_i` and stay finite (a step below
        half the spacing of the floats at :math:`x_i`, such as ``1e-300`` at 1, would make
        the quotient 0/0).

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``x``.

    Notes
    -----
    :math:`x_i + h_i` and :math:`x_i - h_i` are rounded to floats, so the distances actually
    stepped are measured after rounding and their sum is the denominator (the classic
    ``h = (x + h) - x`` trick, applied to each side): the quotient is the exact slope of the
    secant through the two points evaluated, e.g. exactly 1 for :math:`f(x) = x`.

    Examples
    --------
    >>> numerical_grad(lambda v: float((v ** 2).sum()), [1.0, -2.0]).round(6).tolist()
    [2.0, -4.0]
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    point = np.array(as_float_array(x, "x"), dtype=np.float64, copy=True)
    if eps is None:
        steps = RELATIVE_STEP * np.maximum(1.0, np.abs(point))
    else:
        eps = check_real_parameter(eps, "eps")
        if eps <= 0:
            raise ValueError(f"eps must be positive, got {eps}")
        steps = np.full(point.shape, eps)
        _check_steps(point, eps)
    grad = np.empty_like(point)
    for index in np.ndindex(point.shape):
        original = point[index]
        point[index] = original + steps[index]
        forward_step = point[index] - original  # the distance actually stepped, after rounding
        forward = _scalar(f(point))
        point[index] = original - steps[index]
        backward_step = original - point[index]
        backward = _scalar(f(point))
        point[index] = original
        grad[index] = (forward - backward) / (forward_step + backward_step)
    return grad


def relative_error(actual, expected, floor=1e-12):
    r"""Largest elementwise relative difference between two arrays.

    .. math:: \max_i \frac{|a_i - b_i|}{\max(|a_i|, |b_i|, \text{floor})}

    Parameters
    ----------
    actual, expected : array_like
        Arrays of one shape (e.g. an analytic and a numerical gradient).
    floor : float, default 1e-12
        A positive number. Denominators below this are raised to it, so that two entries
        that are both essentially zero count as agreeing instead of dividing 0 by 0.

    Returns
    -------
    float
        The maximum relative difference (0.0 for empty arrays).
    """
    actual = as_float_array(actual, "actual").astype(np.float64)
    expected = as_float_array(expected, "expected").astype(np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"actual and expected must have one shape, got {actual.shape} and {expected.shape}")
    floor = check_real_parameter(floor, "floor")
    if floor <= 0:  # 0 would divide 0 by 0 where both entries are 0
        raise ValueError(f"floor must be positive, got {floor}")
    if actual.size == 0:
        return 0.0
    scale = np.maximum(np.maximum(np.abs(actual), np.abs(expected)), floor)
    return float(np.max(np.abs(actual - expected) / scale))


def _check_steps(point, eps):
    """Require ``point ± eps`` to differ from ``point`` and to stay finite, at every finite entry."""
    with np.errstate(over="ignore"):
        forward, backward = point + eps, point - eps
    finite = np.isfinite(point)
    for stepped, sign in ((forward, "+"), (backward, "-")):
        stuck = finite & (stepped == point)
        if stuck.any():
            index, name = _first(stuck)
            raise ValueError(
                f"eps must be large enough to move every entry of x, got {eps}: "
                f"{name} {sign} eps rounds back to {float(point[index])}"
            )
        overflowed = finite & ~np.isfinite(stepped)
        if overflowed.any():
            index, name = _first(overflowed)
            raise ValueError(
                f"eps must keep x ± eps finite, got {eps}: {name} = {float(point[index])} {sign} eps overflows"
            )


def _first(mask):
    """``(index, name)`` of the first True entry of ``mask``: ``((3,), "x[3]")``, ``((), "x")`` for 0-d."""
    if mask.ndim == 0:
        return (), "x"
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    return index, f"x[{', '.join(map(str, index))}]"


def _scalar(value):
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        raise TypeError(f"f must return a real scalar, got {type(value).__name__} of shape {array.shape}")
    return float(array.reshape(()))


def gradient_errors(network, x, targets, floor=1e-4):
    r"""Check backpropagation: each parameter's gradient against central differences.

    Runs ``network.loss(x, targets)`` and ``network.backward()``, then compares every
    parameter's gradient with :func:`~nnmath.numerical_grad` of the loss with respect to that
    parameter alone, by :func:`~nnmath.relative_error`:

    .. math:: \max_i \frac{|a_i - b_i|}{\max(|a_i|, |b_i|, \text{floor})}

    A central difference resolves a derivative only to about :math:`\epsilon\,|E|/h`
    absolute (about :math:`10^{-10}` for losses of order 1), so gradients below ``floor``
    are compared absolutely. Parameters are restored afterwards, and the network is left as
    after ``network.loss(x, targets)``, so that ``network.backward()`` can follow.

    Returns
    -------
    dict
        ``{"<index>.<name>": error}`` for every parameter, e.g. ``"0.W"`` for the first
        layer's weights.
    """
    network.loss(x, targets)
    network.backward()
    errors = {}
    for index, layer in enumerate(network.layers):
        for name, original in list(layer.params.items()):

            def loss_at(value, layer=layer, name=name):
                layer.params[name] = value
                return network.loss(x, targets)

            numerical = numerical_grad(loss_at, original)
            layer.params[name] = original
            errors[f"{index}.{name}"] = relative_error(layer.grads[name], numerical, floor=floor)
    network.loss(x, targets)  # leave every layer as after a forward pass at the original parameters
    return errors
