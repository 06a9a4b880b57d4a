"""Inputs grading must not trust: links, special and huge files, shadowing modules, odd names.

One `lrcourse grade` run over one scratch course (two exercises) holds every problem
student at once (module-scoped fixture); exports and feedback are read from it.
Most notebooks are blank releases, so the run costs a handful of kernel starts.

  links          ex1 is a symlink to source/ (refused, failed); ex2 a blank release (graded);
                 links to /proc/self/environ, the gradebook, another student, and a nested one
  specials       ex1 blank (graded); a FIFO, a 64 GiB sparse file, ex2 a 64 GiB sparse "notebook"
  shadow         ex1 blank + a numpy.py that empties every later cell (8/8 if it were imported)
                 and a scipy/ package
  doe            the ex1 solution (8 points); roster name "Doe, Jr." (a comma in the CSV)
  O'Brien, Pat   a folder name with a quote, a comma and a space; ex1 blank with the
                 text `### BEGIN HIDDEN TESTS` in an answer cell (feedback must still be written)
  bad[id]        a student id nbgrader's path globbing cannot handle: refused up front
  formats        ex1 blank with a kernelspec without a name (graded: grading replaces it),
                 ex2 blank with language_info a string (fails: off the notebook format)
"""

from __future__ import annotations

import json
import os

import pytest
from helpers import read_rows, read_table, release_nb, scratch_course, solution_nb, write_submission
from nbgrader.api import Gradebook

from lrcourse.course import ASSIGNMENT
from lrcourse.export import export
from lrcourse.feedback import feedback
from lrcourse.grade import grade
from lrcourse.status import fingerprint

pytestmark = pytest.mark.slow  # grades a scratch course

EX1, EX2 = "ex1_probability_curve", "ex2_decision_thresholds"
OBRIEN = "O'Brien, Pat"
BAD_ID = "bad[id]"
SPARSE = 64 * 2**30

# What a student could put beside a blank notebook to score full marks: `import numpy` in
# the setup cell (or matplotlib's own import of it) runs this instead, and every later
# cell, test cells included, runs as an empty cell that cannot fail.
NUMPY_SHADOW = ("from IPython import get_ipython\n"
                "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n")


def marker_nb():
    nb = release_nb(EX1)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1_model")
    cell.source += "\n# ### BEGIN HIDDEN TESTS (a student's comment)\n"
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("inputs")
    course = scratch_course(base / "course", [EX1, EX2])
    sub = lambda student: course.root / "submitted" / student / ASSIGNMENT  # noqa: E731

    write_submission(course, "doe", EX1, solution_nb(EX1))
    write_submission(course, OBRIEN, EX1, marker_nb())
    write_submission(course, BAD_ID, EX1, release_nb(EX1))

    links = sub("links")
    write_submission(course, "links", EX2, release_nb(EX2))
    os.symlink(course.step_dir("source") / f"{EX1}.ipynb", links / f"{EX1}.ipynb")
    os.symlink("/proc/self/environ", links / "environ.txt")
    os.symlink(course.root / "gradebook.db", links / "gradebook.db")
    os.symlink("../../doe/logistic_regression", links / "peer")
    (links / "data").mkdir()
    os.symlink(course.root / "nbgrader_config.py", links / "data" / "config.csv")

    specials = sub("specials")
    write_submission(course, "specials", EX1, release_nb(EX1))
    os.mkfifo(specials / "pipe.csv")
    for name in ("huge.csv", f"{EX2}.ipynb"):
        with open(specials / name, "wb") as f:
            f.truncate(SPARSE)

    shadow = sub("shadow")
    write_submission(course, "shadow", EX1, release_nb(EX1))
    (shadow / "numpy.py").write_text(NUMPY_SHADOW)
    (shadow / "scipy").mkdir()
    (shadow / "scipy" / "__init__.py").write_text(NUMPY_SHADOW)
    (shadow / "my_helpers.py").write_text("ANSWER = 42\n")  # a name that shadows nothing: kept

    off_format = sub("formats")
    off_format.mkdir(parents=True)
    kernelspec = release_nb(EX1)
    kernelspec.metadata.kernelspec = {"display_name": "Python 3"}  # the format requires a name
    (off_format / f"{EX1}.ipynb").write_text(json.dumps(kernelspec))
    language = release_nb(EX2)
    language.metadata.language_info = "python"  # the format requires an object
    (off_format / f"{EX2}.ipynb").write_text(json.dumps(language))

    course.nbgrader("generate_assignment", ASSIGNMENT, "--force", quiet=True)
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_student("doe", last_name="Doe, Jr.", first_name="Jane", email="jane@example.org")
    before = {p: os.lstat(p) for p in (course.root / "submitted").rglob("*")}
    report = grade(root=str(course.root), workers=2, progress=False)
    return course, report, before


def failed(report, student):
    return {nb: why for s, nb, why in report.failed if s == student}


def refused(report, student):
    return {name: why for s, name, why in report.refused if s == student}


def test_a_linked_notebook_is_refused_and_the_other_notebooks_are_graded(graded):
    course, report, _ = graded
    assert "symbolic link" in failed(report, "links")[EX1]
    assert ("links", EX2) in report.graded
    assert not (course.step_dir("autograded", "links") / f"{EX1}.ipynb").exists()


def test_no_link_is_followed_copied_or_read(graded):
    course, report, _ = graded
    reasons = refused(report, "links")
    assert set(reasons) == {"environ.txt", "gradebook.db", "peer", "data/config.csv"}
    assert all("symbolic link" in why for why in reasons.values())
    out = course.root / "autograded" / "links"
    copied = {str(p.relative_to(out)) for p in out.rglob("*")}
    assert copied <= {ASSIGNMENT, f"{ASSIGNMENT}/{EX2}.ipynb"}, copied


def test_special_and_huge_files_are_refused_without_reading_them(graded):
    course, report, _ = graded
    reasons = refused(report, "specials")
    assert "FIFO" in reasons["pipe.csv"] or "special" in reasons["pipe.csv"]
    assert "sparse" in reasons["huge.csv"] and "64" in reasons["huge.csv"]
    assert "sparse" in failed(report, "specials")[EX2]
    assert ("specials", EX1) in report.graded
    assert "huge.csv" in report.summary() and "pipe.csv" in report.summary()


def test_fingerprinting_streams_and_never_follows_links(graded):
    course, _, _ = graded
    for student in ("links", "specials"):
        assert len(fingerprint(course, student)) == 64


def test_a_module_that_shadows_a_library_is_refused(graded):
    course, report, _ = graded
    reasons = refused(report, "shadow")
    assert set(reasons) == {"numpy.py", "scipy/__init__.py"}
    assert all("shadows" in why for why in reasons.values())
    rows = {r.cell: r.score for r in _scores(course, "shadow")}
    assert rows and not any(rows.values()), f"a blank notebook beside numpy.py scored {rows}"
    assert (course.root / "autograded" / "shadow" / ASSIGNMENT / "my_helpers.py").is_file()


def test_submitted_files_are_never_modified_or_deleted(graded):
    course, _, before = graded
    after = {p: os.lstat(p) for p in (course.root / "submitted").rglob("*")}
    assert set(after) == set(before)
    for path, st in before.items():
        assert (after[path].st_mode, after[path].st_size, after[path].st_mtime_ns) == (
            st.st_mode, st.st_size, st.st_mtime_ns), path


def test_a_notebook_off_the_format_only_where_grading_replaces_it_is_graded(graded):
    """The format is checked after the last step (nbgrader_config.py: optimistic_validation): a
    kernelspec without a name, which OverwriteKernelspec replaces, is graded as the blank it is;
    a defect no step repairs fails its notebook, saying so, and the batch goes on."""
    _, report, _ = graded
    assert ("formats", EX1) in report.graded
    assert failed(report, "formats")[EX2].startswith("the file does not follow the notebook format:")


def test_an_id_nbgrader_cannot_handle_is_refused_with_a_reason(graded):
    _, report, _ = graded
    assert "student id" in failed(report, BAD_ID)[EX1]


def test_every_submitted_student_is_in_every_export_with_a_status(graded):
    course, _, _ = graded
    out = export(root=str(course.root), to="exports/grades.csv")
    rows = {r["student_id"]: r for r in read_rows(out)}
    everyone = {"doe", OBRIEN, BAD_ID, "links", "specials", "shadow", "formats"}
    assert set(rows) == everyone
    assert all(r["status"] for r in rows.values())
    assert float(rows["doe"]["score"]) == 8.0 and rows["doe"]["last_name"] == "Doe, Jr."
    assert rows["doe"]["status"] == "autograded"  # its written answers wait for a grader
    assert rows[BAD_ID]["status"] == "not graded" and "student id" in rows[BAD_ID]["problems"]
    assert rows[OBRIEN]["status"] == "graded" and float(rows[OBRIEN]["score"]) == 0.0
    assert rows["links"]["status"] == "incomplete" and "symbolic link" in rows["links"]["problems"]
    assert "numpy.py" in rows["shadow"]["problems"] and rows["shadow"]["status"] == "graded"
    by_q = {r[0]: r for r in read_table(out.with_name("grades_by_question.csv"))}
    assert everyone <= set(by_q)
    students = out.parent / "students"
    for student in everyone:
        record = json.loads((students / f"{student}.json").read_text())
        assert record["student_id"] == student and record["status"]


def test_feedback_is_written_for_everyone_even_with_a_hidden_test_marker_in_an_answer(graded):
    course, _, _ = graded
    feedback(root=str(course.root))
    pages = course.root / "feedback"
    for student in ("doe", OBRIEN, "links", "specials", "shadow"):
        assert (pages / student / ASSIGNMENT / f"{EX1 if student != 'links' else EX2}.html").is_file(), student
    page = (pages / OBRIEN / ASSIGNMENT / f"{EX1}.html").read_text()
    assert "a student&#39;s comment" in page or "a student's comment" in page  # their own text stays
    assert "END HIDDEN TESTS" not in page and "_REF_" not in page  # hidden tests still removed


def _scores(course, student):
    from lrcourse.gradebook import submission_scores

    return [r for r in submission_scores(course.db_url, student) if r.auto and r.notebook == EX1]
