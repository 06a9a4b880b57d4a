"""The grade command: same results as serial nbgrader, resumable, and honest about failures."""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from helpers import (
    COHORT,
    alive,
    cmdline,
    gradebook_rows,
    make_course,
    read_rows,
    read_table,
    scenario_nb,
    with_nbgraders_own_steps,
)
from nbgrader.api import Gradebook

from lrcourse import grade as grade_module
from lrcourse.course import ASSIGNMENT
from lrcourse.export import export
from lrcourse.grade import grade
from lrcourse.status import StatusStore

pytestmark = pytest.mark.slow  # not in the fast lane: the grade verb on a course

STEM = "ex1_probability_curve"


def kernel_killer():
    nb = scenario_nb(STEM, "solution")
    first_answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1_model")
    first_answer.source = "import os\nos._exit(0)"
    return nb


def exported(course) -> dict[str, dict]:
    out = export(root=str(course.root), to="exports/grades.csv")
    return {r["student_id"]: r for r in read_rows(out)}


@pytest.fixture(scope="module")
def serial_and_parallel(tmp_path_factory):
    base = tmp_path_factory.mktemp("equivalence")
    # nbgrader autograde with nbgrader's own gradebook steps, not the course's (one Gradebook a run)
    serial = with_nbgraders_own_steps(make_course(base / "serial", COHORT))
    proc = serial.nbgrader("autograde", ASSIGNMENT, quiet=True)
    assert proc.returncode == 0
    parallel = make_course(base / "parallel", COHORT)
    report = grade(root=str(parallel.root), workers=2, progress=False)
    return serial, parallel, report


def test_parallel_grading_writes_the_same_gradebook_rows_as_serial_nbgrader(serial_and_parallel):
    serial, parallel, report = serial_and_parallel
    assert not report.failed and len(report.graded) == len(COHORT)
    expected = gradebook_rows(serial)
    assert expected and gradebook_rows(parallel) == expected


def test_parallel_grading_writes_the_same_autograded_notebooks_as_serial_nbgrader(serial_and_parallel):
    serial, parallel, _ = serial_and_parallel
    for student in COHORT:
        a = serial.step_dir("autograded", student) / f"{STEM}.ipynb"
        b = parallel.step_dir("autograded", student) / f"{STEM}.ipynb"
        assert a.read_text() == b.read_text(), student


def test_parallel_grading_exports_the_same_totals_as_serial_nbgrader(serial_and_parallel):
    serial, parallel, _ = serial_and_parallel
    ours = exported(parallel)
    serial.nbgrader("export", f"--to={serial.root / 'theirs.csv'}", quiet=True)
    theirs = {r["student_id"]: r for r in read_rows(serial.root / "theirs.csv")}
    assert {s: r["score"] for s, r in ours.items()} == {s: r["score"] for s, r in theirs.items()}
    # `graded` only once written answers are graded: the blank release's were left as released
    # (nbgrader scores them 0), the scenarios' wait for a grader
    assert {s: r["status"] for s, r in ours.items()} == {
        "correct": "autograded", "sklearn": "autograded", "mistake-medians": "autograded", "blank": "graded"}


def test_the_workers_share_the_grading_runs_kernel_template(tmp_path):
    """One template (its imports, its memory) per grading run, not one per worker: every
    template the run's kernels and verifiers come from is keyed by the grading process
    (warm.owner, warm.prestart). Watched while `lrcourse grade -j 2` runs; a time zone of its
    own tells this run's templates from any other's."""
    from lrcourse.sandbox import unavailable_reason, warm
    from lrcourse.sandbox.shell import warm_spec

    if unavailable_reason() or warm.unavailable_reason():
        pytest.skip("kernels are not forked warm here")
    course = make_course(tmp_path / "course", {k: COHORT[k] for k in ("correct", "blank")})
    env = {**os.environ, "TZ": "LRC" + "".join(random.choices(string.ascii_uppercase, k=8)) + "0"}
    with pytest.MonkeyPatch.context() as patch:  # the kernels' environment under this run's time zone
        patch.setenv("TZ", env["TZ"])
        _, kernels_env = warm_spec(course.config.Execute.kernel_name)
    digest = warm.template_key(0, kernels_env).rsplit("-", 1)[1]
    seen, runs = set(), set()
    with subprocess.Popen([sys.executable, "-m", "lrcourse.cli", "grade", "-j", "2", "--no-progress"],
                          cwd=course.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        while proc.poll() is None:
            seen |= {p.name for p in warm.folder().glob(f"*-{digest}.sock")}
            runs |= {p.name for p in warm.folder().glob(f"{proc.pid}-*.sock")}
            time.sleep(0.02)
        out = proc.stdout.read()
    assert proc.returncode == 0, out
    assert seen and all(name.startswith(f"{proc.pid}-") for name in seen), (proc.pid, seen)
    # the one the CLI started before loading nbgrader_config.py (cli.head_start) is that one
    assert runs == seen and len(seen) == 1, (runs, seen)
    # nothing left to grade: the template the CLI started is stopped, not left importing (about 2 s of CPU)
    with subprocess.Popen([sys.executable, "-m", "lrcourse.cli", "grade", "--no-progress"], cwd=course.root,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as again:
        out = again.communicate()[0]
    assert again.returncode == 0 and "0 notebooks graded" in out, out
    assert not _live_templates_of(again.pid)
    rows = exported(course)
    assert rows["correct"]["status"] == "autograded" and rows["blank"]["status"] == "graded"


def _live_templates_of(grader: int) -> list[int]:
    """Processes running `lrcourse.sandbox.warm` for the grading process `grader` (zombies aside)."""
    pids = [int(proc.name) for proc in Path("/proc").iterdir() if proc.name.isdigit()]
    return [pid for pid in pids if {b"lrcourse.sandbox.warm", f"--grader={grader}".encode()} <= set(
        cmdline(pid).split(b"\0")) and alive(pid)]


@pytest.fixture
def cohort(tmp_path):
    students = dict(COHORT)
    students["kernel-killer"] = kernel_killer
    return make_course(tmp_path / "course", students)


def test_a_dead_kernel_is_reported_not_scored_zero_and_the_batch_goes_on(cohort):
    report = grade(root=str(cohort.root), workers=2, progress=False)
    assert [(s, nb) for s, nb, _ in report.failed] == [("kernel-killer", STEM)]
    assert "kernel died" in report.failed[0][2]
    assert {s for s, _ in report.graded} == set(COHORT)
    rows = exported(cohort)
    assert rows["kernel-killer"]["status"] == "not graded" and rows["kernel-killer"]["score"] == ""
    assert "kernel died" in rows["kernel-killer"]["problems"]
    assert rows["blank"]["status"] == "graded" and float(rows["blank"]["score"]) == 0.0
    by_q = read_table(cohort.root / "exports" / "grades_by_question.csv")
    killer = next(r for r in by_q if r[0] == "kernel-killer")
    assert set(killer[1:-1]) == {""} and killer[-1] == "not graded"
    with Gradebook(cohort.db_url) as gb:
        nb = gb.find_submission_notebook(STEM, ASSIGNMENT, "kernel-killer")
        assert all(g.needs_manual_grade for g in nb.grades if g.cell_type == "code"), "flagged for review"


def test_a_failed_regrade_never_leaves_the_previous_score_in_place(cohort):
    grade(root=str(cohort.root), workers=2, progress=False, students=["correct"])
    assert exported(cohort)["correct"]["status"] == "autograded"  # its written answers wait for a grader
    target = cohort.step_dir("submitted", "correct") / f"{STEM}.ipynb"
    target.write_text(target.read_text()[:500])
    report = grade(root=str(cohort.root), workers=2, progress=False, students=["correct"])
    assert [s for s, _, _ in report.failed] == ["correct"]
    row = exported(cohort)["correct"]
    assert row["status"] == "not graded" and row["score"] == "" and "not a valid notebook" in row["problems"]
    assert not (cohort.step_dir("autograded", "correct") / f"{STEM}.ipynb").exists()


def test_a_changed_submission_is_reported_stale_until_it_is_regraded(cohort):
    grade(root=str(cohort.root), workers=2, progress=False, students=["sklearn"])
    path = cohort.step_dir("submitted", "sklearn") / f"{STEM}.ipynb"
    nbformat.write(scenario_nb(STEM, "others-held-at-medians"), str(path))
    row = exported(cohort)["sklearn"]
    assert row["status"] == "not graded" and row["score"] == "" and "changed since it was graded" in row["problems"]


def test_up_to_date_students_are_skipped_and_force_regrades_them(cohort):
    first = grade(root=str(cohort.root), workers=2, progress=False, students=["correct", "blank"])
    assert len(first.graded) == 2
    again = grade(root=str(cohort.root), workers=2, progress=False, students=["correct", "blank"])
    assert again.skipped == ["blank", "correct"] and not again.graded
    shutil.copy(cohort.step_dir("submitted", "sklearn") / f"{STEM}.ipynb",
                cohort.step_dir("submitted", "blank") / f"{STEM}.ipynb")
    changed = grade(root=str(cohort.root), workers=2, progress=False, students=["correct", "blank"])
    assert changed.skipped == ["correct"] and changed.graded == [("blank", STEM)]
    forced = grade(root=str(cohort.root), workers=2, progress=False, students=["correct", "blank"], force=True)
    assert not forced.skipped and len(forced.graded) == 2


def test_an_interrupted_run_resumes_where_it_stopped(cohort, monkeypatch):
    calls = []
    original = grade_module.Grader.record

    def record_then_interrupt(self, student, out, executed):
        calls.append(student)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, student, out, executed)

    monkeypatch.setattr(grade_module.Grader, "record", record_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        grade(root=str(cohort.root), workers=1, progress=False, students=["blank", "correct", "sklearn"])
    monkeypatch.setattr(grade_module.Grader, "record", original)
    store = StatusStore(cohort)
    assert store.students["blank"].complete and not store.students["correct"].complete
    assert "interrupted" in exported(cohort)["correct"]["problems"]
    resumed = grade(root=str(cohort.root), workers=1, progress=False, students=["blank", "correct", "sklearn"])
    assert resumed.skipped == ["blank"] and {s for s, _ in resumed.graded} == {"correct", "sklearn"}
    assert exported(cohort)["correct"]["status"] == "autograded"  # its written answers wait for a grader
    assert json.loads((cohort.root / "exports" / "students" / "correct.json").read_text())["status"] == "autograded"


def test_tampering_is_flagged_for_review_in_the_exports(tmp_path):
    nb = scenario_nb(STEM, "solution")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex1_model_tests":
            cell.source = "pass"  # edited test cell: nbgrader restores it, a grader should still know
    course = make_course(tmp_path / "course", {"tamperer": lambda: nb, "honest": lambda: scenario_nb(STEM, "solution")})
    report = grade(root=str(course.root), workers=2, progress=False)
    assert [(s, n) for s, n, _ in report.review] == [("tamperer", STEM)]
    assert "ex1_model_tests" in report.review[0][2]
    rows = exported(course)
    assert "ex1_model_tests" in rows["tamperer"]["review"] and rows["honest"]["review"] == ""
    assert rows["tamperer"]["status"] == rows["honest"]["status"] == "autograded"  # written answers wait


def test_a_huge_print_is_cut_before_it_reaches_the_autograded_notebook(tmp_path):
    nb = scenario_nb(STEM, "solution")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex1_model":
            cell.source += "\nprint('x' * 5_000_000)"
    course = make_course(tmp_path / "course", {"printer": lambda: nb})
    report = grade(root=str(course.root), workers=1, progress=False)
    assert report.graded == [("printer", STEM)]
    autograded = course.step_dir("autograded", "printer") / f"{STEM}.ipynb"
    assert autograded.stat().st_size < 2_000_000
    assert "bytes of output removed: over the grader's limit of 1,000,000 bytes per cell" in autograded.read_text()
