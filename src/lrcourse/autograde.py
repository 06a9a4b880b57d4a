"""Verb `autograde`: grade every submission in submitted/ with `nbgrader autograde`.

nbgrader grades each student in turn and carries on past a student whose
submission it cannot process; this verb adds a per-student report of what was
graded, what was missing and what failed, read from the submitted and autograded
folders and from nbgrader's log, so no problem goes unreported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .course import ASSIGNMENT, Course


@dataclass
class StudentReport:
    student: str
    graded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class AutogradeResult:
    students: list[StudentReport]
    log: str

    @property
    def exit_code(self) -> int:
        return 0 if all(r.ok for r in self.students) else 1

    def summary(self) -> str:
        lines = []
        for r in self.students:
            state = "graded" if r.ok else "FAILED"
            total = len(r.graded) + len(r.missing) + len(r.failed)
            line = f"  {r.student}: {state} {len(r.graded)}/{total} notebooks"
            if r.missing:
                line += f"; missing {', '.join(r.missing)} (scored 0)"
            if r.extra:
                line += f"; ignored unexpected {', '.join(r.extra)}"
            lines.append(line)
            lines += [f"      {e}" for e in r.errors]
        failed = sum(not r.ok for r in self.students)
        lines.append(f"autograde: {len(self.students) - failed} graded, {failed} failed")
        return "\n".join(lines)


def ensure_assignment(course: Course) -> None:
    """Make sure the gradebook knows the assignment and its notebooks (fresh clone, new db)."""
    with Gradebook(course.db_url) as gb:
        try:
            known = {nb.name for nb in gb.find_assignment(ASSIGNMENT).notebooks}
        except MissingEntry:
            known = set()
    sources = {p.stem for p in course.step_dir("source").glob("*.ipynb")}
    if not sources <= known:
        course.nbgrader("generate_assignment", ASSIGNMENT, "--force", quiet=True)


def submitted_students(course: Course) -> list[str]:
    folder = course.root / course.coursedir.submitted_directory
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / ASSIGNMENT).is_dir())


def autograde(*, root: str | None = None, force: bool = True) -> AutogradeResult:
    """Autograde every student in submitted/; report per student what was graded."""
    course = Course.here(root)
    ensure_assignment(course)
    students = submitted_students(course)
    args = ["autograde", ASSIGNMENT] + (["--force"] if force else [])
    proc = course.nbgrader(*args, check=False, quiet=True)
    result = AutogradeResult([report(course, s, proc.stdout) for s in students], proc.stdout)
    print(result.summary())
    return result


def report(course: Course, student: str, log: str) -> StudentReport:
    submitted = course.step_dir("submitted", student)
    autograded = course.step_dir("autograded", student)
    expected = set(course.notebooks())
    present = {p.stem for p in submitted.glob("*.ipynb")}
    r = StudentReport(student)
    r.missing = sorted(expected - present)
    r.extra = sorted(present - expected)
    r.graded = sorted(p.stem for p in autograded.glob("*.ipynb") if p.stem in expected)
    r.failed = sorted((present & expected) - set(r.graded))
    r.errors = failure_reasons(log, student)
    if r.failed and not r.errors:
        r.errors.append(f"not autograded: {', '.join(r.failed)} (see the nbgrader log)")
    return r


EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(Error|Exception|Interrupt|Died)[\w]*): ?(.*)$")
CURRENT_NOTEBOOK = re.compile(r"(?:Sanitizing|Converting notebook) (\S+\.ipynb)")


def failure_reasons(log: str, student: str) -> list[str]:
    """One line per failure nbgrader logged for this student: notebook and exception."""
    reasons, notebook, capturing, last = [], None, False, None
    mine = re.compile(rf"[/\\]{re.escape(student)}[/\\]")
    for line in log.splitlines() + ["[end]"]:
        m = CURRENT_NOTEBOOK.search(line)
        if line.startswith("[") and capturing and "Traceback" not in line:
            name = Path(notebook).name if notebook else "the submission"
            reasons.append(f"{name}: {last or 'nbgrader could not process it'}")
            capturing, last = False, None
        if m:
            notebook = m.group(1) if mine.search(m.group(1)) else None
        elif "There was an error processing" in line and mine.search(line):
            capturing = True
        elif capturing:
            e = EXCEPTION_LINE.match(line)
            if e:
                last = f"{e.group(1).rsplit('.', 1)[-1]}: {e.group(3)[:200]}".rstrip(": ")
    return reasons
