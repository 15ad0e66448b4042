"""Speed and peak memory of nnmath, next to np.exp, scipy.special and (if installed) PyTorch.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/bench.py``). Every function runs on
one thread, on a (4096, 1000) array of logits (``--rows``, ``--cols`` to change it), in float64
and float32. For each function and dtype it prints

* ``x exp``: its time as a multiple of one ``np.exp`` over the same array, so that the figure
  carries across machines, next to its target (from the issues "Numerical quality and speed"
  and "nnmath 2"), and ``spread``: the middle half of the rounds' ratios (quartiles), which
  says how far to trust the figure on a shared machine;
* ``same passes, bare`` (under softmax and log_softmax): not nnmath, a yardstick: the passes
  over memory that nnmath makes to meet its accuracy bounds, with nothing else (see
  :func:`_softmax_passes`); nnmath's distance to it is its overhead;
* ``x scipy``: its time divided by that of ``scipy.special`` doing the same (below 1: faster);
* ``x torch``: the same against PyTorch on the same number of threads, when PyTorch happens to
  be installed (it is never required);
* ``peak``: the largest amount of memory allocated while it runs, the returned arrays included,
  in units of the input array's size (measured with ``tracemalloc``, which sees NumPy's arrays).

Each figure is the median over ``--repeat`` rounds of the ratio of two times taken in the same
round (see :func:`interleaved_times`), each the CPU time of this thread (``--clock wall`` for
wall time): on a shared machine, the figure least disturbed by other programs.
"""

import os

# One thread everywhere, set before NumPy is imported (OPENBLAS_CORETYPE is left as it is).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_name] = "1"

import argparse
import platform
import time
import tracemalloc

import nnmath as nm
import numpy as np
import scipy
from nnmath._engine import ROW_BLOCK_BYTES
from scipy import special

try:  # pins BLAS and OpenMP pools that ignore the variables above
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
except ImportError:
    pass

try:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
except ImportError:
    torch = None


# What each function is compared with. ----------------------------------------------------
# Each case maps (x, labels, targets) to a callable that runs once; losses run the forward
# pass and the gradient, as a training step would.


def _scipy_cross_entropy(x, labels):
    log_probs = special.log_softmax(x, axis=-1)
    loss = -np.mean(np.take_along_axis(log_probs, labels[:, None], axis=-1))
    grad = special.softmax(x, axis=-1)
    grad[np.arange(x.shape[0]), labels] -= 1
    grad /= x.shape[0]
    return loss, grad


def _scipy_binary_cross_entropy(z, t):
    loss = -np.mean(t * special.log_expit(z) + (1 - t) * special.log_expit(-z))
    return loss, (special.expit(z) - t) / z.size


def _layer_forward_backward(x, labels, targets):
    layer = nm.SoftmaxWithLoss()
    return layer.forward(x, labels), layer.backward()


# Yardsticks: not functions of nnmath, but the passes over memory that nnmath's softmax and
# log_softmax make to meet their accuracy bounds, block by block as nnmath runs them, with
# nothing else (no validation, no shifted rows, no per-row care). How far nnmath lies above
# them is its overhead; what they cost is what NumPy allows at that accuracy.


def _blocks(x):
    rows = max(1, ROW_BLOCK_BYTES // (x.itemsize * x.shape[1]))
    return [slice(start, start + rows) for start in range(0, x.shape[0], rows)]


def _softmax_passes(x):
    """``exp``; the row sums (pairwise in float64; float32 summed in float64, as a float32 sum
    alone can add 2 ulp to every entry); the division by them (float64) or the product by
    their rounded reciprocals (float32)."""
    out = np.empty_like(x)
    for block in _blocks(x):
        e = out[block]
        np.exp(x[block], out=e)
        if x.dtype == np.float64:
            e /= np.add.reduce(e, axis=1)[:, np.newaxis]
        else:
            e *= (1 / np.einsum("ij->i", e, dtype=np.float64)).astype(x.dtype)[:, np.newaxis]
    return out


def _log_softmax_passes(x):
    """Each row's largest entry; ``exp``, the sum of all but the largest term (so that a tiny
    ``log1p`` keeps its digits); then ``x - max`` and ``- log1p``, two subtractions (one
    subtraction of their rounded sum loses the digits of the largest entry's result)."""
    out = np.empty_like(x)
    for block in _blocks(x):
        a, e = x[block], out[block]
        rows = np.arange(a.shape[0])
        top_at = np.argmax(a, axis=1)
        row_max = a[rows, top_at]
        np.exp(a, out=e)
        e[rows, top_at] = 0
        tail = np.log1p(np.add.reduce(e, axis=1) / np.exp(row_max.astype(np.float64)))
        np.subtract(a, row_max[:, np.newaxis], out=e)
        e -= tail.astype(x.dtype)[:, np.newaxis]
    return out


def _torch_loss(function, x, target):
    logits = x.detach().clone().requires_grad_(True)
    loss = function(logits, target)
    loss.backward()
    return loss, logits.grad


CASES = [
    # name, nnmath, scipy, torch, target (x np.exp), peak memory target (x input)
    ("softmax", lambda x, y, t: nm.softmax(x), lambda x, y, t: special.softmax(x, axis=-1),
     lambda x, y, t: torch.softmax(x, -1), 2.5, None),
    ("  same passes, bare", lambda x, y, t: _softmax_passes(x), None, None, None, None),
    ("log_softmax", lambda x, y, t: nm.log_softmax(x), lambda x, y, t: special.log_softmax(x, axis=-1),
     lambda x, y, t: torch.log_softmax(x, -1), 3.4, None),
    ("  same passes, bare", lambda x, y, t: _log_softmax_passes(x), None, None, None, None),
    ("logsumexp", lambda x, y, t: nm.logsumexp(x), lambda x, y, t: special.logsumexp(x, axis=-1),
     lambda x, y, t: torch.logsumexp(x, -1), None, None),
    # Two calls, two passes over the logits; the one-pass function below is how a training
    # step gets both, and it carries the target of "softmax cross-entropy + gradient".
    ("softmax_cross_entropy + grad",
     lambda x, y, t: (nm.softmax_cross_entropy(x, y), nm.softmax_cross_entropy_grad(x, y)),
     lambda x, y, t: _scipy_cross_entropy(x, y),
     lambda x, y, t: _torch_loss(F.cross_entropy, x, y), None, 3.0),
    ("softmax_cross_entropy_with_grad",
     lambda x, y, t: nm.softmax_cross_entropy_with_grad(x, y),
     lambda x, y, t: _scipy_cross_entropy(x, y),
     lambda x, y, t: _torch_loss(F.cross_entropy, x, y), 3.1, 3.0),
    ("SoftmaxWithLoss forward + backward", _layer_forward_backward,
     lambda x, y, t: _scipy_cross_entropy(x, y),
     lambda x, y, t: _torch_loss(F.cross_entropy, x, y), 3.1, 3.0),
    ("sigmoid", lambda x, y, t: nm.sigmoid(x), lambda x, y, t: special.expit(x),
     lambda x, y, t: torch.sigmoid(x), 2.7, None),
    ("sigmoid_grad", lambda x, y, t: nm.sigmoid_grad(x), lambda x, y, t: special.expit(x) * special.expit(-x),
     None, None, None),
    ("tanh", lambda x, y, t: nm.tanh(x), None, lambda x, y, t: torch.tanh(x), None, None),
    ("binary_cross_entropy + grad",
     lambda x, y, t: (nm.binary_cross_entropy_with_logits(x, t), nm.binary_cross_entropy_with_logits_grad(x, t)),
     lambda x, y, t: _scipy_binary_cross_entropy(x, t),
     lambda x, y, t: _torch_loss(F.binary_cross_entropy_with_logits, x, t), 9.5, 4.0),
]  # fmt: skip


# Measuring. ------------------------------------------------------------------------------


def interleaved_times(runs, repeat, clock):
    """Time each of ``runs`` once per round, round after round (after one warm-up round).

    Running them in turn, rather than one after the other, exposes all of them to the
    same disturbances from other programs, so that ratios of times taken in one round
    are stable even when the times themselves are not.
    """
    times = {name: [] for name in runs}
    for round_ in range(repeat + 1):
        for name, run in runs.items():
            start = clock()
            run()
            if round_:
                times[name].append(clock() - start)
    return times


def median_ratio(numerator, denominator):
    return float(np.median(np.asarray(numerator) / np.asarray(denominator)))


def quartile_ratios(numerator, denominator):
    """The lower and upper quartiles of the rounds' ratios."""
    return tuple(float(q) for q in np.quantile(np.asarray(numerator) / np.asarray(denominator), [0.25, 0.75]))


def peak_memory(run):
    """Bytes allocated at the peak of one run (what the run returns is kept until the end)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = run()  # noqa: F841 - held so that the returned arrays count
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def inputs(rows, cols, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=3.0, size=(rows, cols)).astype(dtype)  # logits of a classifier
    labels = rng.integers(0, cols, size=rows)
    targets = rng.uniform(size=(rows, cols)).astype(dtype)
    return x, labels, targets


def bench(rows, cols, repeat, clock):
    header = (f"{'function':30} {'dtype':8} {'x exp':>6} {'spread':>10} {'target':>7} {'x scipy':>8} {'x torch':>8} "
              f"{'peak':>6} {'target':>7}")
    print(header)
    print("-" * len(header))
    verdicts = []
    for dtype in (np.float64, np.float32):
        x, labels, targets = inputs(rows, cols, dtype)
        if torch is not None:
            tx, tlabels, ttargets = torch.from_numpy(x), torch.from_numpy(labels), torch.from_numpy(targets)
        for name, ours, theirs, pytorch, target, memory_target in CASES:
            # Each closure binds this iteration's values (they are all called before the next one).
            args = (x, labels, targets)
            runs = {"exp": lambda x=x: np.exp(x), "ours": lambda f=ours, a=args: f(*a)}
            if theirs is not None:
                runs["scipy"] = lambda f=theirs, a=args: f(*a)
            if torch is not None and pytorch is not None:
                runs["torch"] = lambda f=pytorch, a=(tx, tlabels, ttargets): f(*a)
            times = interleaved_times(runs, repeat, clock)
            ratio = median_ratio(times["ours"], times["exp"])
            low, high = quartile_ratios(times["ours"], times["exp"])
            scipy_ratio = median_ratio(times["ours"], times["scipy"]) if "scipy" in times else None
            torch_ratio = median_ratio(times["ours"], times["torch"]) if "torch" in times else None
            peak = peak_memory(lambda f=ours, a=args: f(*a)) / x.nbytes
            print(
                f"{name:30} {np.dtype(dtype).name:8} {ratio:6.2f} {f'{low:.2f}-{high:.2f}':>10} {_fmt(target, '<='):>7} "
                f"{_fmt(scipy_ratio):>8} "
                f"{_fmt(torch_ratio):>8} {peak:6.2f} {_fmt(memory_target, '<='):>7}"
            )
            verdicts += _verdicts(name, dtype, ratio, target, scipy_ratio, peak, memory_target)
    print()
    print("\n".join(verdicts) if verdicts else "Every target is met.")


def _fmt(value, prefix=""):
    return "-" if value is None else f"{prefix}{value:.2f}"


def _verdicts(name, dtype, ratio, target, scipy_ratio, peak, memory_target):
    where = f"{name} ({np.dtype(dtype).name})"
    missed = []
    if target is not None and ratio > target:
        missed.append(f"MISSED {where}: {ratio:.2f} x np.exp, target {target}")
    if scipy_ratio is not None and scipy_ratio > 1:
        missed.append(f"MISSED {where}: {scipy_ratio:.2f} x the time of scipy.special")
    if memory_target is not None and peak > memory_target:
        missed.append(f"MISSED {where}: peak memory {peak:.2f} x the input, target {memory_target}")
    return missed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--cols", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--clock", choices=["thread", "wall"], default="thread")
    args = parser.parse_args()
    clock = time.thread_time if args.clock == "thread" else time.perf_counter
    torch_text = f"torch {torch.__version__} ({torch.get_num_threads()} thread)" if torch is not None else "torch not installed"
    print(
        f"nnmath {nm.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"{torch_text}; {platform.processor() or platform.machine()}, one thread, {args.clock} clock, "
        f"median of {args.repeat} rounds, x of shape ({args.rows}, {args.cols})\n"
    )
    import_time()
    bench(args.rows, args.cols, args.repeat, clock)


def import_time(repeat=7, target=0.25):
    """``import nnmath`` in a fresh interpreter that has already imported NumPy (median of runs)."""
    import subprocess
    import sys

    code = "import time, numpy; s = time.perf_counter(); import nnmath; print(time.perf_counter() - s)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(repeat)]
    median = float(np.median(runs))
    verdict = "met" if median <= target else "MISSED"
    print(f"import nnmath after numpy: {median:.3f} s (median of {repeat}), target <= {target} s: {verdict}\n")


if __name__ == "__main__":
    main()
