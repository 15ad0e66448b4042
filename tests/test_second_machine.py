"""Every chapter gives the same outputs on other machines: nbval again, as other CPUs.

NumPy picks its SIMD kernels at run time, and ``np.exp``, ``np.log``, ``np.log1p``,
``np.expm1`` and ``np.tanh`` round differently in their last bits on AVX-512, AVX2 and SSE
machines. A stored output that prints such a last bit (a gradient check's 1e-11, an ulp
count) passes here and fails on a reader's machine. So every chapter is re-run under nbval
once per dispatch level below this machine's own whose results differ, with NumPy's
dispatch cut down by ``NPY_DISABLE_CPU_FEATURES``:

* ``X86_V3``: AVX2 and FMA kernels;
* ``X86_V2``: the SSE baseline every x86-64 NumPy runs on.

The AVX-512 level without the ICL and SPR extensions (``X86_V4``, Skylake-X) gives the same
bits as this machine's own for every function the book uses, in float16, float32 and float64;
a test below proves it, so that pass would repeat the native one (and the test fails, asking
for the pass, the day a NumPy makes them differ). A level this machine does not reach is the
native pass itself and is skipped. The BLAS is
the other source of differences (OpenBLAS picks its matmul kernel per CPU); it cannot be
simulated here without overriding what the machine sets (``OPENBLAS_CORETYPE`` is left
alone), so the chapters print training results at a precision its noise cannot reach.

On hosts that are not x86-64 the variable means nothing and the module is skipped. Run it
alone with ``make second-machine``.
"""

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# NumPy 2.4's x86 dispatch groups, lowest first; each needs the ones before it.
GROUPS = ["X86_V3", "X86_V4", "AVX512_ICL", "AVX512_SPR"]


def _numpy_cpu():
    from numpy._core import _multiarray_umath as umath

    return list(umath.__cpu_dispatch__), {name for name, present in umath.__cpu_features__.items() if present}


def _skip_unless_x86():
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip(f"SECOND-MACHINE PASS NOT RUN: NPY_DISABLE_CPU_FEATURES means nothing on {platform.machine()}")


def run_chapters_at(level):
    """Run nbval over every chapter with NumPy dispatching up to ``level`` (a group, or the baseline)."""
    _skip_unless_x86()
    dispatch, present = _numpy_cpu()
    above = GROUPS[GROUPS.index(level) + 1 :] if level in GROUPS else GROUPS
    disabled = [group for group in above if group in dispatch]
    if not any(group in present for group in disabled):
        pytest.skip(f"this machine's NumPy already runs at {level}: the native pass covers it")
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=" ".join(disabled), PYTHONHASHSEED="0")
    # Prove the variable took effect before trusting a green run.
    probe = subprocess.run(
        [sys.executable, "-c", ("from numpy._core import _multiarray_umath as u; "
                                "print(' '.join(k for k, v in u.__cpu_features__.items() if v))")],
        env=env, capture_output=True, text=True, check=True,
    )
    still_on = set(disabled) & set(probe.stdout.split())
    assert not still_on, f"NPY_DISABLE_CPU_FEATURES did not turn off {still_on}: {probe.stderr}"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-q", "--color=no", "chapters"],
        cwd=ROOT, env=env, check=False, capture_output=True, text=True, timeout=1200,
    )
    if result.returncode != 0:
        report = result.stdout
        failures = re.findall(r"^_+ (chapters/\S+ ?)_*$", report, re.MULTILINE)
        pytest.fail(
            f"with NPY_DISABLE_CPU_FEATURES={env['NPY_DISABLE_CPU_FEATURES']!r} these cells print other "
            f"outputs (fix the output, not the sanitizer: print a bound or fewer digits): {failures}\n"
            + report[-6000:],
            pytrace=False,
        )
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary


# One class per level: pytest-xdist (--dist loadscope) runs the levels on different workers. The
# Makefile keeps the collection order (--no-loadscope-reorder), so that the long units start
# first: the site check, this AVX2 pass, a short unit, then the SSE pass.
class TestAVX2:
    def test_chapters_at_x86_v3(self):
        run_chapters_at("X86_V3")


# Every NumPy function through which the chapters' printed numbers pass, in every float dtype.
FINGERPRINT = """
import hashlib, numpy as np
rng = np.random.default_rng(0)
digest = hashlib.sha256()
for dtype in (np.float16, np.float32, np.float64):
    x = rng.uniform(-30, 30, 100000).astype(dtype)
    a = np.abs(x)
    with np.errstate(all="ignore"):
        for result in (np.exp(x), np.expm1(x), np.tanh(x), np.log(a), np.log1p(a), np.log2(a), np.exp2(x),
                       np.sin(x), np.cos(x), np.arctan(x), np.sqrt(a), np.power(a, 1.7), np.cbrt(x),
                       x[:40000].reshape(200, 200) @ x[40000:80000].reshape(200, 200)):
            digest.update(result.tobytes())
print(digest.hexdigest())
"""


def fingerprint(disabled=()):
    env = dict(os.environ, PYTHONHASHSEED="0", NPY_DISABLE_CPU_FEATURES=" ".join(disabled))
    return subprocess.run([sys.executable, "-c", FINGERPRINT], env=env, capture_output=True, text=True, check=True).stdout


def test_the_levels_run_differ_and_the_level_not_run_does_not():
    """The pass proves something only where cutting the dispatch changes results; and the
    AVX-512 level it leaves out must give this machine's own bits."""
    _skip_unless_x86()
    dispatch, present = _numpy_cpu()
    groups = [group for group in GROUPS if group in dispatch and group in present]
    if not groups:
        pytest.skip("this machine has no dispatch level above the baseline")
    native = fingerprint()
    if "X86_V3" in groups:
        assert fingerprint(groups) != native, "the SSE baseline gives this machine's bits: the pass proves nothing"
    if "X86_V4" in groups:
        assert fingerprint(groups[groups.index("X86_V4"):]) != native, "AVX2 gives this machine's bits"
        assert fingerprint(groups[groups.index("X86_V4") + 1 :]) == native, (
            "AVX-512 without ICL/SPR now differs from this machine: add a pass at X86_V4"
        )
    assert np.__version__ == "2.4.6", "the groups above are NumPy 2.4's; check them when NumPy changes"


class TestSSEBaseline:
    def test_chapters_at_x86_v2(self):
        run_chapters_at("X86_V2")
