"""Layers with a forward and a backward pass, for networks built by hand.

Every layer follows one protocol:

* ``forward(x)`` returns the output and remembers what ``backward`` needs;
* ``backward(dout)`` takes the gradient of the final loss with respect to the layer's output
  and returns it with respect to the layer's input, scaled by ``dout``
  (the chain rule: ``dx = dout * local derivative``). Parameter gradients go to ``grads``.

A single vector is a batch of one: ``Affine.forward`` of a ``(d_in,)`` vector returns a
``(d_out,)`` vector and ``backward`` accepts a ``(d_out,)`` gradient. Neither method modifies its
arguments. The activation layers use the library's own ``f`` / ``f_grad`` pairs, so a layer and
its function can never disagree (``ReLU`` passes back 0 at an input of exactly 0, like
``relu_grad``).

References
----------
.. [1] K. Saitoh, *Deep Learning from Scratch*, O'Reilly Japan, 2016, ch. 5.
"""

import numpy as np

from ._checks import as_float_array, check_real_parameter
from .losses import softmax_cross_entropy_with_grad
from .relu import elu, elu_grad, leaky_relu, leaky_relu_grad, relu, relu_grad
from .sigmoid import sigmoid, sigmoid_grad
from .smooth_relu import gelu, gelu_grad, silu, silu_grad, softplus, softplus_grad
from .softmax import softmax
from .tanh import tanh, tanh_grad


def _require_forward(layer, attribute):
    """A ``RuntimeError`` for a ``backward`` before any ``forward`` (which sets ``attribute``)."""
    if getattr(layer, attribute, None) is None:
        raise RuntimeError(f"{type(layer).__name__}.backward was called before forward")


class Layer:
    """Base class: parameters and their gradients by name, and the forward/backward protocol."""

    def __init__(self):
        self.params = {}
        self.grads = {}

    def __call__(self, x):
        return self.forward(x)


def _check_dout(dout, shape, layer):
    dout = as_float_array(dout, "dout")
    if dout.shape != shape:
        raise ValueError(f"dout must have the shape of {layer}'s output {shape}, got shape {dout.shape}")
    return dout


class Affine(Layer):
    r"""Fully connected layer: :math:`y = xW + b`.

    Parameters
    ----------
    W : array_like, shape (d_in, d_out)
        Weights (copied).
    b : array_like, shape (d_out,)
        Biases (copied).

    Notes
    -----
    For a batch :math:`X` of shape ``(N, d_in)`` and upstream gradient :math:`G = \partial E/\partial Y`:

    .. math:: \frac{\partial E}{\partial X} = G W^\top, \qquad
              \frac{\partial E}{\partial W} = X^\top G, \qquad
              \frac{\partial E}{\partial b} = \textstyle\sum_{\text{rows}} G
    """

    def __init__(self, W, b):
        super().__init__()
        W = np.array(as_float_array(W, "W"), copy=True)
        b = np.array(as_float_array(b, "b"), copy=True)
        if W.ndim != 2:
            raise ValueError(f"W must be a 2-D (d_in, d_out) matrix, got shape {W.shape}")
        if b.shape != (W.shape[1],):
            raise ValueError(f"b must have shape ({W.shape[1]},) to match W of shape {W.shape}, got shape {b.shape}")
        self.params = {"W": W, "b": b}
        self._x = None

    @property
    def W(self):
        return self.params["W"]

    @property
    def b(self):
        return self.params["b"]

    def forward(self, x):
        """``x @ W + b`` for ``x`` of shape ``(d_in,)`` or ``(N, d_in)``."""
        x = as_float_array(x, "x")
        d_in = self.W.shape[0]
        if x.ndim not in (1, 2) or x.shape[-1] != d_in:
            raise ValueError(f"x must have shape ({d_in},) or (N, {d_in}), got shape {x.shape}")
        self._x = np.array(x, copy=True)  # kept for dW; a copy, so later edits of x cannot leak in
        return x @ self.W + self.b

    def backward(self, dout):
        """Return dE/dx and store dE/dW, dE/db in ``grads``."""
        _require_forward(self, "_x")
        out_shape = self._x.shape[:-1] + (self.W.shape[1],)
        dout = _check_dout(dout, out_shape, "Affine")
        x2d, dout2d = np.atleast_2d(self._x), np.atleast_2d(dout)  # a vector is a batch of one
        self.grads = {"W": x2d.T @ dout2d, "b": dout2d.sum(axis=0)}
        return dout @ self.W.T


class _Elementwise(Layer):
    """An activation layer: forward keeps its input, backward multiplies by the local derivative.

    Subclasses name the library's pair: ``_f`` computes the output, ``_grad`` its derivative.
    The derivative is computed in ``backward``, so that a forward pass alone (``predict``)
    does not pay for it.
    """

    _x = None

    def forward(self, x):
        x = as_float_array(x, "x")
        self._x = np.array(x, copy=True)  # a copy: later edits of the caller's x cannot leak in
        return self._f(x)

    def backward(self, dout):
        _require_forward(self, "_x")
        dout = _check_dout(dout, self._x.shape, type(self).__name__)
        return dout * self._grad(self._x)


class Sigmoid(_Elementwise):
    r"""Sigmoid layer: :math:`y = \sigma(x)`, backward :math:`\text{dout}\cdot\sigma'(x)`."""

    _f, _grad = staticmethod(sigmoid), staticmethod(sigmoid_grad)


class Tanh(_Elementwise):
    r"""Tanh layer: :math:`y = \tanh x`, backward :math:`\text{dout}\cdot(1 - \tanh^2 x)`."""

    _f, _grad = staticmethod(tanh), staticmethod(tanh_grad)


class ReLU(_Elementwise):
    r"""ReLU layer: :math:`y = \max(x, 0)`, backward passes ``dout`` where :math:`x > 0`, else 0."""

    _f, _grad = staticmethod(relu), staticmethod(relu_grad)


class _WithAlpha(_Elementwise):
    """An activation layer whose pair takes a parameter ``alpha``: ``_pair = (f, f_grad)``."""

    _default_alpha = None
    _pair = None

    def __init__(self, alpha=None):
        super().__init__()
        self.alpha = check_real_parameter(self._default_alpha if alpha is None else alpha, "alpha")

    def _f(self, x):
        return self._pair[0](x, self.alpha)

    def _grad(self, x):
        return self._pair[1](x, self.alpha)


class LeakyReLU(_WithAlpha):
    r"""Leaky ReLU layer with negative slope ``alpha`` (default 0.01); backward uses ``alpha`` for :math:`x \le 0`."""

    _default_alpha, _pair = 0.01, (leaky_relu, leaky_relu_grad)


class ELU(_WithAlpha):
    r"""ELU layer with parameter ``alpha`` (default 1): :math:`x` for :math:`x > 0`, else :math:`\alpha(e^x - 1)`."""

    _default_alpha, _pair = 1.0, (elu, elu_grad)


class Softplus(_Elementwise):
    r"""Softplus layer: :math:`y = \log(1 + e^x)`, backward :math:`\text{dout}\cdot\sigma(x)`."""

    _f, _grad = staticmethod(softplus), staticmethod(softplus_grad)


class GELU(_Elementwise):
    r"""GELU layer: :math:`y = x\,\Phi(x)`, backward :math:`\text{dout}\cdot(\Phi(x) + x\varphi(x))`."""

    _f, _grad = staticmethod(gelu), staticmethod(gelu_grad)


class SiLU(_Elementwise):
    r"""SiLU (Swish) layer: :math:`y = x\,\sigma(x)`, backward :math:`\text{dout}\cdot\sigma(x)(1 + x(1 - \sigma(x)))`."""

    _f, _grad = staticmethod(silu), staticmethod(silu_grad)


class Loss:
    """Base class of the losses that end a network: ``forward(scores, targets)`` returns the scalar
    loss, and ``backward(dout=1.0)`` starts the chain rule, returning dE/d(scores).

    A loss is not a :class:`Layer`: it takes two arguments, returns a scalar and has no
    parameters, so a :class:`~nnmath.Network` does not accept one among its layers.
    """

    def __call__(self, scores, targets):
        return self.forward(scores, targets)

    def forward(self, scores, targets):
        raise NotImplementedError

    def backward(self, dout=1.0):
        raise NotImplementedError

    @staticmethod
    def _check_dout(dout, dtype):
        """The scalar ``dout`` in ``dtype``, so that a float32 chain stays float32."""
        dout = as_float_array(dout, "dout")
        if dout.size != 1:
            raise ValueError(f"dout must be a scalar (the loss is a scalar), got shape {dout.shape}")
        return dout.reshape(()).astype(dtype)


class SoftmaxWithLoss(Loss):
    r"""Softmax followed by cross-entropy, fused: the last layer of a classifier.

    ``forward(scores, targets)`` returns the mean loss
    :math:`E = -\frac1N\sum \sum_k t_k \log y_k` of :math:`y = \operatorname{softmax}(a)`,
    :math:`a` the scores (logits), computed in one pass with the gradient; ``probs`` is
    :math:`y`.
    ``backward(dout=1.0)`` returns :math:`\text{dout}\cdot\frac{1}{N}\bigl(y \textstyle\sum_j t_j - t\bigr)`,
    which is :math:`\text{dout}\cdot(y - t)/N` for targets that sum to 1, from what the
    forward pass kept: no exponential is computed again.

    ``targets`` are class indices of shape ``scores.shape[:-1]`` or distributions of the
    shape of ``scores``, as in :func:`~nnmath.softmax_cross_entropy`. The gradient has the
    float dtype of the scores (float32 stays float32).

    Notes
    -----
    The forward pass is :func:`~nnmath.softmax_cross_entropy_with_grad`, which computes the
    gradient :math:`(y\tau - t)/N` (:math:`\tau = \sum_j t_j`) together with the loss, one
    exponential per score, so ``backward`` is a single multiplication by ``dout``.

    ``probs`` is computed when it is first read, so that training, which never reads it,
    does not pay for it. Until then the layer holds the scores it was given, not a copy: a
    copy would cost about half the time of one ``np.exp`` over them, only for ``probs``, as
    the gradient is already computed. So ``probs`` is the softmax of the scores as they are
    when it is first read: read it before writing into an array passed to ``forward``.
    """

    def __init__(self):
        self._grad = None
        self._scores = None
        self._probs = None

    @property
    def probs(self):
        r""":math:`\operatorname{softmax}(a)` of the last forward pass's scores (``None`` before one)."""
        if self._probs is None and self._scores is not None:
            self._probs, self._scores = softmax(self._scores), None  # the scores are no longer needed
        return self._probs

    def forward(self, scores, targets):
        """The mean loss of ``scores`` (logits) against ``targets``; keeps the gradient."""
        scores = as_float_array(scores, "scores")
        loss, self._grad = softmax_cross_entropy_with_grad(scores, targets)  # validates both
        self._scores = scores  # not copied: only probs reads it (see the class's docstring)
        self._probs = None
        return loss

    def backward(self, dout=1.0):
        """Gradient with respect to the scores, scaled by the scalar ``dout``.

        With ``dout = 1`` (a network's loss) this is the gradient the forward pass stored,
        returned read-only rather than copied: nothing is computed or allocated.
        """
        _require_forward(self, "_grad")
        dout = self._check_dout(dout, self._grad.dtype)
        if dout == 1:
            self._grad.flags.writeable = False
            return self._grad
        return self._grad * dout
