"""Notebook text and structure: the authoring format, answer extraction and filling.

Notebooks are written as jupytext percent files in exercises/<stem>/<stem>.py. Every cell
header carries `lrc="<kind> <grade_id> [points]"`, which becomes nbgrader's cell
metadata (schema v3):

    given   read-only instructions or code (locked)
    answer  a student's code cell (autograded through the test cells after it)
    tests   a locked test cell worth `points`; `reads="<names>"` in the same header lists
            the answers it reads, which the build writes as the cell's first line
            (lrcourse.verify: the verifier hands over exactly these) and checks;
            `scaffold="<names>"` puts shared hidden-test code at the top of its hidden
            tests (lrcourse.scaffolding)
    written a manually graded markdown answer worth `points`
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from .course import CourseError
from .declarations import check_declarations, reads_line
from .scaffolding import inject

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
SOLUTION_MARKER = re.compile(r"^\s*(#\s*)?#{2,3} (BEGIN|END) SOLUTION\s*$")
KINDS = {"given": ("code", "markdown"), "answer": ("code",), "tests": ("code",),
         "written": ("markdown",)}


def nbgrader_metadata(kind: str, grade_id: str, points: str | None) -> dict:
    meta = {
        "grade": kind in ("tests", "written"),
        "grade_id": grade_id,
        "locked": kind in ("given", "tests"),
        "schema_version": 3,
        "solution": kind in ("answer", "written"),
        "task": False,
    }
    if meta["grade"]:
        value = float(points)
        meta["points"] = int(value) if value.is_integer() else value
    return meta


def text_to_notebook(text: str, name: str = "<notebook>", scaffolds: dict[str, str] | None = None) -> NotebookNode:
    """Convert an authoring file (jupytext percent + lrc headers) to an nbgrader notebook.
    `scaffolds` ({name: code}, lrcourse.scaffolding) are what test cells may declare in scaffold=."""
    import jupytext

    parsed = jupytext.reads(text, fmt="py:percent")
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    seen: set[str] = set()
    for cell in parsed.cells:
        spec = str(cell.metadata.get("lrc", "")).split()
        if not spec or spec[0] not in KINDS or len(spec) != (3 if spec[0] in ("tests", "written") else 2):
            raise CourseError(f"{name}: cell without a valid lrc header: {cell.source[:60]!r}")
        kind, grade_id, *points = spec
        if cell.cell_type not in KINDS[kind]:
            raise CourseError(f"{name}: {grade_id} is a {kind} cell but is {cell.cell_type}")
        if grade_id in seen:
            raise CourseError(f"{name}: duplicate grade id {grade_id}")
        seen.add(grade_id)
        make = nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell
        source = cell.source
        if kind == "tests":
            names = str(cell.metadata.get("reads", "")).split()
            if not names:
                raise CourseError(f'{name}: test cell {grade_id} declares no reads="<answers it reads>"')
            wanted = str(cell.metadata.get("scaffold", "")).split()
            if wanted:
                source = inject(source, wanted, scaffolds or {}, f"{name}: test cell {grade_id}")
            source = reads_line(names) + "\n" + source
        else:
            for key in ("reads", "scaffold"):
                if key in cell.metadata:
                    raise CourseError(f"{name}: {grade_id} is no test cell but declares {key}=")
        new = make(source=source, id=grade_id)
        new.metadata = {"nbgrader": nbgrader_metadata(kind, grade_id, points[0] if points else None)}
        if kind in ("given", "tests"):
            new.metadata.update(deletable=False, editable=False)
        nb.cells.append(new)
    nbformat.validate(nb)
    problems = check_declarations(nb)
    if problems:
        raise CourseError(f"{name}: " + "; ".join(problems))
    return nb


def dumps(nb: NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def read(path: Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write_if_changed(path: Path, text: str) -> bool:
    """Write `text` unless the file already holds it; True when it changed."""
    if path.is_file() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True


def grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n") if not SOLUTION_MARKER.match(line)).strip("\n")


def solution_answers(source_nb: NotebookNode) -> dict[str, str]:
    """The solution of every answer and written cell of a source notebook, by grade id."""
    return {
        grade_id(cell): strip_solution_markers(cell.source)
        for cell in source_nb.cells
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }


def fill_answers(release_nb: NotebookNode, answers: dict[str, str]) -> NotebookNode:
    """A copy of a release notebook with the given answer cells filled in, as a student would."""
    nb = nbformat.from_dict(release_nb)
    unknown = set(answers) - {grade_id(c) for c in nb.cells}
    if unknown:
        raise CourseError(f"no answer cells {sorted(unknown)} in this notebook")
    for cell in nb.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb
