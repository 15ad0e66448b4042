"""nnmath: the small, exact NumPy library behind the book.

Activations (elementwise, any shape) come in pairs ``f`` / ``f_grad``; softmax and its
relatives work along an axis; losses average over the batch and come with their gradients;
``numerical_grad`` checks every analytic gradient; ``Derivation`` checks every step of a
symbolic derivation. Float dtypes are kept, integers become float64, inputs are never
modified, and bad input raises a ``TypeError`` or ``ValueError`` that names the argument.
As with NumPy's ufuncs, a 0-d input (a Python or NumPy scalar, or a 0-d array) gives a NumPy
scalar, and so does a reduction to no axes (``logsumexp`` of a vector, every loss).
"""

from .gradcheck import RELATIVE_STEP, gradient_errors, numerical_grad, relative_error
from .layers import (
    ELU,
    GELU,
    Affine,
    Layer,
    LeakyReLU,
    Loss,
    ReLU,
    Sigmoid,
    SiLU,
    SoftmaxWithLoss,
    Softplus,
    Tanh,
)
from .losses import (
    binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_grad,
    cross_entropy,
    cross_entropy_grad,
    mse,
    mse_grad,
    softmax_cross_entropy,
    softmax_cross_entropy_grad,
    softmax_cross_entropy_with_grad,
)
from .network import Network, mlp, sgd_step
from .relu import elu, elu_grad, leaky_relu, leaky_relu_grad, relu, relu_grad
from .sigmoid import sigmoid, sigmoid_grad
from .smooth_relu import gelu, gelu_grad, silu, silu_grad, softplus, softplus_grad
from .softmax import hardmax, log_softmax, logsumexp, softmax, softmax_jacobian
from .tanh import tanh, tanh_grad

__version__ = "1.0.0"

# The derivation checker needs SymPy, which takes longer to import than the rest together:
# it is loaded on first use of one of its names, so that ``import nnmath`` stays quick.
_LAZY = {"Derivation", "DerivationError", "verify_equal"}


def __getattr__(name):
    if name in _LAZY:
        from . import derivation

        return getattr(derivation, name)
    raise AttributeError(f"module 'nnmath' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY)

__all__ = [
    "ELU",
    "GELU",
    "RELATIVE_STEP",
    "Affine",
    "Derivation",
    "DerivationError",
    "Layer",
    "LeakyReLU",
    "Loss",
    "Network",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "SoftmaxWithLoss",
    "Softplus",
    "Tanh",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_grad",
    "cross_entropy",
    "cross_entropy_grad",
    "elu",
    "elu_grad",
    "gelu",
    "gelu_grad",
    "gradient_errors",
    "hardmax",
    "leaky_relu",
    "leaky_relu_grad",
    "log_softmax",
    "logsumexp",
    "mlp",
    "mse",
    "mse_grad",
    "numerical_grad",
    "relative_error",
    "relu",
    "relu_grad",
    "sgd_step",
    "sigmoid",
    "sigmoid_grad",
    "silu",
    "silu_grad",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_grad",
    "softmax_cross_entropy_with_grad",
    "softmax_jacobian",
    "softplus",
    "softplus_grad",
    "tanh",
    "tanh_grad",
    "verify_equal",
]
