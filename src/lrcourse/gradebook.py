"""Reading scores out of nbgrader's gradebook (SQLite or any nbgrader db_url)."""

from __future__ import annotations

from dataclasses import dataclass

from nbgrader.api import Gradebook, MissingEntry

from .course import ASSIGNMENT


@dataclass(frozen=True)
class CellScore:
    notebook: str
    cell: str
    score: float | None  # None: not graded yet (a written answer waiting for a grader)
    max_score: float
    auto: bool  # autograded test cell (True) or manually graded answer (False)


def submission_scores(db_url: str, student: str, assignment: str = ASSIGNMENT) -> list[CellScore]:
    """Every graded cell of one student's submission, ordered by notebook and cell name (the
    gradebook keeps no cell positions, and its row ids are random); [] when not submitted."""
    with Gradebook(db_url) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return []
        rows = []
        for nb in sorted(submission.notebooks, key=lambda n: n.name):
            for grade in sorted(nb.grades, key=lambda g: g.name):
                auto = grade.cell_type == "code"
                # nbgrader scores an answer left as released 0 by itself (auto_score); any
                # other written answer waits until a grader gives it a manual score
                waiting = not auto and grade.manual_score is None and grade.auto_score is None
                rows.append(CellScore(nb.name, grade.name, None if waiting else float(grade.score),
                                      float(grade.max_score), auto))
        return rows


def students(db_url: str) -> list[str]:
    with Gradebook(db_url) as gb:
        return sorted(s.id for s in gb.students)
