"""Verb `feedback`: feedback HTML for every autograded submission, hidden tests removed.

Runs `nbgrader generate_feedback`; nbgrader_config.py adds the course's
HideHiddenTests step, so students see each check's message but neither the
hidden-test code nor the tracebacks that would quote it. Feedback whose autograded
notebook no longer exists (its last grading failed) is removed, never left stale.
"""

from __future__ import annotations

from .course import ASSIGNMENT, Course


def feedback(*, root: str | None = None) -> Course:
    """Write feedback/<student>/logistic_regression/<notebook>.html for every autograded student."""
    course = Course.here(root)
    if any(course.root.glob(f"{course.coursedir.autograded_directory}/*/{ASSIGNMENT}/*.ipynb")):
        course.nbgrader("generate_feedback", ASSIGNMENT, "--force", quiet=True)
    base = course.root / course.coursedir.feedback_directory
    for page in base.glob(f"*/{ASSIGNMENT}/*.html"):
        student = page.parent.parent.name
        if not (course.step_dir("autograded", student) / f"{page.stem}.ipynb").is_file():
            page.unlink()
    return course
