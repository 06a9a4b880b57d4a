"""Verb `demo`: the main job on the bundled examples, end to end.

Steps: copy examples/submitted/<student> into submitted/ (only the example
students; anything else in submitted/ is left as it is), autograde everything,
write feedback HTML, export exports/grades.csv, exports/grades_by_question.csv,
exports/students/*.json, and the item analysis in exports/report/. A regenerated
file equivalent to the one it replaces (lrcourse.goldens: only last-digit noise from
another CPU or BLAS) keeps its old bytes, so the committed demo output stays unchanged.
"""

from __future__ import annotations

import shutil

from .course import ASSIGNMENT, Course, CourseError
from .examples import EXAMPLES_DIR
from .export import export
from .feedback import feedback
from .goldens import keep_if_equivalent, snapshot
from .grade import GradeReport, grade
from .report import report

EXPORT = "exports/grades.csv"


def demo(course: Course | None = None, *, progress: bool = True, root: str | None = None) -> GradeReport:
    """Grade the bundled example submissions: autograde, feedback, exports."""
    course = Course.of(course, root)
    examples = course.root / EXAMPLES_DIR
    if not examples.is_dir():
        raise CourseError(f"no example submissions in {examples} (run `lrcourse examples`)")
    for student in sorted(p for p in examples.iterdir() if p.is_dir()):
        target = course.step_path("submitted", student.name)  # where nbgrader's directory_structure puts it
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(student / ASSIGNMENT, target)
    print(f"demo: grading {len(list(examples.iterdir()))} example students from {EXAMPLES_DIR}/")
    folders = [course.root / course.coursedir.autograded_directory,
               course.root / course.coursedir.feedback_directory, (course.root / EXPORT).parent]
    old = [snapshot(folder) for folder in folders]
    result = grade(course, progress=progress)
    print(result.summary())
    keep_if_equivalent(old[0], folders[0])  # before feedback, which is rendered from these notebooks
    written = feedback(course)
    if written.failed or written.ungraded:
        print(written.summary())  # the examples' written answers are never graded by hand
    keep_if_equivalent(old[1], folders[1])
    out = export(course, to=EXPORT)
    page = report(course)
    keep_if_equivalent(old[2], folders[2])
    by_question = out.with_name(out.stem + "_by_question.csv")
    print(f"demo: feedback in {course.coursedir.feedback_directory}/, grades in "
          f"{out.relative_to(course.root)} and {by_question.relative_to(course.root)}, "
          f"item analysis in {page.relative_to(course.root)}")
    return result
