"""Every chapter gives the same outputs on other machines: nbval again, as other CPUs.

NumPy picks its SIMD kernels at run time, and ``np.exp``, ``np.log``, ``np.log1p``,
``np.expm1`` and ``np.tanh`` round differently in their last bits on AVX-512, AVX2 and SSE
machines. A stored output that prints such a last bit (a gradient check's 1e-11, an ulp
count) passes here and fails on a reader's machine. So every chapter is re-run under nbval
once per dispatch level below this machine's own, with NumPy's dispatch cut down by
``NPY_DISABLE_CPU_FEATURES``:

* ``X86_V4``: AVX-512 (SKX) kernels, with AVX512_ICL and AVX512_SPR (float16) turned off;
* ``X86_V3``: AVX2 and FMA kernels;
* ``X86_V2``: the SSE baseline every x86-64 NumPy runs on.

A level this machine does not reach is the native pass itself and is skipped. The BLAS is
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


def run_chapters_at(level):
    """Run nbval over every chapter with NumPy dispatching up to ``level`` (a group, or the baseline)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip(f"SECOND-MACHINE PASS NOT RUN: NPY_DISABLE_CPU_FEATURES means nothing on {platform.machine()}")
    dispatch, present = _numpy_cpu()
    above = GROUPS[GROUPS.index(level) + 1 :] if level in GROUPS else GROUPS
    disabled = [group for group in above if group in dispatch]
    if not any(group in present for group in disabled):
        pytest.skip(f"this machine's NumPy already runs at {level}: the native pass covers it")
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=" ".join(disabled), PYTHONHASHSEED="0")
    # Prove the variable took effect before trusting a green run.
    probe = subprocess.run(
        [sys.executable, "-c", "from numpy._core import _multiarray_umath as u; "
         "print(' '.join(k for k, v in u.__cpu_features__.items() if v))"],
        env=env, capture_output=True, text=True, check=True,
    )
    still_on = set(disabled) & set(probe.stdout.split())
    assert not still_on, f"NPY_DISABLE_CPU_FEATURES did not turn off {still_on}: {probe.stderr}"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-q", "--color=no", "chapters"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )
    if result.returncode != 0:
        report = result.stdout
        failures = re.findall(r"^_+ (chapters/\S+ ?)_*$", report, re.M)
        pytest.fail(
            f"with NPY_DISABLE_CPU_FEATURES={env['NPY_DISABLE_CPU_FEATURES']!r} these cells print other "
            f"outputs (fix the output, not the sanitizer: print a bound or fewer digits): {failures}\n"
            + report[-6000:],
            pytrace=False,
        )
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary


# One class per level: pytest-xdist (--dist loadscope) runs the levels on different workers.
class TestAVX512:
    def test_chapters_at_x86_v4(self):
        run_chapters_at("X86_V4")


class TestAVX2:
    def test_chapters_at_x86_v3(self):
        run_chapters_at("X86_V3")


class TestSSEBaseline:
    def test_chapters_at_x86_v2(self):
        run_chapters_at("X86_V2")


def test_the_levels_differ_on_this_machine():
    """The pass is only a proof if cutting the dispatch changes results here."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip(f"SECOND-MACHINE PASS NOT RUN: NPY_DISABLE_CPU_FEATURES means nothing on {platform.machine()}")
    dispatch, present = _numpy_cpu()
    disabled = [group for group in GROUPS if group in dispatch]
    if not any(group in present for group in disabled):
        pytest.skip("this machine has no dispatch level above the baseline")
    code = (
        "import hashlib, numpy as np; x = np.random.default_rng(0).uniform(-50, 50, 100000); "
        "print(hashlib.sha256(np.concatenate([np.exp(x), np.log1p(np.abs(x)), np.tanh(x)]).tobytes()).hexdigest())"
    )
    native = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=dict(os.environ, PYTHONHASHSEED="0")).stdout
    baseline = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env=dict(os.environ, PYTHONHASHSEED="0", NPY_DISABLE_CPU_FEATURES=" ".join(disabled))).stdout
    assert native != baseline, "exp, log1p and tanh give the same bits at every level: the pass proves nothing"
    assert np.__version__ == "2.4.6", "the groups above are NumPy 2.4's; check them when NumPy changes"
