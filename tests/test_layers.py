"""Layers: every backward pass against a numerical derivative of its own forward pass.

The reference is ``numerical_grad`` of ``sum(dout * forward(x))``, whose gradient is exactly what
``backward(dout)`` must return, so each check is independent of the analytic formulas. Also:
``dout`` scaling, single vectors as batches of one, inputs left unmodified, the kink convention
shared with the functions, dtypes, and errors.
"""

import mpmath
import nnmath as nm
import nnmath.testing as nmt
import numpy as np
import pytest

RNG_SEED = 20261126
TOLERANCE = 1e-7  # relative, float64 central differences on O(1) values


def rng():
    return np.random.default_rng(RNG_SEED)


# Each layer and the exact derivative of its function (mpmath, nnmath.testing.DEFINITIONS),
# never the library function the layer calls.
ACTIVATION_LAYERS = [
    pytest.param(nm.Sigmoid, nmt.exact_sigmoid_grad, id="Sigmoid"),
    pytest.param(nm.Tanh, nmt.exact_tanh_grad, id="Tanh"),
    pytest.param(nm.ReLU, nmt.exact_relu_grad, id="ReLU"),
    pytest.param(lambda: nm.LeakyReLU(0.1), lambda x: nmt.exact_leaky_relu_grad(x, alpha=0.1), id="LeakyReLU"),
    pytest.param(lambda: nm.ELU(0.5), lambda x: nmt.exact_elu_grad(x, alpha=0.5), id="ELU"),
    pytest.param(nm.Softplus, nmt.exact_softplus_grad, id="Softplus"),
    pytest.param(nm.GELU, nmt.exact_gelu_grad, id="GELU"),
    pytest.param(nm.SiLU, nmt.exact_silu_grad, id="SiLU"),
]
# At the kink the references give the book's subgradients, written out here by hand:
# relu'(0) = 0, leaky_relu'(0) = alpha, elu'(0) = alpha.
KINK = {"ReLU": 0.0, "LeakyReLU": 0.1, "ELU": 0.5}


def backward_reference(forward, x, dout):
    """d/dx of sum(dout * forward(x)), by central differences."""
    return nm.numerical_grad(lambda v: float(np.sum(dout * forward(v))), x)


@pytest.mark.parametrize("make_layer, grad", ACTIVATION_LAYERS)
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 4)])
def test_activation_backward_matches_numerical(make_layer, grad, shape):
    generator = rng()
    x = generator.normal(scale=2.0, size=shape)
    x[np.abs(x) < 1e-3] = 0.5  # keep central differences away from the ReLU kink
    dout = generator.normal(size=shape)
    layer = make_layer()
    layer.forward(x)
    dx = layer.backward(dout)
    expected = backward_reference(lambda v: make_layer().forward(v), x, dout)
    assert nm.relative_error(dx, expected, floor=1e-8) < TOLERANCE


@pytest.mark.parametrize("make_layer, grad", ACTIVATION_LAYERS)
def test_activation_layer_backward_at_the_kink_is_the_exact_derivative(request, make_layer, grad):
    x = np.array([-1.0, 0.0, 1.0])
    layer = make_layer()
    layer.forward(x)
    dx = layer.backward(np.ones(3))
    nmt.assert_close(dx, grad(x), nmt.RTOL[np.dtype(np.float64)])
    name = request.node.callspec.id
    if name in KINK:  # the one convention for the kink, the same as the functions'
        assert dx[1] == KINK[name]


@pytest.mark.parametrize("make_layer, grad", ACTIVATION_LAYERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_layer_keeps_dtype(make_layer, grad, dtype):
    x = np.linspace(-2, 2, 5).astype(dtype)
    layer = make_layer()
    assert layer.forward(x).dtype == dtype
    assert layer.backward(np.ones(5, dtype)).dtype == dtype


def test_affine_forward_is_matrix_product():
    W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    b = np.array([0.5, -0.5])
    x = np.array([[1.0, 0.0, -1.0]])
    np.testing.assert_array_equal(nm.Affine(W, b).forward(x), [[1.0 - 5.0 + 0.5, 2.0 - 6.0 - 0.5]])


@pytest.mark.parametrize("batch_shape", [(), (6,)], ids=["vector", "batch"])
def test_affine_backward_matches_numerical(batch_shape):
    generator = rng()
    W, b = generator.normal(size=(4, 3)), generator.normal(size=3)
    x = generator.normal(size=batch_shape + (4,))
    dout = generator.normal(size=batch_shape + (3,))
    layer = nm.Affine(W, b)
    layer.forward(x)
    dx = layer.backward(dout)

    def scalar(x_=x, W_=W, b_=b):
        return float(np.sum(dout * nm.Affine(W_, b_).forward(x_)))

    assert dx.shape == x.shape
    assert nm.relative_error(dx, nm.numerical_grad(lambda v: scalar(x_=v), x)) < TOLERANCE
    assert nm.relative_error(layer.grads["W"], nm.numerical_grad(lambda v: scalar(W_=v), W)) < TOLERANCE
    assert nm.relative_error(layer.grads["b"], nm.numerical_grad(lambda v: scalar(b_=v), b)) < TOLERANCE


def test_affine_vector_is_a_batch_of_one():
    generator = rng()
    W, b, x = generator.normal(size=(4, 3)), generator.normal(size=3), generator.normal(size=4)
    dout = generator.normal(size=3)
    single, batch = nm.Affine(W, b), nm.Affine(W, b)
    np.testing.assert_allclose(single.forward(x), batch.forward(x[None, :])[0], rtol=0, atol=0)
    np.testing.assert_allclose(single.backward(dout), batch.backward(dout[None, :])[0], rtol=0, atol=0)
    for name in ("W", "b"):
        np.testing.assert_allclose(single.grads[name], batch.grads[name], rtol=0, atol=0)


def test_affine_copies_parameters_and_input():
    W, b, x = np.ones((2, 2)), np.zeros(2), np.array([[1.0, 2.0]])
    layer = nm.Affine(W, b)
    W[0, 0] = 100.0  # editing the caller's arrays afterwards must not change the layer
    layer.forward(x)
    x[0, 0] = 100.0
    layer.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(layer.W, np.ones((2, 2)))
    np.testing.assert_array_equal(layer.grads["W"], [[1.0, 1.0], [2.0, 2.0]])


def softmax_with_loss_reference(logits, labels, dout):
    return nm.numerical_grad(lambda v: dout * float(nm.softmax_cross_entropy(v, labels)), logits)


LABEL_CASES = {
    "indices": lambda n_rows, n: np.arange(n_rows) % n,
    "one-hot": lambda n_rows, n: np.eye(n)[np.arange(n_rows) % n],
    "soft": lambda n_rows, n: np.full((n_rows, n), 1.0 / n),
    "not summing to 1": lambda n_rows, n: np.full((n_rows, n), 0.5),
}


@pytest.mark.parametrize("labels_kind", LABEL_CASES)
@pytest.mark.parametrize("dout", [1.0, 2.5, -0.3])
def test_softmax_with_loss_backward_matches_numerical(labels_kind, dout):
    logits = rng().normal(scale=3.0, size=(5, 4))
    labels = LABEL_CASES[labels_kind](5, 4)
    layer = nm.SoftmaxWithLoss()
    loss = layer.forward(logits, labels)
    exact = nmt.exact_softmax_cross_entropy_rows(logits, labels)
    nmt.assert_close(np.array(loss), np.array(sum(exact) / len(exact), dtype=object), nmt.RTOL[np.dtype(np.float64)])
    got = layer.backward(dout)
    # Entries near 1e-5 are resolved by central differences only to ~1e-10 absolute: floor 1e-3.
    assert nm.relative_error(got, softmax_with_loss_reference(logits, labels, dout), floor=1e-3) < TOLERANCE


def test_softmax_with_loss_gradient_is_y_minus_t_over_n_for_one_hot():
    logits = rng().normal(size=(3, 4))
    labels = np.eye(4)[[0, 3, 1]]
    layer = nm.SoftmaxWithLoss()
    layer.forward(logits, labels)
    exp = np.exp(logits)
    y = exp / exp.sum(axis=1, keepdims=True)  # an independent softmax
    np.testing.assert_allclose(layer.backward(), (y - labels) / 3, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(layer.probs, y, rtol=1e-14)


def test_softmax_with_loss_single_vector_is_a_batch_of_one():
    logits = np.array([0.3, 2.9, 4.0])
    single, batch = nm.SoftmaxWithLoss(), nm.SoftmaxWithLoss()
    assert single.forward(logits, 2) == batch.forward(logits[None, :], [2])
    np.testing.assert_array_equal(single.backward(), batch.backward()[0])


@pytest.mark.parametrize(
    "make_layer, args",
    [
        (lambda: nm.Affine(np.ones((3, 2)), np.zeros(2)), (np.ones((4, 3)),)),
        (nm.Sigmoid, (np.ones((4, 3)),)),
        (nm.ReLU, (np.ones((4, 3)),)),
        (nm.SoftmaxWithLoss, (np.ones((4, 3)), np.zeros(4, dtype=int))),
    ],
)
def test_inputs_are_never_modified(make_layer, args):
    frozen = [np.array(a) for a in args]
    for a in frozen:
        a.setflags(write=False)
    layer = make_layer()
    out = layer.forward(*frozen)
    dout = np.ones_like(out) if np.ndim(out) else 1.0
    dout = np.array(dout)
    dout.setflags(write=False)
    layer.backward(dout)
    for original, after in zip(args, frozen):
        np.testing.assert_array_equal(original, after)


@pytest.mark.parametrize("make_layer", [nm.Sigmoid, nm.ReLU, lambda: nm.Affine(np.ones((2, 2)), np.zeros(2))])
def test_backward_before_forward_is_an_error(make_layer):
    with pytest.raises(RuntimeError, match="before forward"):
        make_layer().backward(np.ones(2))


def test_softmax_with_loss_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="before forward"):
        nm.SoftmaxWithLoss().backward()


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: nm.Affine(np.ones(3), np.zeros(3)), ValueError, "W must be a 2-D"),
        (lambda: nm.Affine(np.ones((3, 2)), np.zeros(3)), ValueError, r"b must have shape \(2,\)"),
        (lambda: nm.Affine(np.ones((3, 2)), np.zeros(2)).forward(np.ones(4)), ValueError, r"x must have shape \(3,\)"),
        (lambda: nm.LeakyReLU("a"), TypeError, "alpha"),
        (lambda: nm.ReLU().forward("text"), TypeError, "x must be an array of real numbers"),
    ],
)
def test_bad_construction_and_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_dout_of_the_wrong_shape_is_an_error():
    layer = nm.Sigmoid()
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dout must have the shape of Sigmoid's output \(2, 3\)"):
        layer.backward(np.ones(3))
    loss_layer = nm.SoftmaxWithLoss()
    loss_layer.forward(np.ones((2, 3)), [0, 1])
    with pytest.raises(ValueError, match="dout must be a scalar"):
        loss_layer.backward(np.ones(2))


@pytest.mark.parametrize("make_layer, grad", ACTIVATION_LAYERS)
def test_activation_backward_uses_the_input_of_forward_not_a_later_edit(make_layer, grad):
    x = np.array([-1.5, 0.5, 2.0])
    layer = make_layer()
    layer.forward(x)
    x[:] = 7.0  # the caller reuses its buffer before backward
    nmt.assert_close(layer.backward(np.ones(3)), grad(np.array([-1.5, 0.5, 2.0])), nmt.RTOL[np.dtype(np.float64)])


# The loss that ends a network. -------------------------------------------------------------


def test_softmax_with_loss_is_a_loss_called_with_scores_and_targets():
    scores, targets = rng().normal(size=(4, 3)), np.array([0, 2, 1, 1])
    loss = nm.SoftmaxWithLoss()
    assert isinstance(loss, nm.Loss) and not isinstance(loss, nm.Layer)
    exact = nmt.exact_softmax_cross_entropy_rows(scores, targets)
    nmt.assert_close(
        np.array(loss(scores, targets)), np.array(sum(exact) / len(exact), dtype=object), nmt.RTOL[np.dtype(np.float64)]
    )
    with pytest.raises(TypeError, match="must not include a loss"):
        nm.Network([nm.Affine(np.ones((3, 3)), np.zeros(3)), nm.SoftmaxWithLoss()])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_with_loss_backward_is_the_stored_gradient_and_probs_the_softmax(dtype):
    scores = (rng().normal(scale=4.0, size=(6, 5))).astype(dtype)
    targets = np.array([0, 4, 1, 1, 3, 2])
    layer = nm.SoftmaxWithLoss()
    loss = layer.forward(scores, targets)
    assert loss.dtype == dtype
    # The loss, the gradient (scaled by dout) and probs, each against mpmath.
    rtol = nmt.RTOL[np.dtype(dtype)]
    exact = nmt.exact_softmax_cross_entropy_rows(scores, targets)
    nmt.assert_close(np.array(loss), np.array(sum(exact) / len(exact), dtype=object), rtol)
    grad = layer.backward(np.float64(2.5))
    assert grad.dtype == dtype  # a float64 dout does not promote a float32 chain
    exact_grad = nmt.exact_softmax_cross_entropy_grad_rows(scores, targets) * mpmath.mpf(2.5) / len(targets)
    nmt.assert_close(grad, exact_grad, rtol)
    nmt.assert_close(layer.probs, nmt.exact_softmax(scores), rtol)


def test_softmax_with_loss_probs_once_read_do_not_change_with_the_scores():
    scores = np.array([[1.0, 2.0, 3.0]])
    layer = nm.SoftmaxWithLoss()
    layer.forward(scores, [2])
    probs = layer.probs
    nmt.assert_close(probs, nmt.exact_softmax(np.array([[1.0, 2.0, 3.0]])), nmt.RTOL[np.dtype(np.float64)])
    scores[:] = 0.0  # the caller reuses its buffer after reading probs (softmax(0, 0, 0) = 1/3 each)
    assert layer.probs is probs
    nmt.assert_close(layer.probs, nmt.exact_softmax(np.array([[1.0, 2.0, 3.0]])), nmt.RTOL[np.dtype(np.float64)])
    assert nm.SoftmaxWithLoss().probs is None


def test_a_float32_network_stays_float32_end_to_end():
    network = nm.mlp([5, 4, 3], nm.Tanh, rng=rng(), dtype=np.float32)
    x = rng().normal(size=(8, 5)).astype(np.float32)
    loss = network.loss(x, rng().integers(0, 3, size=8))
    dx = network.backward()
    assert loss.dtype == np.float32 and dx.dtype == np.float32
    assert all(layer.grads[name].dtype == np.float32 for layer, name in network.parameters())
    # The same draws as the float64 network, rounded: its loss agrees to float32 precision.
    wide = nm.mlp([5, 4, 3], nm.Tanh, rng=rng())
    assert abs(float(loss) - float(wide.loss(x.astype(np.float64), rng().integers(0, 3, size=8)))) < 1e-5
    with pytest.raises(TypeError, match="dtype must be numpy.float32 or numpy.float64, got float16"):
        nm.mlp([5, 4, 3], nm.Tanh, rng=rng(), dtype=np.float16)


def test_softmax_with_loss_backward_of_one_returns_the_stored_gradient_read_only():
    scores, targets = rng().normal(size=(4, 3)), np.array([0, 2, 1, 1])
    layer = nm.SoftmaxWithLoss()
    layer.forward(scores, targets)
    grad = layer.backward()
    exact = nmt.exact_softmax_cross_entropy_grad_rows(scores, targets) / len(targets)
    nmt.assert_close(grad, exact, nmt.RTOL[np.dtype(np.float64)])
    first = grad.copy()
    with pytest.raises(ValueError, match="read-only"):
        grad[0, 0] = 1.0  # the layer's own array: nobody can corrupt a second backward
    np.testing.assert_array_equal(nmt.bits(layer.backward()), nmt.bits(first))
