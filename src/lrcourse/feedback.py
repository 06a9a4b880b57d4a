"""Verb `feedback`: feedback HTML for every autograded submission, hidden tests removed.

Runs `nbgrader generate_feedback`; nbgrader_config.py adds the course's
HideHiddenTests step, so students see each check's message but neither the
hidden-test code nor the tracebacks that would quote it.
"""

from __future__ import annotations

from .course import ASSIGNMENT, Course


def feedback(*, root: str | None = None) -> Course:
    """Write feedback/<student>/logistic_regression/<notebook>.html for every autograded student."""
    course = Course.here(root)
    course.nbgrader("generate_feedback", ASSIGNMENT, "--force", quiet=True)
    return course
