"""Generated folders are in sync with exercises/, and release/ leaks nothing."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import EXERCISES, HIDDEN, ROOT, hidden_blocks, references, release_nb, source_nb

from lrcourse.build import build
from lrcourse.course import ASSIGNMENT, KERNEL_NAME
from lrcourse.goldens import differences
from lrcourse.notebooks import SOLUTION_MARKER


def same(expected, actual) -> bool:
    if isinstance(expected, (list, tuple)):
        return isinstance(actual, (list, tuple)) and len(expected) == len(actual) and all(
            same(e, a) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, dict):
        return isinstance(actual, dict) and expected.keys() == actual.keys() and all(
            same(expected[k], actual[k]) for k in expected)
    if isinstance(expected, bool) or isinstance(expected, str) or expected is None:
        return expected == actual
    return isinstance(actual, (int, float)) and math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12)


@pytest.fixture(scope="session")
def rebuilt(tmp_path_factory) -> Path:
    """A fresh build of the course from exercises/ alone."""
    root = tmp_path_factory.mktemp("rebuilt")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "exercises", root / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    build(root=str(root))
    return root


@pytest.mark.parametrize("stem", EXERCISES)
def test_every_reference_value_equals_what_the_solution_computes(stem):
    from nbclient import NotebookClient

    refs = references(stem)
    assert refs, f"{stem} has no `# ref:` reference values in its hidden tests"
    nb = source_nb(stem)
    probe = "import json as _json\nprint(_json.dumps([" + ", ".join(expr for _, _, expr in refs) + "]))"
    nb.cells.append(nbformat.v4.new_code_cell(probe))
    NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=120, resources={"metadata": {"path": str(ROOT)}}).execute()
    out = [o for o in nb.cells[-1].outputs if o.output_type == "stream" and o.name == "stdout"]
    values = json.loads(out[0].text)
    wrong = [f"{name} = {lit!r} but `{expr}` = {val!r}"
             for (name, lit, expr), val in zip(refs, values, strict=True) if not same(lit, val)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("stem", EXERCISES)
def test_release_has_no_solutions_hidden_tests_or_reference_values(stem):
    src, rel = source_nb(stem), release_nb(stem)
    text = nbformat.writes(rel)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "# ref:"):
        assert marker not in text, f"release/{stem} contains {marker!r}"
    shown = "\n".join(c.source for c in src.cells if not c.metadata.nbgrader.get("solution"))
    shown_lines = {line.strip() for line in HIDDEN.sub("", shown).splitlines()}
    secret_lines = {line.strip() for b in hidden_blocks(src) for line in b.splitlines()}
    for c in src.cells:
        if c.metadata.nbgrader.get("solution"):
            secret_lines |= {line.strip() for line in c.source.splitlines() if not SOLUTION_MARKER.match(line)}
    rel_lines = {line.strip() for c in rel.cells for line in c.source.splitlines()}
    leaked = sorted(line for line in secret_lines & rel_lines if len(line) >= 12 and line not in shown_lines)
    assert not leaked, f"release/{stem} shows solution or hidden-test lines: {leaked[:5]}"
    for _, literal, _ in references(stem):
        for number in re.findall(r"-?\d+\.\d{4,}", repr(literal)):
            assert number not in text, f"release/{stem} contains the reference value {number}"
    assert not any(c.get("outputs") for c in rel.cells if c.cell_type == "code")


@pytest.mark.parametrize("stem", EXERCISES)
def test_answer_cells_in_release_are_stubs(stem):
    for cell in release_nb(stem).cells:
        meta = cell.metadata.nbgrader
        if meta.get("solution"):
            assert cell.source.strip() in ("# YOUR CODE HERE\nraise NotImplementedError()", "YOUR ANSWER HERE")


def test_contract_check_passes():
    checker = ROOT.parent / "shared" / "tools" / "contract_check.py"
    if not checker.is_file():
        pytest.skip("../shared/tools/contract_check.py is not beside this checkout")
    proc = subprocess.run([sys.executable, str(checker), *EXERCISES], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow  # rebuilds every exercise
@pytest.mark.parametrize("step", ["source", "release", "solutions"])
def test_rebuilding_from_exercises_reproduces_what_is_committed(rebuilt, step):
    """Equivalent under lrcourse.goldens: printed numbers may differ in their last digits
    (another CPU or BLAS), plots are not compared; everything else must be the same."""
    committed = sorted(p.relative_to(ROOT) for p in (ROOT / step / ASSIGNMENT).rglob("*") if p.is_file())
    fresh = sorted(p.relative_to(rebuilt) for p in (rebuilt / step / ASSIGNMENT).rglob("*") if p.is_file())
    assert committed == fresh
    for rel in committed:
        if rel.suffix == ".html":
            continue  # rendered from the .ipynb compared here
        found = differences((ROOT / rel).read_bytes(), (rebuilt / rel).read_bytes(), str(rel))
        assert not found, f"{rel} is out of date: run `make build`\n" + "\n".join(found)


@pytest.mark.parametrize("stem", EXERCISES)
def test_source_notebooks_carry_no_outputs(stem):
    assert not any(c.get("outputs") or c.get("execution_count") for c in source_nb(stem).cells
                   if c.cell_type == "code")
