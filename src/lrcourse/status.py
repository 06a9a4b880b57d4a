"""What happened to each submission: the grading status store.

nbgrader's gradebook holds scores but not whether they are valid: a notebook whose
kernel died, or that could not be read, shows 0.0 like a real zero, and a failed
re-grade leaves the previous score in place. The `grade` verb records here, per
student and notebook, whether the score is valid and why not, together with a
fingerprint of what was graded (the submitted files, the source notebooks and the
config). Exports read it, so a score is reported only when it is valid and current.

The store is one JSON file next to the gradebook, rewritten atomically after every
student, so an interrupted run loses nothing and resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import inputs
from .course import ASSIGNMENT, Course

STATUS_FILE = "grading_status.json"

GRADED = "graded"  # executed and scored
TIMED_OUT = "timed-out"  # scored; some cells hit the time limit and score zero
MISSING = "missing"  # not submitted: nbgrader scores it zero
FAILED = "failed"  # could not be graded: no valid score
KERNEL_DIED = "kernel-died"  # the kernel ended mid-run: no valid score
VALID = (GRADED, TIMED_OUT, MISSING)
NOT_SUBMITTED = "no submission"


@dataclass
class NotebookStatus:
    state: str
    reason: str = ""
    review: list[str] = field(default_factory=list)  # reasons to look at it (lrcourse.tamper)

    @property
    def valid(self) -> bool:
        return self.state in VALID


@dataclass
class StudentStatus:
    fingerprint: str
    complete: bool = False
    notebooks: dict[str, NotebookStatus] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # files left out of grading: why


def submitted_folder(course: Course, student: str) -> Path:
    """submitted/<student>/<assignment>, links not resolved (Course.step_dir resolves them)."""
    return course.step_path("submitted", student)


def submitted_students(course: Course) -> list[str]:
    """Every folder submitted/<student>/ with an assignment folder (or a link where one should be:
    grading refuses it with the reason)."""
    folder = course.root / course.coursedir.submitted_directory
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if os.path.lexists(p / ASSIGNMENT))


def fingerprint(course: Course, student: str) -> str:
    """A hash of everything a student's grade depends on: the config, the source notebooks and
    the submitted folder, read in chunks and capped, links never followed (lrcourse.inputs)."""
    h = hashlib.sha256()
    inputs.fingerprint_paths(h, [("config", course.root / "nbgrader_config.py")] + [
        ("source", p) for p in sorted(course.step_dir("source").glob("*.ipynb"))])
    inputs.digest(h, submitted_folder(course, student))
    return h.hexdigest()


class StatusStore:
    def __init__(self, course: Course):
        self.course = course
        self.path = course.root / STATUS_FILE
        self.students: dict[str, StudentStatus] = {}
        if self.path.is_file():
            raw = json.loads(self.path.read_text())
            for student, s in raw.get("students", {}).items():
                self.students[student] = StudentStatus(
                    s["fingerprint"], s["complete"],
                    {nb: NotebookStatus(**v) for nb, v in s["notebooks"].items()}, s.get("refused", {}))

    def save(self) -> None:
        data = {"students": {k: asdict(v) for k, v in sorted(self.students.items())}}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, self.path)

    def up_to_date(self, student: str, current: str) -> bool:
        """Graded completely, validly (failures are retried), from exactly these inputs."""
        s = self.students.get(student)
        return bool(s and s.complete and s.fingerprint == current
                    and all(nb.valid for nb in s.notebooks.values()))

    def begin(self, student: str, current: str) -> None:
        self.students[student] = StudentStatus(current)
        self.save()

    def record(self, student: str, notebook: str, state: str, reason: str = "",
               review: list[str] | None = None) -> None:
        self.students[student].notebooks[notebook] = NotebookStatus(state, reason, review or [])

    def refuse(self, student: str, path: str, reason: str) -> None:
        """A submitted file left out of grading (lrcourse.inputs); the grade itself stays valid."""
        self.students[student].refused[path] = reason

    def warnings(self, student: str) -> list[str]:
        """The files of this student that grading left out, and why."""
        s = self.students.get(student)
        return [f"refused {path}: {why}" for path, why in sorted(s.refused.items())] if s else []

    def review(self, student: str) -> list[str]:
        """Why a grader should look at this student's notebooks (possible tampering)."""
        s = self.students.get(student)
        return [f"{nb}: {flag}" for nb, st in sorted(s.notebooks.items()) for flag in st.review] if s else []

    def finish(self, student: str) -> None:
        self.students[student].complete = True
        self.save()

    def problems(self, student: str) -> dict[str, str]:
        """{notebook or '*': why its score is not valid or current}; {} when all is well."""
        s = self.students.get(student)
        if s is None and not self.course.step_dir("submitted", student).is_dir():
            return {"*": NOT_SUBMITTED}
        if s is None:
            return {"*": "not graded by `lrcourse grade`"}
        if not s.complete:
            return {"*": "grading was interrupted: run `lrcourse grade` again"}
        if os.path.lexists(submitted_folder(self.course, student)) and s.fingerprint != fingerprint(
                self.course, student):
            return {"*": "the submission or the tests changed since it was graded: run `lrcourse grade`"}
        return {nb: f"{st.state}: {st.reason}".rstrip(": ") for nb, st in s.notebooks.items() if not st.valid}
