"""Network, mlp and sgd_step: backpropagation through a whole stack against numerical gradients."""

import itertools

import nnmath as nm
import numpy as np
import pytest

ACTIVATIONS = [nm.Sigmoid, nm.Tanh, nm.ReLU, lambda: nm.LeakyReLU(0.05), nm.GELU, nm.SiLU]


def small_problem(seed=7):
    generator = np.random.default_rng(seed)
    return generator.normal(size=(6, 5)), generator.integers(0, 3, size=6)


@pytest.mark.parametrize("activation", ACTIVATIONS, ids=["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "GELU", "SiLU"])
def test_backpropagation_matches_numerical_gradients(activation):
    x, labels = small_problem()
    network = nm.mlp([5, 4, 4, 3], activation, init="xavier", rng=np.random.default_rng(1))
    errors = nm.gradient_errors(network, x, labels)
    assert set(errors) == {"0.W", "0.b", "2.W", "2.b", "4.W", "4.b"}
    assert max(errors.values()) < 1e-6
    dx = network.backward()  # gradient_errors leaves the network as after loss(x, labels)
    numerical_dx = nm.numerical_grad(lambda v: network.loss(v, labels), x)
    assert nm.relative_error(dx, numerical_dx, floor=1e-6) < 1e-6


class _WrongTanh(nm.Tanh):
    """A tanh layer whose backward forgets the 4 in tanh'(x) = 4 sigma'(2x)."""

    _grad = staticmethod(lambda x: nm.sigmoid_grad(2 * x))


def test_gradient_errors_catches_a_wrong_backward_pass():
    x, labels = small_problem()
    network = nm.mlp([5, 4, 3], _WrongTanh, init="xavier", rng=np.random.default_rng(1))
    errors = nm.gradient_errors(network, x, labels)
    assert errors["0.W"] > 0.5 and errors["2.W"] < 1e-6  # only layers below the bad one are wrong


def test_gradient_errors_restores_the_parameters():
    x, labels = small_problem()
    network = nm.mlp([5, 4, 3], nm.ReLU, rng=np.random.default_rng(1))
    before = [layer.params[name].copy() for layer, name in network.parameters()]
    nm.gradient_errors(network, x, labels)
    for (layer, name), original in zip(network.parameters(), before):
        np.testing.assert_array_equal(layer.params[name], original)


def test_sgd_steps_decrease_the_loss_on_a_fixed_batch():
    x, labels = small_problem()
    network = nm.mlp([5, 8, 3], nm.Tanh, init="xavier", rng=np.random.default_rng(2))
    losses = []
    for _ in range(50):
        losses.append(float(network.loss(x, labels)))
        network.backward()
        nm.sgd_step(network, 0.1)
    assert all(later < earlier for earlier, later in itertools.pairwise(losses))
    assert losses[-1] < 0.5 * losses[0]


def test_sgd_step_moves_each_parameter_against_its_gradient():
    """Values written out by hand (dyadic, so exact): theta - 0.5 grad."""
    layer = nm.Affine(np.array([[1.0], [2.0]]), np.array([0.5]))
    network = nm.Network([layer])
    network.loss(np.array([[1.0, -1.0]]), [0])  # a loss and backward pass, as in training
    network.backward()
    layer.grads = {"W": np.array([[0.25], [-1.0]]), "b": np.array([2.0])}  # then gradients set by hand
    nm.sgd_step(network, 0.5)
    assert layer.W.tolist() == [[0.875], [2.5]]
    assert layer.b.tolist() == [-0.5]


@pytest.mark.parametrize(
    "init, fan_in, fan_out, expected_std", [("he", 400, 100, np.sqrt(2 / 400)), ("xavier", 400, 100, np.sqrt(2 / 500)), (0.3, 400, 100, 0.3)]
)
def test_initialisation_scales(init, fan_in, fan_out, expected_std):
    network = nm.mlp([fan_in, fan_out], nm.ReLU, init=init, rng=np.random.default_rng(4))
    weights = network.layers[0].W
    assert weights.shape == (fan_in, fan_out)
    assert abs(weights.std() / expected_std - 1) < 0.02  # 40,000 samples: the std is within ~0.4%
    np.testing.assert_array_equal(network.layers[0].b, np.zeros(fan_out))


def test_mlp_puts_activations_between_affine_layers_only():
    network = nm.mlp([4, 3, 3, 2], nm.Tanh, rng=np.random.default_rng(5))
    assert [type(layer).__name__ for layer in network.layers] == ["Affine", "Tanh", "Affine", "Tanh", "Affine"]


def test_accuracy_counts_correct_argmax():
    network = nm.Network([nm.Affine(np.eye(3), np.zeros(3))])
    x = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0], [5.0, 0.0, 0.0]])
    assert network.accuracy(x, [0, 1, 2, 1]) == 0.75


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: nm.Network([]), TypeError, "non-empty list of nnmath layers"),
        (lambda: nm.mlp([4, 2], nm.ReLU), TypeError, "rng must be a numpy.random.Generator"),
        (lambda: nm.mlp([4], nm.ReLU, rng=np.random.default_rng(0)), ValueError, "sizes must list"),
        (lambda: nm.mlp([4, 2], nm.ReLU, init="lecun", rng=np.random.default_rng(0)), ValueError, "init must be"),
        (lambda: nm.sgd_step(nm.Network([nm.ReLU()]), "fast"), TypeError, "learning_rate"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize(
    ("sizes", "pattern"),
    [
        (3.7, r"^sizes must be a sequence of integers, got float 3.7$"),
        ("23", r"^sizes must be a sequence of integers, got str '23'$"),
        ([4, 3.7, 2], r"^sizes must be integers, got float 3.7 at index 1$"),
        ([4, "23", 2], r"^sizes must be integers, got str '23' at index 1$"),
        ([4, 3.0], r"^sizes must be integers, got float 3.0 at index 1$"),
        ([True, 2], r"^sizes must be integers, got bool True at index 0$"),
    ],
    ids=["float", "str", "float entry", "str entry", "integral float entry", "bool entry"],
)
def test_mlp_sizes_must_be_integers(sizes, pattern):
    """Nothing is truncated (3.7 -> 3) or parsed ("23" -> [2, 3]) silently."""
    with pytest.raises(TypeError, match=pattern):
        nm.mlp(sizes, nm.ReLU, rng=_rng())


def test_mlp_sizes_may_be_numpy_integers():
    network = nm.mlp(np.array([4, 3, 2]), nm.ReLU, rng=_rng())
    assert [layer.W.shape for layer in network.layers[::2]] == [(4, 3), (3, 2)]


@pytest.mark.parametrize("init", [-0.1, -1, -np.inf], ids=["-0.1", "-1", "-inf"])
def test_mlp_init_scale_must_not_be_negative(init):
    with pytest.raises(ValueError, match=r"^init must be (a non-negative standard deviation|finite), got -"):
        nm.mlp([4, 3, 2], nm.ReLU, init=init, rng=_rng())


def test_mlp_init_zero_gives_zero_weights():
    """A standard deviation of 0 is allowed: the all-zero start of the symmetry exercise."""
    network = nm.mlp([4, 3, 2], nm.ReLU, init=0.0, rng=_rng())
    assert all(not layer.W.any() for layer in network.layers[::2])


_SHARED = nm.ReLU()


@pytest.mark.parametrize(
    ("activation", "error", "pattern"),
    [
        (nm.relu, TypeError, r"^activation must be a layer class .*got function relu, which needs arguments"),
        (nm.ReLU(), TypeError, r"^activation must be a layer class .*got a ReLU layer \(an instance\)$"),
        (int, TypeError, r"^activation must be a layer class .*got the class int$"),
        ("relu", TypeError, r"^activation must be a layer class .*got str 'relu'$"),
        (None, TypeError, r"^activation must be a layer class .*got NoneType None$"),
        (lambda: 3, TypeError, r"^activation must return an nnmath layer, got int 3"),
        (lambda: _SHARED, ValueError, r"^activation must return a new layer on every call"),
    ],
    ids=["function", "instance", "other class", "str", "None", "factory of a non-layer", "same layer"],
)
def test_mlp_activation_must_make_layers(activation, error, pattern):
    with pytest.raises(error, match=pattern):
        nm.mlp([4, 3, 3, 2], activation, rng=_rng())


def test_mlp_activation_may_be_a_factory():
    network = nm.mlp([4, 3, 3, 2], lambda: nm.LeakyReLU(0.1), rng=_rng())
    hidden = network.layers[1::2]
    assert [type(layer) for layer in hidden] == [nm.LeakyReLU] * 2 and hidden[0] is not hidden[1]


def test_sgd_step_before_backward_is_a_clear_error():
    network = nm.mlp([4, 3, 2], nm.ReLU, rng=_rng())
    before = [layer.params[name].copy() for layer, name in network.parameters()]
    with pytest.raises(RuntimeError, match=r"^sgd_step needs the gradients of network.backward\(\), but layer 0 \(Affine\) has no gradient for 'W'"):
        nm.sgd_step(network, 0.1)
    for (layer, name), original in zip(network.parameters(), before):
        np.testing.assert_array_equal(layer.params[name], original)  # nothing moved


def test_sgd_step_needs_a_network():
    with pytest.raises(TypeError, match=r"^network must be an nnmath Network, got "):
        nm.sgd_step([nm.ReLU()], 0.1)


@pytest.mark.parametrize(
    ("labels", "error", "pattern"),
    [
        (np.array([[0], [1], [2], [1]]), ValueError, r"^targets must be class indices of shape \(4,\) to match logits of shape \(4, 3\), got shape \(4, 1\)$"),
        ([0, 1, 2], ValueError, r"got shape \(3,\)$"),
        ([0.0, 1.0, 2.0, 1.0], TypeError, r"^targets must be integer class indices, got dtype float64$"),
        ([0, 1, 3, 1], ValueError, r"^targets must be integers in \[0, 3\), got 3 at index 2$"),
    ],
    ids=["column (N, 1)", "too short", "floats", "out of range"],
)
def test_accuracy_rejects_bad_labels(labels, error, pattern):
    """An (N, 1) column broadcast against (N,) predictions compared every row with every label."""
    network = nm.Network([nm.Affine(np.eye(3), np.zeros(3))])
    x = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0], [5.0, 0.0, 0.0]])
    with pytest.raises(error, match=pattern):
        network.accuracy(x, labels)


def test_accuracy_of_a_single_vector():
    network = nm.Network([nm.Affine(np.eye(3), np.zeros(3))])
    assert network.accuracy([0.0, 2.0, 0.0], 1) == 1.0
    assert network.accuracy([0.0, 2.0, 0.0], 0) == 0.0
