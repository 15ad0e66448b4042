"""The chapters are stored the way nbval needs them.

nbval compares a fresh run with the stored outputs, but it silently compares nothing in a cell
stored unexecuted (``execution_count: null``). These checks make sure every chapter was stored
executed top to bottom, without errors, with the project's kernel, and that every chapter is
in the table of contents.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(notebook):
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def test_there_are_chapters():
    assert CHAPTERS, "chapters/ holds no notebooks"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_stored_executed_top_to_bottom(path):
    counts = [cell["execution_count"] for cell in code_cells(load(path))]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: run `make execute` (counts {counts})"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_error_outputs(path):
    for index, cell in enumerate(code_cells(load(path))):
        types = [output["output_type"] for output in cell["outputs"]]
        assert "error" not in types, f"{path.name}, code cell {index}: stored output is an error"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_kernel_and_no_path_tricks(path):
    notebook = load(path)
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    sources = "\n".join("".join(cell["source"]) for cell in code_cells(notebook))
    assert not re.search(r"sys\.path\.(append|insert)", sources), "install nnmath instead of editing sys.path"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_stderr_in_stored_outputs(path):
    """Warnings print to stderr; the book promises none for finite input."""
    for index, cell in enumerate(code_cells(load(path))):
        for output in cell["outputs"]:
            assert output.get("name") != "stderr", f"{path.name}, code cell {index}: {output.get('text')}"


def test_every_chapter_is_in_the_table_of_contents_and_every_entry_exists():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    listed = re.findall(r"file:\s*(\S+)", toc)
    assert {f"chapters/{path.stem}" for path in CHAPTERS} <= set(listed)
    missing = [name for name in listed if not any((ROOT / f"{name}{suffix}").is_file() for suffix in (".ipynb", ".md"))]
    assert not missing


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_installs_nnmath_where_missing(path):
    """Opened on Colab (a launch button), a chapter must install nnmath itself, quietly."""
    repository = re.search(r"^\s*url:\s*(\S+)", (ROOT / "_config.yml").read_text(encoding="utf-8"), re.MULTILINE).group(1)
    first = code_cells(load(path))[0]
    source = "".join(first["source"])
    assert "except ModuleNotFoundError:" in source and "%pip install --quiet" in source
    assert f"git+{repository}@main" in source
    assert "remove-cell" in first["metadata"].get("tags", []), "the install cell is for Colab, not for the page"
