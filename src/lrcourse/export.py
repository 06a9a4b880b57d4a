"""Verb `export`: grades.csv (nbgrader's own export) plus grades per question.

* `<out>` (default grades.csv): `nbgrader export`, one row per student, totals.
* `<out stem>_by_question.csv`: one row per student, one column per graded cell
  (`<notebook>:<cell>`), and a first row `max_points` with what each is worth.
  A written answer not graded yet is empty; a notebook not submitted is empty too.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook

from .course import Course
from .gradebook import submission_scores
from .notebooks import read


def graded_cells(course: Course) -> list[tuple[str, str, float]]:
    """(notebook, cell, max points) for every graded cell, in exercise and notebook order."""
    cells = []
    for stem in course.notebooks():
        for cell in read(course.step_dir("source") / f"{stem}.ipynb").cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                cells.append((stem, meta["grade_id"], float(meta["points"])))
    return cells


def by_question_rows(course: Course) -> tuple[list[str], list[list[str]]]:
    db_url = course.db_url
    cells = graded_cells(course)
    header = ["student_id"] + [f"{nb}:{cell}" for nb, cell, _ in cells]
    rows = [["max_points"] + [f"{points:g}" for _, _, points in cells]]
    with Gradebook(db_url) as gb:
        students = sorted(s.id for s in gb.students)
    for student in students:
        scores = {(r.notebook, r.cell): r.score for r in submission_scores(db_url, student)}
        rows.append([student] + ["" if scores.get((nb, c)) is None else f"{scores[(nb, c)]:g}"
                                 for nb, c, _ in cells])
    return header, rows


def export(*, root: str | None = None, to: str = "grades.csv") -> Path:
    """Write nbgrader's grades CSV to `to` and the per-question CSV beside it."""
    course = Course.here(root)
    out = (course.root / to).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    course.nbgrader("export", f"--to={out}", quiet=True)
    header, rows = by_question_rows(course)
    with open(out.with_name(out.stem + "_by_question.csv"), "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return out
