"""Verbs `feedback` (feedback HTML for every autograded submission, hidden tests removed) and
`return-feedback` (that HTML copied into each student's cloned repository).

Runs `nbgrader generate_feedback`; nbgrader_config.py adds the course's
HideHiddenTests step, so students see each check's message but neither the
hidden-test code nor the tracebacks that would quote it. Feedback whose autograded
notebook no longer exists (its last grading failed) is removed, never left stale.
nbgrader goes on past a student it cannot render; such a student is reported with
nbgrader's reason, and everyone else's feedback is written. A written answer no grader
has scored yet says "not graded yet" in the page (lrcourse.feedback_page), and the
summary warns how many there are.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .course import ASSIGNMENT, Course, CourseError
from .gradebook import submission_scores
from .nbgrader_log import failure_reasons
from .roster import identify, read_roster

FAILED_STUDENT = re.compile(r"There was an error processing assignment '[^']*' for student '(.*)'\s*$")


@dataclass
class FeedbackReport:
    course: Course
    written: list[str] = field(default_factory=list)  # students with feedback pages
    failed: dict[str, str] = field(default_factory=dict)  # student: why nbgrader could not render it
    ungraded: dict[str, list[str]] = field(default_factory=dict)  # student: written answers not graded yet

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def summary(self) -> str:
        lines = [f"feedback: written for {len(self.written)} students, {len(self.failed)} failed"]
        lines += [f"  FAILED     {s}: {why}" for s, why in sorted(self.failed.items())]
        if self.ungraded:
            count = sum(len(cells) for cells in self.ungraded.values())
            lines.append(f"  WARNING    {count} written answer{'s' * (count != 1)} of {len(self.ungraded)} "
                         f"student{'s' * (len(self.ungraded) != 1)} not graded yet: their feedback says "
                         "\"not graded yet\"; grade them in formgrader, then run `lrcourse feedback` again")
            lines += [f"    {s}: {', '.join(cells)}" for s, cells in sorted(self.ungraded.items())]
        return "\n".join(lines)


def feedback(course: Course | None = None, *, root: str | None = None) -> FeedbackReport:
    """Write feedback/<student>/logistic_regression/<notebook>.html for every autograded student."""
    course = Course.of(course, root)
    report = FeedbackReport(course)
    if any(any(folder.glob("*.ipynb")) for folder in course.student_dirs("autograded").values()):
        proc = course.nbgrader("generate_feedback", ASSIGNMENT, "--force", check=False, quiet=True)
        if proc.returncode != 0:
            for line in proc.stdout.splitlines():
                m = FAILED_STUDENT.search(line)
                if m:
                    reasons = failure_reasons(proc.stdout, m.group(1))
                    report.failed[m.group(1)] = "; ".join(reasons) or "nbgrader could not render it"
            if not report.failed:  # not about one student (the gradebook, the config): stop
                raise CourseError("nbgrader generate_feedback failed:\n" + "\n".join(proc.stdout.splitlines()[-20:]))
    for student, folder in course.student_dirs("feedback").items():
        for page in folder.glob("*.html"):
            if not (course.step_dir("autograded", student) / f"{page.stem}.ipynb").is_file():
                page.unlink()
    report.written = [s for s, folder in course.student_dirs("feedback").items() if any(folder.glob("*.html"))]
    for student in report.written:
        waiting = [f"{r.notebook}:{r.cell}" for r in submission_scores(course.db_url, student)
                   if not r.auto and r.score is None]
        if waiting:
            report.ungraded[student] = waiting
    return report


def return_feedback(course: Course | None = None, *, repos: str, out: str = "feedback-repos",
                    roster: str | None = None, prefix: str | None = None, root: str | None = None) -> Path:
    """Copy each student's feedback HTML (from feedback/) to <out>/<repository folder>/feedback/."""
    course = Course.of(course, root)
    people = read_roster(Path(roster)) if roster else {}
    target = Path(out)
    for repo, user, entry in identify(Path(repos), people, prefix):
        if people and entry is None:
            print(f"  {repo.name}: matches no one on the roster: nothing copied")
            continue
        html = sorted(course.step_dir("feedback", entry.student_id if entry else user).glob("*.html"))
        for path in html:
            dest = target / repo.name / "feedback" / path.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        print(f"  {repo.name}: {len(html)} feedback files" if html else f"  {repo.name}: no feedback yet")
    return target
