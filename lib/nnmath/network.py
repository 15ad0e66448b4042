r"""A multi-layer network assembled from ``nnmath`` layers, and plain mini-batch SGD.

No framework: a :class:`Network` is a list of layers ending in a :class:`SoftmaxWithLoss`.
``loss`` runs the forward pass; ``backward`` runs the chain rule back through the layers and
leaves each parameter's gradient in its layer's ``grads``; :func:`sgd_step` moves every
parameter against its gradient.

Weight initialisation, for an :class:`Affine` layer with ``fan_in`` inputs and ``fan_out``
outputs (biases start at 0):

* ``"xavier"`` (Glorot & Bengio 2010): :math:`W \sim \mathcal{N}(0, 2/(\text{fan\_in} + \text{fan\_out}))`,
  which keeps the variance of activations and gradients roughly constant for tanh and sigmoid;
* ``"he"`` (He et al. 2015): :math:`W \sim \mathcal{N}(0, 2/\text{fan\_in})`, the same for ReLU,
  which zeroes half of its inputs;
* a number :math:`s`: :math:`W \sim \mathcal{N}(0, s^2)`.

References
----------
.. [1] X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward neural
   networks", AISTATS 2010.
.. [2] K. He, X. Zhang, S. Ren, J. Sun, "Delving deep into rectifiers", ICCV 2015.
"""

import inspect
from itertools import pairwise

import numpy as np

from ._checks import _describe, check_real_parameter, reject_masked
from .layers import Affine, Layer, Loss, SoftmaxWithLoss


class Network:
    """Layers applied in order, then a softmax cross-entropy loss.

    Parameters
    ----------
    layers : list of Layer
        The hidden and output layers; the last one produces the logits.
    """

    def __init__(self, layers):
        layers = list(layers)
        if any(isinstance(layer, Loss) for layer in layers):
            raise TypeError("layers must not include a loss: a Network ends in its own SoftmaxWithLoss")
        if not layers or not all(isinstance(layer, Layer) for layer in layers):
            raise TypeError("layers must be a non-empty list of nnmath layers")
        self.layers = layers
        self.loss_layer = SoftmaxWithLoss()

    def predict(self, x):
        """The logits for input ``x`` of shape ``(N, d_in)`` or ``(d_in,)``."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def loss(self, x, targets):
        """Mean softmax cross-entropy of the network on ``(x, targets)``."""
        return self.loss_layer.forward(self.predict(x), targets)

    def backward(self):
        """Backpropagate from the last ``loss`` call; fills every layer's ``grads``.

        Returns the gradient with respect to the network's input.
        """
        grad = self.loss_layer.backward(1.0)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def accuracy(self, x, targets):
        """Fraction of rows whose largest logit is the label.

        ``targets`` are integer class indices, one per row of the logits: shape ``(N,)`` for a
        batch, ``()`` for a single vector. Any other shape is an error, not a broadcast (an
        ``(N, 1)`` column against ``(N,)`` predictions would compare every row with every
        label).
        """
        logits = self.predict(x)
        predicted = np.argmax(logits, axis=-1)
        reject_masked(targets, "targets")
        try:
            targets = np.asarray(targets)
        except ValueError as error:  # ragged nested lists
            raise TypeError("targets must be integer class indices, got a ragged sequence") from error
        if targets.shape != predicted.shape:
            raise ValueError(
                f"targets must be class indices of shape {predicted.shape} to match logits of shape "
                f"{logits.shape}, got shape {targets.shape}"
            )
        if targets.dtype.kind not in "iu":
            raise TypeError(f"targets must be integer class indices, got dtype {targets.dtype}")
        n = logits.shape[-1]
        outside = (targets < 0) | (targets >= n)
        if outside.any():
            where = tuple(int(i) for i in np.argwhere(outside)[0]) if targets.ndim else ()
            at = f" at index {where[0] if len(where) == 1 else where}" if targets.ndim else ""
            raise ValueError(f"targets must be integers in [0, {n}), got {int(targets[where])}{at}")
        return float(np.mean(predicted == targets))

    def parameters(self):
        """``(layer, name)`` for every parameter, in layer order."""
        return [(layer, name) for layer in self.layers for name in layer.params]


def sgd_step(network, learning_rate):
    r"""One step of gradient descent on every parameter: :math:`\theta \leftarrow \theta - \eta\,\nabla_\theta E`.

    Uses the gradients left by the last ``network.backward()``; before any backward pass there
    are none, and that is a ``RuntimeError`` (checked for every parameter before any is moved).
    Parameters are updated in place (they belong to the network, not to the caller).
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be an nnmath Network, got {_describe(network)}")
    learning_rate = check_real_parameter(learning_rate, "learning_rate")
    parameters = network.parameters()
    for index, layer in enumerate(network.layers):  # check every gradient before moving anything
        for name, value in layer.params.items():
            grad = layer.grads.get(name)
            if grad is None:
                raise RuntimeError(
                    f"sgd_step needs the gradients of network.backward(), but layer {index} "
                    f"({type(layer).__name__}) has no gradient for {name!r}: call network.loss(x, targets) "
                    "and network.backward() first"
                )
            if np.shape(grad) != value.shape:
                raise ValueError(
                    f"the gradient of layer {index}'s {name!r} must have its shape {value.shape}, "
                    f"got shape {np.shape(grad)}"
                )
    for layer, name in parameters:
        layer.params[name] -= learning_rate * layer.grads[name]


def mlp(sizes, activation, init="he", rng=None, dtype=np.float64):
    """A fully connected network: ``Affine`` layers of the given sizes with ``activation`` between.

    Parameters
    ----------
    sizes : sequence of int
        ``[d_in, hidden_1, ..., hidden_k, n_classes]``, positive integers (not floats or
        strings, which would be truncated or parsed silently).
    activation : callable
        Makes a fresh activation layer when called with no arguments: a layer class such as
        ``nnmath.ReLU``, or a function such as ``lambda: nnmath.LeakyReLU(0.01)``.
    init : {"he", "xavier"} or float
        Weight initialisation (see the module docstring); a number is the standard
        deviation, which must be finite and non-negative.
    rng : numpy.random.Generator
        The source of the initial weights (required, so that results are reproducible).
    dtype : {numpy.float64, numpy.float32}, optional
        The dtype of the weights. With float32 weights and float32 input, every forward
        and backward quantity stays float32.

    Returns
    -------
    Network
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    sizes = _check_sizes(sizes)
    _check_activation(activation)
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be numpy.float32 or numpy.float64, got {np.dtype(dtype)}")
    scales = [_init_scale(init, fan_in, fan_out) for fan_in, fan_out in pairwise(sizes)]  # all checked first
    layers = []
    for i, (fan_in, fan_out) in enumerate(pairwise(sizes)):
        W = rng.normal(0.0, scales[i], size=(fan_in, fan_out)).astype(dtype)  # the same draws in either dtype
        layers.append(Affine(W, np.zeros(fan_out, dtype)))
        if i < len(sizes) - 2:
            layers.append(_new_activation(activation, layers))
    return Network(layers)


def _check_sizes(sizes):
    """``sizes`` as a list of Python ints, all positive, at least two of them."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"sizes must be a sequence of integers, got {_describe(sizes)}")
    sizes = list(sizes)
    for index, size in enumerate(sizes):
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"sizes must be integers, got {_describe(size)} at index {index}")
    sizes = [int(size) for size in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least an input and an output size, all positive, got {sizes}")
    return sizes


def _check_activation(activation):
    """``activation`` must make a layer when called with no arguments: a Layer class or a factory."""
    expected = "a layer class such as nnmath.ReLU, or a function of no arguments returning a new layer"
    if isinstance(activation, Layer):
        raise TypeError(
            f"activation must be {expected}, got a {type(activation).__name__} layer (an instance)"
        )
    if isinstance(activation, type):
        if not issubclass(activation, Layer):
            raise TypeError(f"activation must be {expected}, got the class {activation.__name__}")
        return
    if not callable(activation):
        raise TypeError(f"activation must be {expected}, got {_describe(activation)}")
    try:
        inspect.signature(activation).bind()
    except TypeError:
        name = getattr(activation, "__name__", "")
        raise TypeError(
            f"activation must be {expected}, got {type(activation).__name__} {name}, which needs arguments "
            "(an elementwise function such as nnmath.relu is not a layer)"
        ) from None
    except ValueError:  # no signature to inspect (some builtins): the layer it makes is checked
        pass


def _new_activation(activation, layers):
    """A new activation layer from ``activation``, checked to be one and not one already used."""
    layer = activation()
    if not isinstance(layer, Layer):
        maker = getattr(activation, "__name__", type(activation).__name__)
        raise TypeError(f"activation must return an nnmath layer, got {_describe(layer)} from {maker!r}")
    if any(layer is other for other in layers):
        raise ValueError("activation must return a new layer on every call, got the same layer twice")
    return layer


def _init_scale(init, fan_in, fan_out):
    if init == "he":
        return np.sqrt(2.0 / fan_in)
    if init == "xavier":
        return np.sqrt(2.0 / (fan_in + fan_out))
    if isinstance(init, str):
        # A string is an accepted type, just not this value.
        raise ValueError(f'init must be "he", "xavier" or a standard deviation, got {init!r}')  # noqa: TRY004
    scale = check_real_parameter(init, "init")
    if scale < 0:
        raise ValueError(f"init must be a non-negative standard deviation, got {scale}")
    return scale
