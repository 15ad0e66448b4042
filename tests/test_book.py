"""The book builds with warnings as errors, exactly as `make book` builds it."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")


@pytest.mark.slow
def test_book_builds_without_warnings(tmp_path):
    result = subprocess.run(
        [str(JUPYTER_BOOK), "build", str(ROOT), "-W", "-n", "--keep-going", "--path-output", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    assert "WARNING" not in log, log[-5000:]
    html = tmp_path / "_build" / "html"
    for page in ["index.html", "chapters/01_sigmoid.html"]:
        assert (html / page).is_file(), f"{page} was not built"
    sigmoid = (html / "chapters" / "01_sigmoid.html").read_text(encoding="utf-8")
    assert r"\begin{aligned}" in sigmoid, "the derivation did not render as math"
    assert "<img" in sigmoid, "the figure did not render"
