"""The README's main job: the bundled examples are graded end to end, as committed."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from helpers import ROOT, hidden_blocks, read_rows, references, source_nb

from lrcourse.course import ASSIGNMENT
from lrcourse.demo import EXPORT, demo
from lrcourse.examples import EXAMPLES_DIR, make_examples
from lrcourse.goldens import tree_differences
from lrcourse.grade import GradeReport

pytestmark = pytest.mark.slow  # not in the fast lane: the whole demo

STUDENTS = ["example-blank", "example-broken", "example-complete", "example-partial"]


@pytest.fixture(scope="module")
def demo_result(tmp_path_factory) -> tuple[Path, GradeReport]:
    root = tmp_path_factory.mktemp("demo")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for folder in ("source", "release", "examples"):
        shutil.copytree(ROOT / folder, root / folder)
    return root, demo(root=str(root), progress=False)


@pytest.fixture(scope="module")
def demo_run(demo_result) -> Path:
    return demo_result[0]


def files(root: Path, step: str) -> list[Path]:
    return sorted(p.relative_to(root) for p in (root / step).rglob("*") if p.is_file())


def test_examples_are_in_sync_with_release_and_scenarios(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    for folder in ("source", "release", "exercises"):  # the examples are made from the exercises' scenarios
        shutil.copytree(ROOT / folder, tmp_path / folder)
    assert sorted(make_examples(root=str(tmp_path))) == STUDENTS
    assert files(tmp_path, EXAMPLES_DIR) == files(ROOT, EXAMPLES_DIR)
    for rel in files(ROOT, EXAMPLES_DIR):
        assert (tmp_path / rel).read_bytes() == (ROOT / rel).read_bytes(), f"{rel}: run `make examples`"


def test_demo_grades_every_example_student(demo_run):
    lines = (demo_run / EXPORT).read_text().splitlines()
    assert sorted(line.split(",")[3] for line in lines[1:]) == STUDENTS


def test_demo_scores_the_complete_example_full_autograded_marks(demo_run):
    by_question = (demo_run / EXPORT).with_name("grades_by_question.csv").read_text().splitlines()
    header, maxima = by_question[0].split(","), by_question[1].split(",")
    complete = next(line.split(",") for line in by_question if line.startswith("example-complete,"))
    for name, top, got in zip(header[1:], maxima[1:], complete[1:], strict=True):
        if "_tests" in name:
            assert float(got) == float(top), f"example-complete lost points on {name}"


def test_demo_output_matches_what_is_committed(demo_run):
    """Equivalent under lrcourse.goldens: printed numbers may differ in their last digits
    (another CPU or BLAS), plots in notebooks are not compared; grades, messages and every
    other file must be the same. Feedback pages embed the plots: only their names are compared."""
    for step in ("exports", "autograded"):
        found = tree_differences(ROOT / step, demo_run / step)
        assert not found, f"{step}/ differs from a fresh demo: run `make demo`\n" + "\n".join(found[:10])
    assert files(demo_run, "feedback") == files(ROOT, "feedback")


@pytest.mark.parametrize("where", ["committed", "fresh"])
def test_feedback_shows_no_hidden_tests_or_reference_values(demo_run, where):
    root = ROOT if where == "committed" else demo_run
    pages = list((root / "feedback").rglob("*.html"))
    assert pages
    for page in pages:
        text = page.read_text()
        stem = page.stem
        assert "BEGIN HIDDEN TESTS" not in text and "_REF_" not in text, page
        for block in hidden_blocks(source_nb(stem)):
            for line in block.splitlines():
                if len(line.strip()) > 25:
                    assert line.strip() not in text, f"{page} quotes hidden test line {line.strip()!r}"
        for _, literal, _ in references(stem):
            for number in re.findall(r"-?\d+\.\d{4,}", repr(literal)):
                assert number not in text, f"{page} shows the reference value {number}"


def test_broken_example_is_reported_and_others_are_still_graded(demo_result):
    root, report = demo_result
    assert [(s, why) for s, _, why in report.failed if "not a valid notebook" in why] == [
        ("example-broken", "the file is not a valid notebook (not JSON: truncated or edited outside Jupyter)")]
    assert "example-broken" in report.summary() and "FAILED" in report.summary()
    graded = {student for student, _ in report.graded}
    assert {"example-blank", "example-complete", "example-partial"} <= graded
    for student, stem in report.graded:
        nb = nbformat.read(str(root / "autograded" / student / ASSIGNMENT / f"{stem}.ipynb"), as_version=4)
        assert any(c.get("execution_count") for c in nb.cells if c.cell_type == "code"), f"{student}/{stem} not run"


def test_exports_say_the_broken_example_was_not_graded_instead_of_scoring_zero(demo_run):
    rows = {r["student_id"]: r for r in read_rows(demo_run / EXPORT)}
    assert rows["example-broken"]["status"] in ("not graded", "incomplete")
    assert rows["example-broken"]["score"] == "" and "not a valid notebook" in rows["example-broken"]["problems"]
    assert rows["example-complete"]["status"] == "autograded" and float(rows["example-complete"]["score"]) > 0
    assert rows["example-blank"]["status"] == "graded"  # unanswered written answers: nbgrader scores them 0
    record = json.loads((demo_run / "exports" / "students" / "example-broken.json").read_text())
    assert record["status"] in ("not graded", "incomplete") and record["score"] is None
    assert record["notebooks"]["ex1_probability_curve"]["score"] is None


def test_report_lists_the_broken_examples_notebooks_with_their_reasons(demo_run):
    page = (demo_run / "exports" / "report" / "index.html").read_text()
    table = page.split("<h2>Students to look at</h2>", 1)[1].split("</table>", 1)[0]
    row = next(r for r in table.split("<tr>") if "<td>example-broken</td>" in r)
    assert "ex1_probability_curve" in row and "not a valid notebook" in row
    assert "ex2_decision_thresholds" in row and "kernel died" in row.lower()
    assert "<td>example-blank</td>" not in table  # final grade, nothing to look at
