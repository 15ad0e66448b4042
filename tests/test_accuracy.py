"""Accuracy in ulps against mpmath at 50 digits, on a fixed grid of hard inputs.

The grid (``nnmath.testing.accuracy_grid``) holds |x| up to 1e300 (float64) and the float32
overflow point, rows whose entries differ by hundreds to thousands, rows of equal values and
results in the subnormal range. The targets, from the issue "Numerical quality and speed":

* at most 4 ulp in float64 and 6 in float32 (NumPy's own tests allow its float32 ``exp``
  3 ulp from the correctly rounded result, so 3.5 from the exact value, on any kernel) for sigmoid, sigmoid_grad, softmax, log_softmax, logsumexp,
  softmax_cross_entropy and its gradient (hard and soft labels),
  binary_cross_entropy_with_logits and its gradient;
* at most 2.5 ulp for tanh, which is NumPy's: NumPy's own tests allow 2 ulp from the
  correctly rounded result (``umath-validation-set-tanh.csv``), and the SSE baseline kernel
  (glibc's tanh) reaches 1.6 ulp of the exact value in float64;
* no NaN or inf where the exact result is finite (an error of ``inf``).

Two yardsticks are not the result's own ulp, and say so where they are used: a difference
that can cancel (a soft-label gradient y_k T - t_k, the binary gradient sigma(z) - t for a soft
target) is measured in ulps of the size of its terms, and logsumexp in ulps of
max(|LSE|, |max a|), because LSE = max + log(sum of e^(a - max)) cancels near 0 for a negative
max: there half an ulp in any exponential already shows up multiplied by |max| / |LSE|.

The exact values come from ``nnmath.testing``; the first tests check those references against
the plain definitions at 100 digits and against values written out by hand.
The grid and its references are computed once per dtype.
"""

import functools

import mpmath
import nnmath as nm
import nnmath.testing as nmt
import numpy as np
import pytest

DTYPES = [np.float64, np.float32]
LIMIT = {np.float64: 4.0, np.float32: 6.0}
TANH_LIMIT = 2.5


def _ids(dtype):
    return np.dtype(dtype).name


@functools.cache
def grid(dtype):
    """The grid of ``dtype`` with the exact value of every function on it."""
    g = nmt.accuracy_grid(dtype)
    x, t = g["x"], g["targets"]
    g["exact"] = {
        "sigmoid": nmt.exact_sigmoid(x),
        "sigmoid_grad": nmt.exact_sigmoid_grad(x),
        "tanh": nmt.exact_tanh(x),
        "bce": nmt.exact_binary_cross_entropy(x, t),
        "bce_grad": nmt.exact_binary_cross_entropy_grad(x, t),
    }
    g["row_exact"] = [
        {
            "softmax": nmt.exact_softmax(rows),
            "log_softmax": nmt.exact_log_softmax(rows),
            "logsumexp": nmt.exact_logsumexp(rows),
            "ce_hard": nmt.exact_softmax_cross_entropy_rows(rows, labels),
            "ce_soft": nmt.exact_softmax_cross_entropy_rows(rows, soft),
            "ce_grad_hard": nmt.exact_softmax_cross_entropy_grad_rows(rows, labels),
            "ce_grad_soft": nmt.exact_softmax_cross_entropy_grad_rows(rows, soft),
        }
        for rows, labels, soft in zip(g["rows"], g["labels"], g["soft_labels"])
    ]
    return g


def _mp(value):
    return mpmath.mpf(float(value))


def assert_within(errors, limit, inputs, what):
    """All errors <= limit; otherwise name the worst input."""
    errors = np.asarray(errors)
    worst = np.unravel_index(np.argmax(errors), errors.shape)
    assert errors[worst] <= limit, f"{what}: {errors[worst]:.3g} ulp > {limit} at {inputs(worst)}"


# The measuring stick itself. ------------------------------------------------------------


def test_ulp_error_counts_units_in_the_last_place():
    one = mpmath.mpf(1)
    assert nmt.ulp_error(np.float64(1 + 2.0**-52), one)[()] == 1.0
    assert nmt.ulp_error(np.float64(1 - 2.0**-53), one)[()] == 0.5  # below 1 the spacing halves...
    assert nmt.ulp_error(np.float32(1 + 2.0**-23), one)[()] == 1.0
    tiny = mpmath.mpf(2) ** -1074  # ...and below the normal range it is the subnormal spacing
    assert nmt.ulp_error(np.float64(0.0), 3 * tiny)[()] == 3.0
    # Measured on another number's ulp: 0.5 off, in units of ulp(4) = 2**-50.
    assert nmt.ulp_error(np.array([1.0]), [mpmath.mpf(0.5)], scale=[mpmath.mpf(4)])[0] == 2.0**49
    assert nmt.ulp_error(np.float64(np.inf), one)[()] == np.inf  # infinite where finite: fails any limit
    assert nmt.ulp_error(np.float64(np.inf), mpmath.mpf("1e400"))[()] == 0.0  # overflows: inf is right


# The oracle's careful forms (cut-offs below 1e-1300, log1p of the tail, exact differences)
# against the plain definitions at 100 digits, written here and nowhere else.
def _plain_sigmoid(v):
    return 1 / (1 + mpmath.exp(-v))


def _plain_sigmoid_grad(v):
    return mpmath.exp(-v) / (1 + mpmath.exp(-v)) ** 2


def _plain_row(row, kind):
    values = [mpmath.mpf(float(v)) for v in row]
    total = mpmath.fsum(mpmath.exp(v) for v in values)
    if kind == "logsumexp":
        return mpmath.log(total)
    if kind == "softmax":
        return [mpmath.exp(v) / total for v in values]
    return [v - mpmath.log(total) for v in values]


def _plain(function, x):
    with mpmath.workdps(100):
        return np.array([function(mpmath.mpf(float(v))) for v in x], dtype=object)


@pytest.mark.parametrize(
    ("exact", "plain"),
    [(nmt.exact_sigmoid, _plain_sigmoid), (nmt.exact_sigmoid_grad, _plain_sigmoid_grad), (nmt.exact_tanh, mpmath.tanh)],
    ids=["sigmoid", "sigmoid_grad", "tanh"],
)
def test_elementwise_references_agree_with_the_definitions(exact, plain):
    x = np.array([-700.0, -30.0, -1.5, -1e-8, 0.0, 0.25, 3.0, 40.0, 700.0])
    nmt.assert_close(np.array([float(v) for v in exact(x)]), _plain(plain, x), 1e-15, atol=0)


@pytest.mark.parametrize("row", [[1.0, 2.0, 3.0], [1010.0, 1000.0, 990.0], [-3.5, 0.25, 7.0, 7.0]])
def test_row_references_agree_with_the_definitions(row):
    x = np.array([row])
    with mpmath.workdps(100):
        softmax, log_softmax, lse = (_plain_row(row, kind) for kind in ("softmax", "log_softmax", "logsumexp"))
    nmt.assert_close(np.array([float(v) for v in nmt.exact_softmax(x)[0]]), np.array(softmax, dtype=object), 1e-15, atol=0)
    nmt.assert_close(np.array([float(v) for v in nmt.exact_log_softmax(x)[0]]), np.array(log_softmax, dtype=object), 1e-15, atol=0)
    nmt.assert_close(np.array(float(nmt.exact_logsumexp(x)[0])), np.array(lse, dtype=object), 1e-15, atol=0)


def test_references_keep_what_fifty_digits_alone_would_lose():
    with mpmath.workdps(60):
        tiny = -(mpmath.exp(-89) + mpmath.exp(-178))  # log softmax of 89 in [89, 0, -89], to first order
        assert abs(nmt.exact_log_softmax(np.array([[89.0, 0.0, -89.0]]))[0, 0] / tiny - 1) < mpmath.mpf(10) ** -38
        sigma_minus_one = -1 / (1 + mpmath.exp(120))  # sigma(120) - 1 = -sigma(-120)
        assert abs(nmt.exact_binary_cross_entropy_grad(np.array([120.0]), np.array([1.0]))[0] / sigma_minus_one - 1) < mpmath.mpf(10) ** -45
        confident = nmt.exact_softmax_cross_entropy_grad_rows(np.array([[300.0, 0.0]]), np.array([0]))[0, 0]
        assert abs(confident / -mpmath.exp(-300) - 1) < mpmath.mpf(10) ** -45  # y_0 - 1 = -y_1
        # (1/2)(1 - 0) + (1/2) log 2 ... binary cross-entropy at z = 0 is log 2 for every target.
        assert abs(nmt.exact_binary_cross_entropy(np.array([0.0]), np.array([0.3]))[0] - mpmath.log(2)) < mpmath.mpf(10) ** -45


@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_the_grid_is_hard(dtype):
    """The textbook max-shift softmax loses hundreds of ulp on this grid (in float64)."""
    g = grid(dtype)
    worst = 0.0
    for rows, exact in zip(g["rows"], g["row_exact"]):
        with np.errstate(all="ignore"):
            shifted = np.exp(rows - rows.max(axis=1, keepdims=True))
            naive = shifted / shifted.sum(axis=1, keepdims=True)
        worst = max(worst, float(nmt.ulp_error(naive, exact["softmax"]).max()))
    assert worst > (100 if dtype == np.float64 else 20)


# Elementwise functions. ------------------------------------------------------------------


def _one_by_one(function, *arrays):
    """``function`` applied to each element alone. A block of input that holds an extreme
    value may take another code path than one that does not (see sigmoid), so the grid is
    also evaluated element by element."""
    return np.concatenate([np.atleast_1d(function(*(a[i : i + 1] for a in arrays))) for i in range(arrays[0].size)])


@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
@pytest.mark.parametrize("alone", [False, True], ids=["whole grid", "one by one"])
@pytest.mark.parametrize("name", ["sigmoid", "sigmoid_grad", "tanh"])
def test_activations(name, alone, dtype):
    g = grid(dtype)
    x = g["x"]
    function = getattr(nm, name)
    result = _one_by_one(function, x) if alone else function(x)
    assert result.dtype == dtype
    limit = TANH_LIMIT if name == "tanh" else LIMIT[dtype]
    assert_within(nmt.ulp_error(result, g["exact"][name]), limit, lambda i: f"x={x[i]!r}", name)


@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_binary_cross_entropy_of_each_element(dtype):
    g = grid(dtype)
    z, t = g["x"], g["targets"]
    losses = _one_by_one(nm.binary_cross_entropy_with_logits, z, t)
    assert losses.dtype == dtype
    assert_within(nmt.ulp_error(losses, g["exact"]["bce"]), LIMIT[dtype], lambda i: f"z={z[i]!r}, t={t[i]!r}", "loss")


@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
@pytest.mark.parametrize("alone", [False, True], ids=["whole grid", "one by one"])
def test_binary_cross_entropy_grad(alone, dtype):
    g = grid(dtype)
    z, t = g["x"], g["targets"]
    size = 1 if alone else z.size  # the gradient of a mean carries 1 / (number of elements)
    grad = _one_by_one(nm.binary_cross_entropy_with_logits_grad, z, t) if alone else nm.binary_cross_entropy_with_logits_grad(z, t)
    assert grad.dtype == dtype
    exact = g["exact"]["bce_grad"] / size
    where = lambda i: f"z={z[i]!r}, t={t[i]!r}"
    # Hard targets: sigma(z) - t has no cancellation in exact terms, so each element is held to
    # its own ulp (sigma(40) - 1 = -4.2e-18, not 0).
    hard = (t == 0) | (t == 1)
    assert hard.sum() > 50
    errors = nmt.ulp_error(grad, exact)
    assert_within(np.where(hard, errors, 0), LIMIT[dtype], where, "grad, hard targets")
    # Soft targets: sigma(z) - t cancels when sigma(z) is close to t; measured on |sigma| + |t|.
    scale = [(abs(s) + abs(_mp(b))) / size for s, b in zip(g["exact"]["sigmoid"], t)]
    assert_within(nmt.ulp_error(grad, exact, scale), LIMIT[dtype], where, "grad, on the scale of its terms")


# Along rows. -----------------------------------------------------------------------------


def _row_cases(dtype):
    g = grid(dtype)
    return zip(g["rows"], g["labels"], g["soft_labels"], g["row_exact"])


@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax(name, dtype):
    for rows, _, _, exact in _row_cases(dtype):
        result = getattr(nm, name)(rows)
        assert result.dtype == dtype
        where = lambda i, rows=rows: f"row {rows[i[0]].tolist()[:6]}, entry {i[1]}"
        assert_within(nmt.ulp_error(result, exact[name]), LIMIT[dtype], where, name)


@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
def test_logsumexp(dtype):
    for rows, _, _, exact in _row_cases(dtype):
        result = nm.logsumexp(rows)
        scale = [max(abs(v), abs(_mp(r.max()))) for v, r in zip(exact["logsumexp"], rows)]
        where = lambda i, rows=rows: f"row {rows[i[0]].tolist()[:6]}"
        assert_within(nmt.ulp_error(result, exact["logsumexp"], scale), LIMIT[dtype], where, "logsumexp")


def _loss_of_fused(rows, targets):
    return nm.softmax_cross_entropy_with_grad(rows, targets)[0]


@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
@pytest.mark.parametrize("kind", ["hard", "soft"])
@pytest.mark.parametrize("loss", [nm.softmax_cross_entropy, _loss_of_fused], ids=["loss", "fused loss"])
def test_softmax_cross_entropy_of_each_row(loss, kind, dtype):
    for rows, labels, soft, exact in _row_cases(dtype):
        targets = labels if kind == "hard" else soft
        losses = np.array([loss(rows[i : i + 1], targets[i : i + 1]) for i in range(rows.shape[0])])
        assert losses.dtype == dtype
        where = lambda i, rows=rows, targets=targets: f"row {rows[i[0]].tolist()[:6]}, labels {targets[i[0]].tolist()}"
        assert_within(nmt.ulp_error(losses, exact[f"ce_{kind}"]), LIMIT[dtype], where, f"loss, {kind} labels")


def _grad_of_fused(rows, targets):
    return nm.softmax_cross_entropy_with_grad(rows, targets)[1]


@pytest.mark.parametrize("dtype", DTYPES, ids=_ids)
@pytest.mark.parametrize("kind", ["hard", "soft"])
@pytest.mark.parametrize("gradient", [nm.softmax_cross_entropy_grad, _grad_of_fused], ids=["grad", "fused grad"])
def test_softmax_cross_entropy_grad(gradient, kind, dtype):
    for rows, labels, soft, exact in _row_cases(dtype):
        targets = labels if kind == "hard" else soft
        grad = gradient(rows, targets)  # the whole group as one batch
        assert grad.dtype == dtype
        batch = rows.shape[0]
        expected = exact[f"ce_grad_{kind}"] / batch
        where = lambda i, rows=rows, targets=targets: f"row {rows[i[0]].tolist()[:6]}, labels {targets[i[0]].tolist()}, entry {i[1]}"
        if kind == "hard":  # y_t - 1 for a confident row must keep its digits: each element its own ulp
            assert_within(nmt.ulp_error(grad, expected), LIMIT[dtype], where, "grad, hard labels")
        else:  # y_k T - t_k can cancel: measured on the row's largest |y_k| + |t_k|
            sizes = np.abs(exact["softmax"]) + np.array([[_mp(v) for v in row] for row in soft], dtype=object)
            scale = np.repeat([[max(row) / batch] for row in sizes], rows.shape[1], axis=1)
            assert_within(nmt.ulp_error(grad, expected, scale), LIMIT[dtype], where, "grad, soft labels")


def test_worst_errors_ranks_implementations():
    """``worst_errors`` (the appendix's table) agrees with the checks above and sees the bad ones."""

    def subtract_the_max(x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    worst = nmt.worst_errors({"softmax": {"nnmath": nm.softmax, "textbook": subtract_the_max}}, np.float64)
    ours, where = worst["softmax"]["nnmath"]
    assert ours <= LIMIT[np.float64] and where.startswith("[")
    assert worst["softmax"]["textbook"][0] > 100


def test_assert_ulp_within_passes_at_the_bound_and_fails_beyond_it_naming_the_worst_point():
    one_plus = np.array([1.0, 1.0 + 3 * 2.0**-52, 2.0])
    exact = nmt.exact(lambda v: v, [1.0, 1.0, 2.0])  # the second result is 3 ulp off
    nmt.assert_ulp_within(one_plus, exact, 3)
    with pytest.raises(AssertionError, match=r"1 of 3 results beyond 2.5 ulp; the worst at index \(1,\)"):
        nmt.assert_ulp_within(one_plus, exact, 2.5, err_msg="demo")
    with pytest.raises(AssertionError, match="beyond 4 ulp"):  # NaN is never within a bound
        nmt.assert_ulp_within(np.array([np.nan]), nmt.exact(lambda v: v, [1.0]), 4)
    assert nmt.max_ulp_error(one_plus, exact) == 3.0


def test_exact_broadcasts_and_takes_each_float_exactly():
    values = nmt.exact(lambda a, b: a - b, np.array([[0.1], [0.2]]), np.array([0.1, 0.2, 0.3]))
    assert values.shape == (2, 3) and values.dtype == object
    with mpmath.workdps(60):
        # 0.1 - 0.3 in exact arithmetic of the two doubles, not the decimal -0.2.
        assert values[0, 2] == mpmath.mpf(0.1) - mpmath.mpf(0.3) != mpmath.mpf("-0.2")
    assert values[1, 1] == 0


def test_assert_close_uses_the_relative_and_absolute_tolerances():
    exact = nmt.exact(lambda v: v, [1.0, 0.0])
    nmt.assert_close(np.array([1.0 + 2.0**-52, 1e-310]), exact, 2.3e-16)  # 1e-310 < tiny: absolute part
    with pytest.raises(AssertionError, match="1 results outside the tolerance"):
        nmt.assert_close(np.array([1.0 + 2.0**-51, 0.0]), exact, 2.3e-16)


def test_portable_prints_only_digits_no_last_bit_can_move():
    assert nmt.portable(0.12345, ".3f") == "0.123"
    with pytest.raises(AssertionError, match="rounding edge"):
        nmt.portable(0.1235, ".3f")  # 0.12349999999999999...: one ulp up prints 0.124
    assert nmt.portable(0.1235, ".3f", ".2f") == "0.12"  # the first format that survives
    assert nmt.portable([0.25, 2 / 3], ".2f", margin=1e-3) == ["0.25", "0.67"]
    with pytest.raises(AssertionError):
        nmt.portable(0.6665, ".3f", margin=1e-3)  # within 0.1 % of 0.6665's edge
