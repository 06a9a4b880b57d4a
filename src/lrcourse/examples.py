"""Verb `examples`: the bundled example submissions in examples/submitted/.

Made from the scenarios, so they always match the current release:

* example-complete: correct answers everywhere (another approach than the solution
  where one exists) and the model answers to the written questions;
* example-partial: typical mistakes in some cells, others left unanswered, thin
  written answers;
* example-blank: the release notebooks, untouched;
* example-broken: one notebook that is not valid JSON, one that crashes at the top,
  the others missing, so the demo shows how bad input is reported.
"""

from __future__ import annotations

import shutil

import nbformat

from .course import ASSIGNMENT, Course
from .notebooks import fill_answers, grade_id, read, solution_answers
from .scenarios import scenarios_for, submission

EXAMPLES_DIR = "examples/submitted"


def model_answers_only(source_nb) -> dict[str, str]:
    """Written answers as a strong student would write them: the model answer, no rubric."""
    out = {}
    for cell in source_nb.cells:
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            body = "\n".join(
                line for line in cell.source.split("\n") if "BEGIN SOLUTION" not in line
            ).split("**Rubric")[0]
            out[grade_id(cell)] = body.replace("**Model answer.**", "").strip()
    return out


def complete(course: Course, stem: str, src, rel):
    candidates = [s for s in scenarios_for(stem, course) if s.is_correct]
    chosen = next((s for s in candidates if s.name != "solution"), candidates[0])
    nb = submission(src, rel, chosen)
    written = model_answers_only(src)
    for cell in nb.cells:
        if grade_id(cell) in written:
            cell.source = written[grade_id(cell)]
    return nb


def partial(course: Course, stem: str, src, rel):
    """Two mistakes in different cells, the last answer cell left blank, thin written answers."""
    mistakes = [s for s in scenarios_for(stem, course) if not s.is_correct]
    answers = solution_answers(src)
    used: set[str] = set()
    for s in mistakes:
        if len(used) == 2:
            break
        if not set(s.answers) & used:
            answers.update(s.answers)
            used |= set(s.answers)
    code_answers = [grade_id(c) for c in src.cells
                    if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    if code_answers and code_answers[-1] not in used:
        answers.pop(code_answers[-1])
    for cell in src.cells:
        if cell.cell_type == "markdown" and grade_id(cell) in answers:
            answers[grade_id(cell)] = "I think it depends on the data."
    return fill_answers(rel, answers)


def make_examples(course: Course | None = None, *, root: str | None = None) -> list[str]:
    """Regenerate examples/submitted/ from release/ and the scenarios; returns the students."""
    course = Course.of(course, root)
    out = course.root / EXAMPLES_DIR
    if out.exists():
        shutil.rmtree(out)
    stems = course.release_notebooks()
    students = {"example-complete": complete, "example-partial": partial,
                "example-blank": lambda course, stem, src, rel: rel}
    for student, make in students.items():
        folder = out / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for stem in stems:
            src = read(course.step_dir("source") / f"{stem}.ipynb")
            rel = read(course.step_dir("release") / f"{stem}.ipynb")
            nbformat.write(make(course, stem, src, rel), str(folder / f"{stem}.ipynb"))
    broken = out / "example-broken" / ASSIGNMENT
    broken.mkdir(parents=True)
    if stems:
        first = read(course.step_dir("release") / f"{stems[0]}.ipynb")
        text = nbformat.writes(first)
        (broken / f"{stems[0]}.ipynb").write_text(text[: len(text) // 2])  # cut off mid-file
    if len(stems) > 1:
        crash = read(course.step_dir("release") / f"{stems[1]}.ipynb")
        crash.cells.insert(0, nbformat.v4.new_code_cell("import os\nos._exit(1)", id="example-crash"))
        nbformat.write(crash, str(broken / f"{stems[1]}.ipynb"))
    return sorted([*students, "example-broken"])
