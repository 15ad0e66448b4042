"""Tests of nnmath.losses: mse, cross_entropy, softmax_cross_entropy and
binary_cross_entropy_with_logits, with their gradients.

Reference values: exact fractions (``fractions.Fraction``) for the squared error,
mpmath at 50 digits for every logarithm (``nnmath.testing``), the book's worked example
(-ln 0.6, 0.0975), and ``numerical_grad`` of each loss for each gradient. Label forms
(indices, one-hot, soft, not summing to 1), batch shapes and the error messages of the
module docstring are checked for every loss the same way. Overflow: a loss or gradient
that fits in its dtype must be finite although its squares or sums do not fit; infinite
logits give the limits; each element's gradient depends on that element alone.
"""

import math
from dataclasses import dataclass
from fractions import Fraction

import hypothesis.extra.numpy as hnp
import mpmath
import nnmath as nm
import nnmath.testing as nmt
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st


def _exact_mse(y, t):
    """Mean over rows of 1/2 sum (y - t)^2, exactly, for float arrays of one shape."""
    rows = [
        sum((Fraction(float(a)) - Fraction(float(b))) ** 2 for a, b in zip(y_row, t_row, strict=True)) / 2
        for y_row, t_row in zip(
            np.reshape(y, (-1, np.shape(y)[-1])), np.reshape(t, (-1, np.shape(t)[-1])), strict=True
        )
    ]
    return sum(rows) / len(rows)


def _mp_mean_over_rows(per_row, pred, t):
    with mpmath.workdps(nmt.DIGITS):
        rows = [
            per_row(p_row, t_row)
            for p_row, t_row in zip(pred.reshape(-1, pred.shape[-1]), t.reshape(-1, t.shape[-1]), strict=True)
        ]
        return mpmath.fsum(rows) / len(rows)


def _mp_cross_entropy(probs, t):
    def per_row(p_row, t_row):  # 0 log 0 = 0: terms with t = 0 drop out
        return -mpmath.fsum(
            mpmath.mpf(float(tk)) * mpmath.log(float(pk))
            for pk, tk in zip(p_row, t_row, strict=True)
            if tk != 0
        )

    return _mp_mean_over_rows(per_row, probs, t)


def _mp_softmax_cross_entropy(logits, t):
    def per_row(a_row, t_row):
        return -mpmath.fsum(
            mpmath.mpf(float(tk)) * lk for lk, tk in zip(nmt.exact_log_softmax(np.asarray(a_row)), t_row, strict=True)
        )

    return _mp_mean_over_rows(per_row, logits, t)


@dataclass(frozen=True)
class Loss:
    """A loss, its gradient, an independent reference and the names in its messages."""

    loss: object
    grad: object
    reference: object  # reference(pred, labels as a distribution) -> exact value
    pred_name: str
    label_name: str
    low: float  # predictions are drawn from uniform(low, high)
    high: float

    def __str__(self):
        return self.loss.__name__

    def predictions(self, rng, shape):
        return rng.uniform(self.low, self.high, size=shape)


LOSSES = [
    Loss(nm.mse, nm.mse_grad, _exact_mse, "scores", "targets", -3.0, 3.0),
    # Probabilities stay inside (0, 1) by more than any finite-difference step.
    Loss(nm.cross_entropy, nm.cross_entropy_grad, _mp_cross_entropy, "scores", "targets", 0.05, 0.95),
    Loss(
        nm.softmax_cross_entropy,
        nm.softmax_cross_entropy_grad,
        _mp_softmax_cross_entropy,
        "scores",
        "targets",
        -6.0,
        6.0,
    ),
]
BOTH = [(loss, which) for loss in LOSSES for which in ("loss", "grad")]
BOTH_IDS = [f"{loss}{'_grad' if which == 'grad' else ''}" for loss, which in BOTH]


def _call(loss, which, pred, labels):
    return (loss.loss if which == "loss" else loss.grad)(pred, labels)


def _labels(kind, rng, shape):
    """Labels for predictions of ``shape``: ``(labels, the same as a distribution)``."""
    n = shape[-1]
    indices = rng.integers(0, n, size=shape[:-1])
    one_hot = np.eye(n)[indices]
    if kind == "indices":
        return indices, one_hot
    if kind == "one-hot":
        return one_hot, one_hot
    if kind == "one-hot int":
        return one_hot.astype(np.int64), one_hot
    weights = rng.uniform(0.0, 1.0, size=shape)
    if kind == "soft":
        weights /= weights.sum(axis=-1, keepdims=True)
    return weights, weights  # "unnormalised": rows that do not sum to 1


LABEL_KINDS = ["indices", "one-hot", "one-hot int", "soft", "unnormalised"]
SHAPES = [(5,), (3, 5), (2, 3, 4)]


# The book's worked example. --------------------------------------------------------------

WORKED = ["0.1", "0.05", "0.6", "0.0", "0.05", "0.1", "0.0", "0.1", "0.0", "0.0"]


@pytest.mark.parametrize("label", [2, 7])
def test_worked_example(label):
    y = np.array([float(v) for v in WORKED])
    exact_y = [Fraction(v) for v in WORKED]
    exact_mse = sum((v - (k == label)) ** 2 for k, v in enumerate(exact_y)) / 2
    assert exact_mse == {2: Fraction(39, 400), 7: Fraction(239, 400)}[label]
    assert nm.mse(y, label) == pytest.approx(float(exact_mse), rel=1e-15)
    with mpmath.workdps(nmt.DIGITS):
        expected = -mpmath.log(mpmath.mpf(WORKED[label]))  # -ln 0.6, -ln 0.1
    assert nm.cross_entropy(y, label) == pytest.approx(float(expected), rel=1e-15)


# Values and label forms. ----------------------------------------------------------------


CASES = [(loss, kind, shape) for loss in LOSSES for kind in LABEL_KINDS for shape in SHAPES]


@pytest.fixture(params=CASES, ids=[f"{loss}-{kind}-{shape}" for loss, kind, shape in CASES])
def case(request):
    """``(loss, pred, labels, labels as a distribution)`` for every loss, label kind and shape."""
    loss, kind, shape = request.param
    rng = np.random.default_rng(101)
    pred = loss.predictions(rng, shape)
    return (loss, pred, *_labels(kind, rng, shape))


def test_loss_matches_exact_reference(case):
    loss, pred, labels, distribution = case
    result = loss.loss(pred, labels)
    assert result.dtype == np.float64
    assert abs(result - float(loss.reference(pred, distribution))) <= 1e-14 * abs(result)


@pytest.mark.parametrize(
    "one_hot",
    [
        np.eye(5)[[0, 3, 4, 3]],
        np.eye(5, dtype=int)[[0, 3, 4, 3]],
        np.eye(5)[[0, 3, 4, 3]].tolist(),
        np.eye(5, dtype=np.float32)[[0, 3, 4, 3]],
    ],
    ids=["float", "int", "list", "float32"],
)
@pytest.mark.parametrize(("loss", "which"), BOTH, ids=BOTH_IDS)
def test_one_hot_labels_agree_with_indices(loss, which, one_hot):
    pred = loss.predictions(np.random.default_rng(102), (4, 5))
    indices = np.array([0, 3, 4, 3])
    np.testing.assert_allclose(
        _call(loss, which, pred, one_hot), _call(loss, which, pred, indices), rtol=1e-15, atol=0
    )


@pytest.mark.parametrize("kind", ["indices", "soft"])
@pytest.mark.parametrize(("loss", "which"), BOTH, ids=BOTH_IDS)
def test_a_single_vector_is_a_batch_of_one(loss, which, kind):
    rng = np.random.default_rng(103)
    pred = loss.predictions(rng, (6,))
    labels, _ = _labels(kind, rng, (6,))
    single = _call(loss, which, pred, labels)
    batch = _call(loss, which, pred[np.newaxis], np.asarray(labels)[np.newaxis])
    assert np.shape(single) == np.shape(batch)[1:]
    np.testing.assert_allclose(
        single, batch[0] if which == "grad" else batch, rtol=4 * np.finfo(float).eps, atol=0
    )


@pytest.mark.parametrize("kind", ["indices", "soft"])
@pytest.mark.parametrize(("loss", "which"), BOTH, ids=BOTH_IDS)
def test_batch_mean_runs_over_all_leading_axes(loss, which, kind):
    rng = np.random.default_rng(104)
    pred = loss.predictions(rng, (2, 3, 4))
    labels, _ = _labels(kind, rng, (2, 3, 4))
    flat_labels = np.reshape(labels, (6,) + np.shape(labels)[2:])  # (6,) indices or (6, 4) soft
    rows = [_call(loss, which, p, t) for p, t in zip(pred.reshape(6, 4), flat_labels, strict=True)]
    result = _call(loss, which, pred, labels)
    expected = np.mean(rows) if which == "loss" else np.reshape(rows, (2, 3, 4)) / 6
    np.testing.assert_allclose(result, expected, rtol=1e-14, atol=0)


def test_grad_matches_numerical_grad_of_loss(case):
    loss, pred, labels, _ = case
    numerical = nm.numerical_grad(lambda p: loss.loss(p, labels), pred)
    np.testing.assert_allclose(loss.grad(pred, labels), numerical, rtol=1e-7, atol=1e-10)


def test_mse_targets_may_be_any_reals():
    y = np.array([[0.5, -1.0], [2.0, 0.0]])
    t = np.array([[-3.0, 4.0], [0.25, -0.5]])
    assert nm.mse(y, t) == float(_exact_mse(y, t))
    # (y - t) / N as Fractions, written out: [[3.5, -5], [1.75, 0.5]] / 2, exact in binary.
    assert [Fraction(float(v)) for v in nm.mse_grad(y, t).ravel()] == [
        Fraction(7, 4), Fraction(-5, 2), Fraction(7, 8), Fraction(1, 4)
    ]


@pytest.mark.parametrize(
    ("logits", "labels", "expected"),
    [
        ([[0.0, 0.0]], [[1.0, 2.0]], [[0.5, -0.5]]),  # y = (1/2, 1/2), sum t = 3: 3/2 - t
        ([[0.0, 0.0], [5.0, 5.0]], [[1.0, 2.0], [0.0, 0.0]], [[0.25, -0.25], [0.0, 0.0]]),
        ([[0.0, 0.0]], [[0.25, 0.25]], [[0.0, -0.0]]),
    ],
    ids=["sum 3", "batch of two", "sum 1/2"],
)
def test_softmax_cross_entropy_grad_for_labels_not_summing_to_one(logits, labels, expected):
    """(y * sum(t) - t) / N, with y = softmax(logits): exact in binary for these inputs."""
    assert nm.softmax_cross_entropy_grad(logits, labels).tolist() == expected


# Large logits, zero probabilities. -------------------------------------------------------


def test_softmax_cross_entropy_of_a_far_wrong_class_is_exact():
    assert nm.softmax_cross_entropy([[1000.0, 0.0]], [1]) == 1000.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("row", "label"),
    [
        ([1010.0, 1000.0, 990.0], 0),
        ([1010.0, 1000.0, 990.0], 1),
        ([1010.0, 1000.0, 990.0], 2),
        ([1000.0, 0.0, -1000.0], 0),
        ([1000.0, 0.0, -1000.0], 2),
        ([0.0, -30.0], 0),
        ([0.0, -30.0], 1),
        ([-700.0, 700.0], 0),
    ],
    ids=lambda v: ",".join(f"{a:g}" for a in v) if isinstance(v, list) else f"label {v}",
)
def test_softmax_cross_entropy_matches_mpmath_for_large_gaps(row, label, dtype):
    logits = np.array([row], dtype=dtype)
    result = nm.softmax_cross_entropy(logits, [label])
    assert result.dtype == dtype
    nmt.assert_close(
        result, _mp_softmax_cross_entropy(logits, np.eye(len(row))[[label]]), nmt.RTOL[np.dtype(dtype)]
    )


@pytest.mark.parametrize(
    ("probs", "labels", "loss", "grad"),
    [
        ([[0.0, 0.5, 0.5]], [0], np.inf, [[-np.inf, 0.0, 0.0]]),
        ([[0.0, 0.25, 0.75]], [[0.5, 0.0, 0.5]], np.inf, [[-np.inf, 0.0, -2 / 3]]),
        ([[0.0, 1.0], [0.5, 0.5]], [1, 0], math.log(2) / 2, [[0.0, -0.5], [-1.0, 0.0]]),
    ],
    ids=["index", "soft", "zero prob of a zero label"],
)
def test_cross_entropy_with_zero_probabilities(probs, labels, loss, grad):
    """inf where a labelled class has probability 0; grad 0 wherever the label is 0; no warning."""
    assert nm.cross_entropy(probs, labels) == pytest.approx(loss, rel=1e-15)
    assert nm.cross_entropy_grad(probs, labels).tolist() == grad


# Binary cross-entropy with logits. -------------------------------------------------------


def _mp_bce(z, t):
    """-(t log sigma(z) + (1 - t) log(1 - sigma(z))), using 1 - sigma(z) = sigma(-z)."""
    z, t = mpmath.mpf(z), mpmath.mpf(t)
    return -(t * mpmath.log(nmt.DEFINITIONS["sigmoid"](z)) + (1 - t) * mpmath.log(nmt.DEFINITIONS["sigmoid"](-z)))


@pytest.mark.parametrize("t", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("z", [-1000.0, -30.0, -1.0, 0.0, 1.0, 30.0, 1000.0])
def test_binary_cross_entropy_matches_mpmath(z, t):
    with mpmath.workdps(nmt.DIGITS):
        expected_loss = _mp_bce(z, t)
        expected_grad = nmt.DEFINITIONS["sigmoid"](mpmath.mpf(z)) - mpmath.mpf(t)
    nmt.assert_close(nm.binary_cross_entropy_with_logits(z, t), expected_loss, 1e-14)
    # The gradient is a difference of two numbers in [0, 1] (sigmoid(30) - 1 = -9.4e-14 is
    # all rounding of sigmoid(30)), so its error is measured on their scale.
    nmt.assert_close(
        nm.binary_cross_entropy_with_logits_grad(z, t), expected_grad, 1e-14, atol=4 * np.finfo(float).eps
    )


def test_binary_cross_entropy_averages_over_every_element():
    rng = np.random.default_rng(106)
    z = rng.normal(scale=4, size=(2, 3, 4))
    t = rng.uniform(size=(2, 3, 4))
    with mpmath.workdps(nmt.DIGITS):
        expected = (
            mpmath.fsum(_mp_bce(float(a), float(b)) for a, b in zip(z.ravel(), t.ravel(), strict=True))
            / z.size
        )
    nmt.assert_close(nm.binary_cross_entropy_with_logits(z, t), expected, 1e-14)
    numerical = nm.numerical_grad(lambda v: nm.binary_cross_entropy_with_logits(v, t), z)
    np.testing.assert_allclose(
        nm.binary_cross_entropy_with_logits_grad(z, t), numerical, rtol=1e-7, atol=1e-10
    )


# Dtypes and untouched inputs, for all eight functions. -------------------------------------

BCE = [(nm.binary_cross_entropy_with_logits, "loss"), (nm.binary_cross_entropy_with_logits_grad, "grad")]
ALL = [(loss.loss if which == "loss" else loss.grad, which) for loss, which in BOTH] + BCE
ALL_IDS = BOTH_IDS + ["binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_grad"]
# Valid for all eight: probabilities (BCE targets) that are also soft labels.
SOFT_LABELS = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize(("function", "which"), ALL, ids=ALL_IDS)
def test_float_dtype_is_kept(function, which, dtype):
    pred = np.array([[0.25, 0.5, 0.75], [0.5, 0.125, 0.375]], dtype=dtype)  # probabilities: valid everywhere
    result = function(pred, SOFT_LABELS)
    assert result.dtype == dtype
    assert np.shape(result) == (() if which == "loss" else pred.shape)


@pytest.mark.parametrize(("function", "which"), ALL, ids=ALL_IDS)
def test_integer_predictions_become_float64(function, which):
    result = function([[0, 1, 0], [1, 1, 0]], SOFT_LABELS)
    assert result.dtype == np.float64


@pytest.mark.parametrize(
    "labels", [np.array([2, 0]), np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])], ids=["indices", "soft"]
)
@pytest.mark.parametrize(("loss", "which"), BOTH, ids=BOTH_IDS)
def test_inputs_are_not_modified(loss, which, labels):
    pred = loss.predictions(np.random.default_rng(107), (2, 3))
    for array in (pred, labels):
        array.setflags(write=False)
    originals = pred.copy(), labels.copy()
    result = _call(loss, which, pred, labels)
    np.testing.assert_array_equal(pred, originals[0])
    np.testing.assert_array_equal(labels, originals[1])
    assert not np.shares_memory(result, pred)


@pytest.mark.parametrize("function", [function for function, _ in BCE], ids=["loss", "grad"])
def test_binary_cross_entropy_inputs_are_not_modified(function):
    z, t = np.array([-1.0, 0.0, 2.0]), np.array([0.0, 0.5, 1.0])
    for array in (z, t):
        array.setflags(write=False)
    function(z, t)
    assert z.tolist() == [-1.0, 0.0, 2.0]
    assert t.tolist() == [0.0, 0.5, 1.0]


# Bad input. ------------------------------------------------------------------------------


@pytest.mark.parametrize(("loss", "which"), BOTH, ids=BOTH_IDS)
@pytest.mark.parametrize(
    ("labels", "bad", "where"), [([0, 5], 5, " at index 1"), ([-1, 2], -1, " at index 0")]
)
def test_labels_out_of_range(loss, which, labels, bad, where):
    pred = loss.predictions(np.random.default_rng(108), (2, 3))
    message = rf"^{loss.label_name} must be integers in \[0, 3\), got {bad}{where}$"
    with pytest.raises(ValueError, match=message):
        _call(loss, which, pred, labels)


@pytest.mark.parametrize(("loss", "which"), BOTH, ids=BOTH_IDS)
def test_out_of_range_label_of_a_single_vector(loss, which):
    pred = loss.predictions(np.random.default_rng(109), (3,))
    with pytest.raises(ValueError, match=rf"^{loss.label_name} must be integers in \[0, 3\), got 3$"):
        _call(loss, which, pred, 3)


@pytest.mark.parametrize(("loss", "which"), BOTH, ids=BOTH_IDS)
@pytest.mark.parametrize(
    ("labels", "error", "pattern"),
    [
        ([0.0, 1.0], TypeError, r"of shape \(2,\) are class indices and must be integers"),
        ([True, False], TypeError, r"of shape \(2,\) are class indices and must be integers"),
        (np.zeros((2, 2)), ValueError, r"\(2, 3\).*got shape \(2, 2\)"),
        (np.zeros(3), ValueError, r"\(2, 3\).*got shape \(3,\)"),
        ([[0.5, np.nan, 0.5], [1.0, 0.0, 0.0]], ValueError, r"finite, got nan at index \(0, 1\)"),
        ([[0.5, np.inf, 0.5], [1.0, 0.0, 0.0]], ValueError, r"finite, got inf at index \(0, 1\)"),
        ([[1, 2], [3]], TypeError, r"ragged"),
    ],
    ids=[
        "float indices",
        "bool indices",
        "wrong shape",
        "wrong shape 1-d",
        "nan",
        "inf",
        "ragged",
    ],
)
def test_bad_labels(loss, which, labels, error, pattern):
    pred = loss.predictions(np.random.default_rng(110), (2, 3))
    with pytest.raises(error, match=rf"^{loss.label_name} .*{pattern}"):
        _call(loss, which, pred, labels)


PROB_LABELS = [(loss, which) for loss, which in BOTH if loss.loss is not nm.mse]  # mse targets may be < 0


@pytest.mark.parametrize(
    ("loss", "which"), PROB_LABELS, ids=[f"{loss}-{which}" for loss, which in PROB_LABELS]
)
def test_negative_soft_labels_are_rejected(loss, which):
    with pytest.raises(
        ValueError, match=r"^targets must be non-negative and finite, got -0.5 at index \(1, 0\)$"
    ):
        _call(loss, which, np.full((2, 3), 0.5), [[0.5, 0.5, 0.0], [-0.5, 1.0, 0.5]])


@pytest.mark.parametrize("function", [nm.cross_entropy, nm.cross_entropy_grad], ids=["loss", "grad"])
@pytest.mark.parametrize(
    ("probs", "message"),
    [
        ([[0.5, -0.1, 0.6]], r"got -0.1 at index \(0, 1\)"),
        ([0.5, 1.5, 0.0], r"got 1.5 at index 1"),
        ([[0.5, 0.5], [np.nan, 1.0]], r"got nan at index \(1, 0\)"),
    ],
    ids=["negative", "above 1", "nan"],
)
def test_probs_outside_the_unit_interval_are_rejected(function, probs, message):
    labels = np.zeros(np.shape(probs)[:-1], dtype=int)
    with pytest.raises(ValueError, match=rf"^scores must be probabilities in \[0, 1\], {message}$"):
        function(probs, labels)


@pytest.mark.parametrize(("loss", "which"), BOTH, ids=BOTH_IDS)
@pytest.mark.parametrize(
    ("pred", "labels", "error"),
    [
        (np.zeros((0, 3)), np.zeros(0, dtype=int), ValueError),
        (np.zeros((2, 0)), np.zeros(2, dtype=int), ValueError),
        (np.float64(0.5), np.int64(0), ValueError),
    ],
    ids=["empty batch", "no classes", "scalar"],  # non-real scores: the routing test in test_checks.py
)
def test_bad_predictions_name_the_argument(loss, which, pred, labels, error):
    with pytest.raises(error, match=rf"^{loss.pred_name} must"):
        _call(loss, which, pred, labels)


@pytest.mark.parametrize("function", [function for function, _ in BCE], ids=["loss", "grad"])
@pytest.mark.parametrize(
    ("logits", "targets", "error", "pattern"),
    [
        ([0.0, 1.0], [0.5, 1.5], ValueError, r"^targets must lie in \[0, 1\], got 1.5 at index 1$"),
        ([0.0, 1.0], [-0.5, 0.5], ValueError, r"^targets must lie in \[0, 1\], got -0.5 at index 0$"),
        ([0.0, 1.0], [np.nan, 0.5], ValueError, r"^targets must lie in \[0, 1\], got nan at index 0$"),
        ([0.0, 1.0], [0.5], ValueError, r"^targets must have the shape of scores \(2,\), got shape \(1,\)$"),
        (np.zeros((0,)), np.zeros((0,)), ValueError, r"^scores must hold at least one element"),
    ],
    ids=["above 1", "negative", "nan", "shape", "empty"],  # non-real input: test_checks.py
)
def test_binary_cross_entropy_bad_input(function, logits, targets, error, pattern):
    with pytest.raises(error, match=pattern):
        function(logits, targets)


# Overflow where the answer fits. ---------------------------------------------------------


def _exact_mse_grad(y, t):
    """(y - t) / N exactly, as Fractions, for float arrays of one shape (N rows)."""
    rows = np.size(y) // np.shape(y)[-1]
    return [(Fraction(float(a)) - Fraction(float(b))) / rows for a, b in zip(np.ravel(y), np.ravel(t), strict=True)]


def _rounded(value, dtype):
    """An exact value (Fraction or mpf) rounded to ``dtype`` through float64 (inf beyond its range)."""
    with np.errstate(over="ignore"):
        return dtype(float(value))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize(
    ("y", "t"),
    [
        ([[1.2]], [[0.0]]),  # one error above sqrt(max): its square overflows, half of it fits
        ([[0.9], [1.1]], [[0.0], [0.0]]),  # two rows whose squares overflow and sum to more than max
        ([[0.7, 0.0], [0.0, -0.7]], [[-0.5, 0.0], [0.0, 0.6]]),  # the difference itself is beyond sqrt(max)
    ],
    ids=["one error", "two rows", "differences"],
)
def test_mse_is_finite_where_the_loss_fits(y, t, dtype):
    """In units of sqrt(max): float16 errors above 256, float64 errors above 1.3e154."""
    root = np.sqrt(float(np.finfo(dtype).max))
    y, t = (np.array(v, dtype=np.float64) * root for v in (y, t))
    y, t = y.astype(dtype), t.astype(dtype)
    expected = _exact_mse(y, t)
    assert expected <= float(np.finfo(dtype).max)  # the loss fits
    result = nm.mse(y, t)
    assert result.dtype == dtype
    assert np.isfinite(result)
    assert abs(Fraction(float(result)) - expected) <= 4 * float(np.finfo(dtype).eps) * expected


def test_mse_of_the_reported_cases():
    assert nm.mse([1.5e154], [0.0]) == pytest.approx(float(Fraction(1.5e154) ** 2 / 2), rel=1e-15)
    assert nm.mse(np.array([300.0], dtype=np.float16), [0.0]) == _rounded(Fraction(45000), np.float16)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_mse_grad_is_finite_where_the_gradient_fits(dtype):
    big = float(np.finfo(dtype).max) * 0.75
    y = np.array([[big, 1.0], [0.5, -big]], dtype=dtype)  # y - t overflows in two entries; / N = 2 fits
    t = np.array([[-big, 0.0], [0.0, big]], dtype=dtype)
    result = nm.mse_grad(y, t)
    assert result.dtype == dtype
    expected = [_rounded(v, dtype) for v in _exact_mse_grad(y, t)]
    assert result.ravel().tolist() == expected
    # The other entries are the plain (y - t) / N, bit for bit: the overflow next to them changes nothing.
    assert result[0, 1] == nm.mse_grad(np.array([[0.0, 1.0], [0.5, 0.0]], dtype=dtype), np.zeros((2, 2), dtype))[0, 1]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_mse_beyond_the_range_is_inf_without_a_warning(dtype):
    big = np.array([float(np.finfo(dtype).max)], dtype=dtype)
    assert nm.mse(big, -big) == np.inf  # 2 max**2: the true loss does not fit
    assert nm.mse_grad(big, -big).tolist() == [np.inf]  # N = 1: 2 max does not fit


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_binary_cross_entropy_mean_is_finite_where_it_fits(dtype):
    """Each loss is about max; their sum overflows when summed in the input's dtype, their mean fits."""
    big = float(np.finfo(dtype).max) * 0.9
    z = np.array([big, big, -big, 1.0], dtype=dtype)
    t = np.array([0.0, 0.0, 1.0, 1.0])
    result = nm.binary_cross_entropy_with_logits(z, t)
    assert result.dtype == dtype
    with mpmath.workdps(nmt.DIGITS):
        expected = mpmath.fsum(_mp_bce(float(a), float(b)) for a, b in zip(z, t, strict=True)) / 4
    assert np.isfinite(result)
    nmt.assert_close(result, expected, 4 * float(np.finfo(dtype).eps))


# Each element's gradient on its own. ---------------------------------------------------


def _bce_values(dtype):
    finfo = np.finfo(dtype)
    ordinary = [-2.5, -0.7, -0.0, 0.0, 0.3, 1.0, 3.0]
    extreme = [-800.0, -1000.0, 1000.0, -100.0, -20.0, float(finfo.max), -float(finfo.max), np.inf, -np.inf]
    return [dtype(v) for v in ordinary + extreme]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_binary_cross_entropy_grad_of_each_element_depends_on_it_alone(dtype):
    """grad(z, t)[i] is the same, bit for bit, when every other logit is replaced by 0.

    (The gradient divides by the number M of elements, so the comparison keeps M.)
    """
    @given(
        st.integers(1, 10).flatmap(
            lambda n: st.tuples(
                hnp.arrays(dtype, n, elements=st.sampled_from(_bce_values(dtype))),
                hnp.arrays(np.float64, n, elements=st.sampled_from([0.0, 0.3, 1.0])),
            )
        )
    )
    def check(arrays):
        z, t = arrays
        result = nm.binary_cross_entropy_with_logits_grad(z, t)
        for i in range(z.size):
            alone = np.zeros_like(z)
            alone[i] = z[i]
            assert nmt.bits(result[i]) == nmt.bits(nm.binary_cross_entropy_with_logits_grad(alone, t)[i])

    check()


def test_binary_cross_entropy_grad_with_an_overflowing_neighbour():
    grad = nm.binary_cross_entropy_with_logits_grad
    assert nmt.bits(grad([-2.5, -800.0], [0.2, 0.5])[0]) == nmt.bits(grad([-2.5, 0.0], [0.2, 0.5])[0])


# Limits at infinite logits. --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize(
    ("z", "t", "loss", "grad"),
    [
        (np.inf, 1.0, 0.0, 0.0),  # certain and right
        (-np.inf, 0.0, 0.0, 0.0),
        (np.inf, 0.0, np.inf, 1.0),  # certain and wrong
        (-np.inf, 1.0, np.inf, -1.0),
        (np.inf, 0.25, np.inf, 0.75),  # sigma - t = 1 - t
        (-np.inf, 0.25, np.inf, -0.25),  # sigma - t = -t
    ],
)
def test_binary_cross_entropy_at_infinite_logits(z, t, loss, grad, dtype):
    """The limits, not inf * 0 = nan, and no warning (filterwarnings=error); also among finite logits."""
    logits = np.array([z], dtype=dtype)
    assert nm.binary_cross_entropy_with_logits(logits, [t]) == dtype(loss)
    assert nm.binary_cross_entropy_with_logits_grad(logits, [t]).tolist() == [dtype(grad)]
    both = np.array([z, 0.0], dtype=dtype)
    mixed = nm.binary_cross_entropy_with_logits(both, [t, 0.5])
    expected = (loss + math.log(2)) / 2
    assert mixed == (dtype(expected) if np.isinf(expected) else pytest.approx(expected, rel=float(np.finfo(dtype).eps)))
    assert nm.binary_cross_entropy_with_logits_grad(both, [t, 0.5]).tolist() == [dtype(grad / 2), 0.0]


# Masked and non-real arrays: test_checks.py checks, once per loss and argument, that each
# array reaches the shared checker under its name.


# Results that are representable, without warnings (filterwarnings=error). -----------------


def test_cross_entropy_grad_at_a_negative_zero_and_a_tiny_probability_is_minus_infinity():
    # -t/(N y): y = -0.0 is the probability 0 (the gradient is -inf, not +inf), and
    # 0.5/1e-320 = 5e319 lies beyond float64 (-inf, without an overflow warning).
    grad = nm.cross_entropy_grad(np.array([-0.0, 1e-320, 1.0]), np.array([0.25, 0.25, 0.5]))
    assert grad.tolist() == [-np.inf, -np.inf, -0.5]


def test_huge_soft_labels_give_the_finite_loss_and_gradient():
    scores, targets = np.array([[0.0, 1.0]]), np.array([[1e308, 1e308]])
    with mpmath.workdps(40):
        y0 = 1 / (1 + mpmath.e)  # softmax(0, 1)_0
        t = mpmath.mpf(1e308)
        loss = t * -mpmath.log(y0) + t * -mpmath.log(1 - y0)
        grad = [y0 * 2 * t - t, (1 - y0) * 2 * t - t]
    for got_loss, got_grad in [
        (nm.softmax_cross_entropy(scores, targets), nm.softmax_cross_entropy_grad(scores, targets)),
        nm.softmax_cross_entropy_with_grad(scores, targets),
    ]:
        nmt.assert_ulp_within(np.array(got_loss), np.array(loss, dtype=object), 4)
        nmt.assert_ulp_within(got_grad[0], np.array(grad, dtype=object), 4)


def test_results_beyond_the_dtype_are_infinite_without_a_warning():
    assert nm.log_softmax(np.float16([60000, -60000])).tolist() == [0.0, -np.inf]
    assert nm.softmax_cross_entropy(np.float32([[3e38, -3e38]]), [1]) == np.float32(np.inf)
    # float64 targets of 1e300 are finite (no "got inf"): the loss is beyond float32, so inf.
    scores, targets = np.float32([[1.0, 2.0]]), np.array([[1e300, 0.0]])
    assert nm.softmax_cross_entropy(scores, targets) == np.float32(np.inf)
    assert nm.softmax_cross_entropy_grad(scores, targets).tolist() == [[-np.inf, np.inf]]
