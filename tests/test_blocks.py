"""The block machinery of nnmath._engine: tiny blocks must change no bit of any result.

Every array function runs over cache-sized blocks (``BLOCK_BYTES`` for elementwise kernels,
``ROW_BLOCK_BYTES`` for row kernels), and the row functions first compute every row unshifted
and then recompute, with an exact shift, the rows that need one. With the default sizes every
other test's input fits in one block, so none of that bookkeeping is exercised there.

Here the fixture ``tiny_blocks`` shrinks the blocks to 64 bytes and to 3 rows, on inputs
that mix blocks taking the fast path with blocks that need the slow one (an ``exp`` that
overflows, a row maximum of 1000, a row near -900, rows holding infinities), with a partial
last block. Each result is compared

* bit for bit (``nmt.bits``) with the same call at the default block sizes, and
* with mpmath at 50 digits (``nnmath.testing``) within the documented bounds of
  ``tests/test_accuracy.py``: 4 ulp in float64, 6 in float32;

and the fixture counts the blocks actually visited, so that a function that stopped reading
the constants at call time (or stopped running block by block) fails here instead of passing
with a single block.
"""

import contextlib
import math
import sys

import mpmath
import nnmath as nm
import nnmath._engine as engine
import nnmath.testing as nmt
import numpy as np
import pytest

DTYPES = [np.float64, np.float32]
LIMIT = {np.dtype(np.float64): 4.0, np.dtype(np.float32): 6.0}  # tests/test_accuracy.py

TINY_BLOCK_BYTES = 64  # 8 float64 or 16 float32 elements
ROWS_PER_BLOCK = 3
N_COLS = 5  # the row length of every row input here
N_ELEMENTS = 77  # 9 blocks of 8 and one of 5 (float64); 4 blocks of 16 and one of 13 (float32)


class Blocks:
    """What ``tiny_blocks`` gives a test: the block sizes in force and the blocks visited."""

    def __init__(self, defaults, tiny):
        self.defaults = defaults  # (BLOCK_BYTES, ROW_BLOCK_BYTES) as the library sets them
        self.tiny = tiny
        self.visits = 0  # elementwise kernel calls plus row blocks handed out

    def _sizes(self, sizes):
        engine.BLOCK_BYTES, engine.ROW_BLOCK_BYTES = sizes

    @contextlib.contextmanager
    def at_default_sizes(self):
        self._sizes(self.defaults)
        try:
            yield
        finally:
            self._sizes(self.tiny)

    def count(self, function, *args, **kwargs):
        """``(result, number of blocks visited)`` of one call."""
        before = self.visits
        result = function(*args, **kwargs)
        return result, self.visits - before

    def both(self, function, *args, **kwargs):
        """``function`` at the tiny sizes and at the default ones: ``(tiny, default)`` results.

        Asserts that the tiny sizes split the input into several blocks and that the default
        sizes hold it in one (per pass), so that the comparison compares something.
        """
        with self.at_default_sizes():
            default, default_visits = self.count(function, *args, **kwargs)
        tiny, tiny_visits = self.count(function, *args, **kwargs)
        assert 1 <= default_visits <= 2, f"{default_visits} blocks at the default sizes"
        assert tiny_visits > default_visits, (
            f"{tiny_visits} blocks with {self.tiny} bytes: the block sizes are not read at call time"
        )
        return tiny, default


def _replace_everywhere(monkeypatch, original, replacement):
    """Patch ``original`` in the engine and in every nnmath module that imported it by name."""
    for name, module in list(sys.modules.items()):
        if name == "nnmath" or name.startswith("nnmath."):
            for attribute, value in list(vars(module).items()):
                if value is original:
                    monkeypatch.setattr(module, attribute, replacement)


def _count_blocks(monkeypatch, blocks):
    """Wrap the engine's block loops so that every block visited adds 1 to ``blocks.visits``."""

    def counted_kernel(kernel):
        def run(*arrays):
            blocks.visits += 1
            return kernel(*arrays)

        return run

    def wrap_elementwise(loop):
        def counted(kernel, *inputs, **options):
            return loop(counted_kernel(kernel), *inputs, **options)

        return counted

    def wrap_row_blocks(loop):
        def counted(*args, **options):
            for block in loop(*args, **options):
                blocks.visits += 1
                yield block

        return counted

    for name, wrap in [("elementwise", wrap_elementwise), ("elementwise_sum", wrap_elementwise), ("row_blocks", wrap_row_blocks)]:
        if hasattr(engine, name):
            original = getattr(engine, name)
            _replace_everywhere(monkeypatch, original, wrap(original))


@pytest.fixture
def tiny_blocks(monkeypatch, dtype):
    """Blocks of 64 bytes and of 3 rows of ``N_COLS`` entries of ``dtype``, for one test."""
    defaults = engine.BLOCK_BYTES, engine.ROW_BLOCK_BYTES
    tiny = TINY_BLOCK_BYTES, ROWS_PER_BLOCK * N_COLS * np.dtype(dtype).itemsize
    blocks = Blocks(defaults, tiny)
    _count_blocks(monkeypatch, blocks)
    monkeypatch.setattr(engine, "BLOCK_BYTES", tiny[0])
    monkeypatch.setattr(engine, "ROW_BLOCK_BYTES", tiny[1])
    return blocks


def assert_same_bits(tiny, default):
    tiny, default = np.asarray(tiny), np.asarray(default)
    assert tiny.dtype == default.dtype and tiny.shape == default.shape
    np.testing.assert_array_equal(nmt.bits(tiny), nmt.bits(default))


# Elementwise inputs. ---------------------------------------------------------------------


def _extremes(dtype):
    """Values whose block takes a slow path: exp(-x) overflows, results in the subnormal range, infinities."""
    if np.dtype(dtype) == np.float64:
        return [-800.0, -720.0, -745.0, -1e300, -np.inf, np.inf, 1e300, -710.5, float(np.finfo(dtype).max), -1000.0]
    return [-100.0, -95.0, -103.5, -3e38, -np.inf, np.inf, 3e38, -89.0, float(np.finfo(dtype).max), -1000.0]


def elementwise_input(dtype):
    """``N_ELEMENTS`` values: blocks of ordinary values (fast) between blocks holding
    extremes (slow), and a partial last block holding one. Returns ``(x, finite)``."""
    per_block = TINY_BLOCK_BYTES // np.dtype(dtype).itemsize
    x = np.random.default_rng(20261203).uniform(-40, 40, N_ELEMENTS)
    slow_blocks = list(range(1, N_ELEMENTS // per_block, 2)) + [N_ELEMENTS // per_block]  # odd ones and the last
    extremes = iter(_extremes(dtype) * 3)
    for block in slow_blocks:
        start = block * per_block
        for offset in (1, 3):
            if start + offset < N_ELEMENTS:
                x[start + offset] = next(extremes)
    x = x.astype(dtype)
    return x, np.isfinite(x)


def binary_targets(dtype):
    t = np.random.default_rng(20261204).uniform(0, 1, N_ELEMENTS)
    t[0::4] = 1.0  # hard targets, whose gradient keeps its digits
    t[1::4] = 0.0
    return t.astype(dtype)


def test_elementwise_input_mixes_fast_and_slow_blocks():
    """The input does what the tests below rely on, in both dtypes."""
    for dtype in DTYPES:
        x, _ = elementwise_input(dtype)
        per_block = TINY_BLOCK_BYTES // np.dtype(dtype).itemsize
        limit = math.log(float(np.finfo(dtype).max))  # exp(-x) overflows below -limit
        blocks = [x[i : i + per_block] for i in range(0, x.size, per_block)]
        slow = [bool((block < -limit).any()) for block in blocks]
        assert x.size % per_block != 0  # a partial last block
        assert slow[-1] and any(slow[:-1]) and not all(slow)
        assert np.isinf(x).any() and (x == -np.inf).any()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ["sigmoid", "sigmoid_grad"])
def test_sigmoid_and_its_grad_in_tiny_blocks(name, dtype, tiny_blocks):
    x, _ = elementwise_input(dtype)
    function = getattr(nm, name)
    tiny, default = tiny_blocks.both(function, x)
    assert_same_bits(tiny, default)
    exact = nmt.exact_sigmoid(x) if name == "sigmoid" else nmt.exact_sigmoid_grad(x)
    nmt.assert_ulp_within(tiny, exact, LIMIT[np.dtype(dtype)], err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_silu_in_tiny_blocks(dtype, tiny_blocks):
    x, finite = elementwise_input(dtype)
    tiny, default = tiny_blocks.both(nm.silu, x)
    assert_same_bits(tiny, default)
    # x sigma(x) has no documented ulp bound; test_activations holds it to nmt.RTOL.
    nmt.assert_close(tiny[finite], nmt.exact_silu(x[finite]), nmt.RTOL[np.dtype(dtype)])
    assert tiny[x == -np.inf].tolist() == [0.0] * int((x == -np.inf).sum())  # the limits, not inf * 0
    assert tiny[x == np.inf].tolist() == [np.inf] * int((x == np.inf).sum())


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_binary_cross_entropy_grad_in_tiny_blocks(dtype, tiny_blocks):
    x, _ = elementwise_input(dtype)
    t = binary_targets(dtype)
    tiny, default = tiny_blocks.both(nm.binary_cross_entropy_with_logits_grad, x, t)
    assert_same_bits(tiny, default)
    exact = nmt.exact_binary_cross_entropy_grad(x, t) / x.size
    hard = (t == 0) | (t == 1)
    # Hard targets: each element within the bound of its own ulp (test_accuracy's yardstick) ...
    nmt.assert_ulp_within(tiny[hard], exact[hard], LIMIT[np.dtype(dtype)], err_msg="hard targets")
    # ... soft ones on the scale of the terms of sigma(z) - t, which may cancel.
    sigma = nmt.exact_sigmoid(x)
    scale = np.array([(abs(s) + abs(mpmath.mpf(float(b)))) / x.size for s, b in zip(sigma, t)], dtype=object)
    soft = ~hard
    nmt.assert_ulp_within(tiny[soft], exact[soft], LIMIT[np.dtype(dtype)], scale=scale[soft], err_msg="soft")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_binary_cross_entropy_in_tiny_blocks(dtype, tiny_blocks):
    x, finite = elementwise_input(dtype)
    x, t = x[finite], binary_targets(dtype)[finite]  # the loss at an infinite logit is inf
    tiny, default = tiny_blocks.both(nm.binary_cross_entropy_with_logits, x, t)
    assert tiny.dtype == dtype
    with mpmath.workdps(nmt.DIGITS):
        exact = mpmath.fsum(nmt.exact_binary_cross_entropy(x, t)) / x.size
    nmt.assert_ulp_within(np.asarray(tiny), np.array(exact, dtype=object), LIMIT[np.dtype(dtype)])
    assert_same_bits(default, nm.binary_cross_entropy_with_logits(x, t))  # the tiny blocks again: deterministic


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_binary_cross_entropy_moves_with_the_block_size_by_at_most_an_ulp(dtype, tiny_blocks):
    """The one documented exception to "the values do not change": elementwise_sum groups the
    sum by blocks, so the last bit of the mean loss may move with the block size (here by one
    ulp for 77 uniform(-40, 40) logits of seed 0), never beyond the sum's rounding."""
    rng = np.random.default_rng(0)
    z, t = rng.uniform(-40, 40, N_ELEMENTS).astype(dtype), rng.uniform(0, 1, N_ELEMENTS).astype(dtype)
    with tiny_blocks.at_default_sizes():
        default = nm.binary_cross_entropy_with_logits(z, t)
    tiny = nm.binary_cross_entropy_with_logits(z, t)
    assert abs(float(tiny) - float(default)) <= float(np.spacing(default))


# Row inputs. -----------------------------------------------------------------------------


def _slow_rows(dtype):
    """Rows the unshifted first pass cannot finish: their sum overflows or is below 1."""
    if np.dtype(dtype) == np.float64:
        huge, overflow = [1000.0, 999.5, 990.0, 0.0, -5.0], [709.5, 0.1, 3.0, -2.0, 700.0]
    else:
        huge, overflow = [100.0, 99.5, 90.0, 0.0, -5.0], [88.5, 0.1, 3.0, -2.0, 80.0]
    return {
        "huge max": huge,
        "overflow": overflow,
        "near -900": [-900.0, -900.25, -905.0, -950.0, -1000.0],
        "small sum": [-30.0, -31.5, -40.0, -35.0, -32.0],
        "tiny and huge": [-1000.0, -3.0, -2.5, -2.25, -1000.0],
    }


def row_input(dtype):
    """16 rows of ``N_COLS`` (5 blocks of 3 and a partial one): blocks of ordinary rows, of slow
    rows and mixed ones, two of them with infinities. Returns ``(rows, labels, finite)``."""
    ordinary = iter(np.random.default_rng(20261205).normal(scale=3, size=(10, N_COLS)).tolist())
    slow = _slow_rows(dtype)
    layout = [
        next(ordinary), next(ordinary), next(ordinary),  # a fast block
        slow["huge max"], next(ordinary), slow["near -900"],  # mixed
        next(ordinary), next(ordinary), next(ordinary),  # fast
        slow["overflow"], slow["small sum"], [np.inf, 0.0, 1.0, 2.0, 3.0],  # slow
        next(ordinary), [-np.inf] * N_COLS, next(ordinary),  # mixed, with an all -inf row
        slow["tiny and huge"],  # the partial last block
    ]
    rows = np.array(layout).astype(dtype)
    labels = np.arange(rows.shape[0]) % N_COLS  # the max, the min and the others
    return rows, labels, np.isfinite(rows).all(axis=1)


def soft_labels(n_rows, dtype):
    soft = np.random.default_rng(20261206).uniform(0, 1, size=(n_rows, N_COLS))
    soft /= soft.sum(axis=1, keepdims=True)
    soft[1] = np.eye(N_COLS)[2]  # one-hot as a distribution
    soft[4] *= 1.5  # a row summing to 1.5
    return soft.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_row_input_mixes_fast_and_slow_blocks(dtype):
    rows, _, finite = row_input(dtype)
    with np.errstate(over="ignore"):
        sums = np.exp(rows.astype(np.float64)).sum(axis=1)
    slow = ~((sums >= 1) & (sums <= 1 / np.finfo(dtype).tiny)) | ~finite
    per_block = [slow[i : i + ROWS_PER_BLOCK] for i in range(0, rows.shape[0], ROWS_PER_BLOCK)]
    assert rows.shape[0] % ROWS_PER_BLOCK != 0
    assert not per_block[0].any() and per_block[1].any() and not per_block[1].all() and per_block[3].all()
    assert per_block[-1].all() and (~finite).sum() == 2


def _scale_of_logsumexp(exact, rows):
    """test_accuracy's yardstick: max(|LSE|, |max a|), LSE = max + log(...) cancels near 0."""
    return np.array([max(abs(v), abs(mpmath.mpf(float(r.max())))) for v, r in zip(exact, rows)], dtype=object)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_family_in_tiny_blocks(name, dtype, tiny_blocks):
    rows, _, finite = row_input(dtype)
    tiny, default = tiny_blocks.both(getattr(nm, name), rows)
    assert_same_bits(tiny, default)
    exact = {"softmax": nmt.exact_softmax, "log_softmax": nmt.exact_log_softmax, "logsumexp": nmt.exact_logsumexp}[
        name
    ](rows[finite])
    scale = _scale_of_logsumexp(exact, rows[finite]) if name == "logsumexp" else None
    nmt.assert_ulp_within(tiny[finite], exact, LIMIT[np.dtype(dtype)], scale=scale, err_msg=name)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_rows_with_infinities_give_the_formulas_values(dtype, tiny_blocks):
    """Infinite rows among finite ones: their log-sum-exp is the infinity, whatever block they
    share, and their finite neighbours are those of a batch without them. (What softmax gives
    for [inf, 0, 1, 2, 3] itself: test_softmax.py.)"""
    rows, _, finite = row_input(dtype)
    softmax, _ = tiny_blocks.both(nm.softmax, rows)
    logsumexp, _ = tiny_blocks.both(nm.logsumexp, rows)
    assert logsumexp[~finite].tolist() == [np.inf, -np.inf]
    np.testing.assert_array_equal(nmt.bits(softmax[finite]), nmt.bits(nm.softmax(rows[finite])))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kind", ["indices", "soft"])
def test_softmax_cross_entropy_grad_in_tiny_blocks(kind, dtype, tiny_blocks):
    rows, labels, finite = row_input(dtype)
    targets = labels if kind == "indices" else soft_labels(rows.shape[0], dtype)
    tiny, default = tiny_blocks.both(nm.softmax_cross_entropy_grad, rows, targets)
    assert_same_bits(tiny, default)
    _assert_grad_within_bounds(tiny, rows, targets, finite, kind, dtype)


def _assert_grad_within_bounds(grad, rows, targets, finite, kind, dtype):
    """The finite rows of a batch's gradient against mpmath, as in test_accuracy."""
    batch = rows.shape[0]
    exact = nmt.exact_softmax_cross_entropy_grad_rows(rows[finite], targets[finite]) / batch
    if kind == "indices":  # y_t - 1 keeps its digits: each element its own ulp
        nmt.assert_ulp_within(grad[finite], exact, LIMIT[np.dtype(dtype)], err_msg="grad, hard labels")
        return
    # y_k T - t_k can cancel: on the scale of the row's largest |y_k| + |t_k|
    sizes = np.abs(nmt.exact_softmax(rows[finite])) + np.array(
        [[mpmath.mpf(float(v)) for v in row] for row in targets[finite]], dtype=object
    )
    scale = np.repeat([[max(row) / batch] for row in sizes], N_COLS, axis=1)
    nmt.assert_ulp_within(grad[finite], exact, LIMIT[np.dtype(dtype)], scale=scale, err_msg="grad, soft labels")


def _exact_mean_loss(rows, targets):
    with mpmath.workdps(nmt.DIGITS):
        return np.array(mpmath.fsum(nmt.exact_softmax_cross_entropy_rows(rows, targets)) / rows.shape[0], dtype=object)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kind", ["indices", "soft"])
def test_softmax_cross_entropy_in_tiny_blocks(kind, dtype, tiny_blocks):
    rows, labels, finite = row_input(dtype)
    rows, labels = rows[finite], labels[finite]  # an infinite row makes the mean inf or NaN
    assert rows.shape[0] % ROWS_PER_BLOCK != 0
    targets = labels if kind == "indices" else soft_labels(rows.shape[0], dtype)
    tiny, default = tiny_blocks.both(nm.softmax_cross_entropy, rows, targets)
    assert_same_bits(tiny, default)
    nmt.assert_ulp_within(np.asarray(tiny), _exact_mean_loss(rows, targets), LIMIT[np.dtype(dtype)])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("kind", ["indices", "soft"])
def test_softmax_cross_entropy_with_grad_in_tiny_blocks(kind, dtype, tiny_blocks):
    rows, labels, finite = row_input(dtype)
    targets = labels if kind == "indices" else soft_labels(rows.shape[0], dtype)
    (loss, grad), (default_loss, default_grad) = tiny_blocks.both(nm.softmax_cross_entropy_with_grad, rows, targets)
    assert_same_bits(grad, default_grad)
    assert_same_bits(loss, default_loss)  # NaN or inf here: the batch holds infinite rows
    _assert_grad_within_bounds(grad, rows, targets, finite, kind, dtype)
    # The loss of the finite rows alone, a batch with a partial last block.
    (loss, grad), (default_loss, _) = tiny_blocks.both(nm.softmax_cross_entropy_with_grad, rows[finite], targets[finite])
    assert_same_bits(loss, default_loss)
    nmt.assert_ulp_within(np.asarray(loss), _exact_mean_loss(rows[finite], targets[finite]), LIMIT[np.dtype(dtype)])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_batches_with_leading_axes_and_other_axes_in_tiny_blocks(dtype, tiny_blocks):
    """(2, 8, 5) logits are 16 rows; log_softmax along axis 0 sees 20 rows of 2 (blocks of 7)."""
    rows, labels, _ = row_input(dtype)
    logits = rows.reshape(2, 8, N_COLS)
    tiny, default = tiny_blocks.both(nm.softmax_cross_entropy_grad, logits, labels.reshape(2, 8))
    assert_same_bits(tiny, default)
    assert_same_bits(tiny.reshape(rows.shape), nm.softmax_cross_entropy_grad(rows, labels))
    ordinary = np.random.default_rng(20261207).normal(scale=400, size=(2, 4, N_COLS)).astype(dtype)
    tiny, default = tiny_blocks.both(nm.log_softmax, ordinary, axis=0)
    assert_same_bits(tiny, default)
    moved = np.moveaxis(ordinary, 0, -1)
    exact = np.moveaxis(nmt.exact_log_softmax(moved), -1, 0)
    nmt.assert_ulp_within(tiny, exact, LIMIT[np.dtype(dtype)])
