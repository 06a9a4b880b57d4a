"""Verb `export`: grades for the gradebook's students, saying which are not valid and why.

* `<out>` (default grades.csv): nbgrader's own `nbgrader export` (with the course's
  CsvExport plugin, which quotes with the csv module: a comma in `Doe, Jr.` stays in its
  column), plus three columns: `status` (graded: final, every written answer graded too /
  autograded: valid, but written answers are still waiting for a grader / incomplete / not
  graded / not submitted), `problems` (notebook: reason; files grading refused; written
  answers not graded yet) and `review` (signs of tampering a grader should look at). The
  score columns of an autograded student hold the points so far; those of a student whose
  grade is not valid and current are left empty: a failed or interrupted grading never
  shows as 0.0, and a stale score never shows. Every student of the gradebook, of submitted/
  and of the grading status is listed, even one nbgrader never saw (an id refused by
  `lrcourse grade`, a submission that could not be prepared).
* `<out stem>_by_question.csv`: one row per student, one column per graded cell
  (`<notebook>:<cell>`), a first row `max_points`; empty where the cell has no valid
  score (notebook failed, written answer not graded yet), plus `status`.
* `<out folder>/students/<student>.json`: one file per student, every notebook and cell.
* `<out folder>/canvas.csv` and `<out folder>/moodle.csv`: gradebook imports for Canvas and
  Moodle, students named as the LMS knows them through the roster (lrcourse.lms).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from nbgrader.plugins import CsvExportPlugin

from .course import ASSIGNMENT, Course
from .gradebook import students as gradebook_students
from .gradebook import submission_scores
from .lms import read_people, write_lms_files
from .status import NOT_SUBMITTED, VALID, StatusStore, submitted_students

VALID_STATES = VALID  # a notebook state whose scores count

NBGRADER_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                    "raw_score", "late_submission_penalty", "score", "max_score"]


class CsvExport(CsvExportPlugin):
    """nbgrader's CSV export (same columns, rows and values), written with the csv module so
    that a comma or a quote in a name or a student id never shifts a column.
    Selected by `c.ExportApp.plugin_class` in nbgrader_config.py."""

    def export(self, gradebook) -> None:
        from nbgrader.api import MissingEntry

        rows = []
        for assignment in gradebook.assignments:
            if self.assignment and assignment.name not in [str(a) for a in self.assignment]:
                continue
            for student in gradebook.students:
                if self.student and student.id not in [str(s) for s in self.student]:
                    continue
                score = {"assignment": assignment.name, "duedate": assignment.duedate, "student_id": student.id,
                         "last_name": student.last_name, "first_name": student.first_name,
                         "email": student.email, "max_score": assignment.max_score}
                try:
                    sub = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    score.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
                else:
                    penalty = sub.late_submission_penalty
                    score.update(timestamp=sub.timestamp, raw_score=sub.score, late_submission_penalty=penalty,
                                 score=max(0.0, sub.score - penalty))
                rows.append(["" if score[k] is None else str(score[k]) for k in NBGRADER_COLUMNS])
        write_csv(Path(self.to or "grades.csv"), NBGRADER_COLUMNS, rows)


AUTOGRADED = "autograded"  # valid, but written answers still wait for a grader
WAITING = "written answer not graded yet"


def student_status(problems: dict[str, str], notebooks: list[str], waiting: list[str] = ()) -> str:
    if not problems:
        return AUTOGRADED if waiting else "graded"
    if problems == {"*": NOT_SUBMITTED}:
        return "not submitted"
    if "*" in problems or set(problems) >= set(notebooks):
        return "not graded"
    return "incomplete"


def describe(problems: dict[str, str]) -> str:
    return "; ".join(f"{nb}: {why}" if nb != "*" else why for nb, why in sorted(problems.items()))


def student_record(course: Course, student: str, store: StatusStore, cells) -> dict:
    problems = store.problems(student)
    scores = {(r.notebook, r.cell): r.score for r in submission_scores(course.db_url, student)}
    notebooks = {}
    for stem in course.notebooks():
        valid = "*" not in problems and stem not in problems
        nb_cells = {cell: {"score": scores.get((stem, cell)) if valid else None, "max_score": top}
                    for nb, cell, top in cells if nb == stem}
        state = store.students.get(student).notebooks.get(stem) if store.students.get(student) else None
        notebooks[stem] = {
            "status": (state.state if state else "not graded") if valid else "not graded",
            "reason": problems.get(stem) or problems.get("*") or (state.reason if state else ""),
            "score": sum(c["score"] or 0 for c in nb_cells.values()) if valid else None,
            "max_score": sum(c["max_score"] for c in nb_cells.values()),
            "cells": nb_cells,
        }
    auto = {(r.notebook, r.cell) for r in submission_scores(course.db_url, student) if r.auto}
    waiting = [(nb, cell, top) for nb, cell, top in cells if notebooks[nb]["status"] in VALID_STATES
               and (nb, cell) in scores and (nb, cell) not in auto and scores[(nb, cell)] is None]
    status = student_status(problems, course.notebooks(), [cell for _, cell, _ in waiting])
    refused = dict(store.students[student].refused) if student in store.students else {}
    return {
        "student_id": student, "course_id": course.coursedir.course_id, "assignment": ASSIGNMENT,
        "status": status, "problems": "; ".join(filter(None, [
            describe(problems), *store.warnings(student), *(f"{nb}:{cell}: {WAITING}" for nb, cell, _ in waiting)])),
        "review": store.review(student), "refused_files": refused,
        "score": sum(n["score"] for n in notebooks.values()) if status in ("graded", AUTOGRADED) else None,
        "ungraded_points": sum(top for _, _, top in waiting),
        "max_score": sum(n["max_score"] for n in notebooks.values()),
        "notebooks": notebooks,
    }


def export(course: Course | None = None, *, to: str = "grades.csv", roster: str | None = None,
           root: str | None = None) -> Path:
    """Write grades CSV (nbgrader's, with status), per-question CSV, per-student JSON and the
    Canvas and Moodle import files (students named through `roster`, collect's CSV, if given)."""
    course = Course.of(course, root)
    out = (course.root / to).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    course.nbgrader("export", f"--to={out}", quiet=True)
    store = StatusStore(course)
    cells = course.graded_cells()
    students = sorted(set(gradebook_students(course.db_url)) | set(submitted_students(course))
                      | set(store.students))
    records = {s: student_record(course, s, store, cells) for s in students}

    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row.pop(None, None)  # surplus cells of a malformed row never become a column
    fields = list(rows[0].keys()) if rows else list(NBGRADER_COLUMNS)
    listed = {row.get("student_id") for row in rows}
    template = rows[0] if rows else {}
    for student in students:  # never seen by nbgrader: listed all the same, with the reason
        if student not in listed:
            row = dict.fromkeys(fields, "")
            row.update(assignment=ASSIGNMENT, student_id=student, duedate=template.get("duedate", ""),
                       max_score=template.get("max_score") or f"{sum(top for _, _, top in cells):g}")
            rows.append(row)
    for row in rows:
        rec = records.get(row["student_id"])
        row["status"], row["problems"] = (rec["status"], rec["problems"]) if rec else ("not graded", "")
        row["review"] = "; ".join(rec["review"]) if rec else ""
        if row["status"] not in ("graded", AUTOGRADED, "not submitted"):  # nbgrader's 0 for no submission is valid
            for column in ("raw_score", "late_submission_penalty", "score"):
                row[column] = ""
    columns = fields + ["status", "problems", "review"]
    write_csv(out, columns, [[r.get(k, "") for k in columns] for r in rows])
    write_lms_files(out.parent, rows, ASSIGNMENT, read_people(Path(roster) if roster else None))

    header = ["student_id"] + [f"{nb}:{cell}" for nb, cell, _ in cells] + ["status"]
    table = [["max_points"] + [f"{top:g}" for _, _, top in cells] + [""]]
    for student, rec in records.items():
        values = [rec["notebooks"][nb]["cells"][cell]["score"] for nb, cell, _ in cells]
        table.append([student] + ["" if v is None else f"{v:g}" for v in values] + [rec["status"]])
    write_csv(out.with_name(out.stem + "_by_question.csv"), header, table)

    folder = out.parent / "students"
    folder.mkdir(exist_ok=True)
    for stale in set(folder.glob("*.json")) - {folder / f"{s}.json" for s in records}:
        stale.unlink()
    for student, rec in records.items():
        (folder / f"{student}.json").write_text(json.dumps(rec, indent=1) + "\n")
    return out


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
