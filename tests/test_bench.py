"""``make bench`` runs, and its yardsticks compute what they stand for.

Nothing here is timed (speed is reported by ``make bench``, never asserted by a test). The
benchmark runs in a subprocess, because importing it pins this process's BLAS to one thread.
"""

import pathlib
import subprocess
import sys

BENCH = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


def test_bench_prints_every_case_in_both_dtypes():
    result = subprocess.run(
        [sys.executable, str(BENCH), "--rows", "16", "--cols", "7", "--repeat", "1"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    for dtype in ("float64", "float32"):
        rows = [line for line in result.stdout.splitlines() if f" {dtype} " in line]
        assert sum("same passes, bare" in line for line in rows) == 2  # under softmax and log_softmax
        assert any(line.startswith("SoftmaxWithLoss forward + backward") for line in rows)
        assert any(line.startswith("softmax_cross_entropy_with_grad") for line in rows)
    assert "import nnmath after numpy:" in result.stdout


def test_bench_yardsticks_compute_softmax_and_log_softmax():
    # The bare passes stand for the passes nnmath makes: they must compute the same function,
    # to within the functions' accuracy bounds (4 ulp in float64, 6 in float32), on logits
    # spread as the benchmark's are, over many small blocks (a partial last one included).
    code = f"""
import importlib.util, numpy as np, nnmath.testing as nmt
spec = importlib.util.spec_from_file_location("bench", {str(BENCH)!r})
bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
bench.ROW_BLOCK_BYTES = 2400  # 3 rows of 100 float64 per block, 6 of float32
for dtype, limit in ((np.float64, 4), (np.float32, 6)):
    x = np.random.default_rng(1).normal(scale=3.0, size=(41, 100)).astype(dtype)
    assert len(bench._blocks(x)) > 6
    nmt.assert_ulp_within(bench._softmax_passes(x), nmt.exact_softmax(x), limit)
    nmt.assert_ulp_within(bench._log_softmax_passes(x), nmt.exact_log_softmax(x), limit)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
