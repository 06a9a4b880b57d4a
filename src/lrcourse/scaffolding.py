"""Hidden-test scaffolding: code that several test cells need, written once, put into each by the build.

A test cell declares the scaffolding it needs in its authoring header, beside `reads=`:

    # %% lrc="tests ex4_statements_tests_loss 1" reads="statements" scaffold="read_statements"

and the build (lrcourse.notebooks) writes each declared scaffold's code at the top of the
cell's hidden tests, right after `### BEGIN HIDDEN TESTS`, in the order declared, each followed
by two blank lines. The generated notebooks stay self-contained (nbgrader sees a test cell
like any other) and the scaffolding is hidden like the rest of the block: release/ never
shows it. A declared name that no scaffolding file defines stops the build, naming the file
and the cell.

Scaffolds are defined in `exercises/<stem>/scaffolding.py` (the exercise's own) and in
`exercises/scaffolding.py` (any exercise may use them), each one opened by a header line:

    # %% scaffold="read_statements"
    import numpy as np
    ...

Everything up to the next header (or the end of the file) is its code, without the blank
lines around it. The code must be valid Python, and the names it defines (other than
imports) start with `_`, as every name a test cell defines does.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from .course import EXERCISES_DIR, Course, CourseError
from .declarations import _scoped_stores

SCAFFOLDING_FILE = "scaffolding.py"
HEADER = re.compile(r'^# %% scaffold="([A-Za-z_][A-Za-z0-9_]*)"\s*$')
# nbgrader's ClearHiddenTests starts the hidden block at the first line that holds this
BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"


def parse(text: str, name: str) -> dict[str, str]:
    """{scaffold name: code} of one scaffolding file's text (`name` names it in errors)."""
    found: dict[str, str] = {}
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("# %%")]
    preamble = "\n".join(lines[:starts[0]] if starts else lines)
    try:
        body = ast.parse(preamble).body
    except SyntaxError as err:
        raise CourseError(f"{name}, line {err.lineno}: not valid Python before the first scaffold "
                          f"({err.msg})") from None
    if [node for node in body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]:
        raise CourseError(f'{name}: code before the first `# %% scaffold="<name>"` line belongs to no scaffold')
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        m = HEADER.match(lines[start])
        if not m:
            raise CourseError(f'{name}, line {start + 1}: not a scaffold header `# %% scaffold="<name>"`: '
                              f"{lines[start]!r}")
        scaffold = m.group(1)
        if scaffold in found:
            raise CourseError(f"{name}: scaffold {scaffold} is defined twice")
        body_lines = lines[start + 1:end]
        code = "\n".join(body_lines).strip("\n")
        if not code.strip():
            raise CourseError(f"{name}: scaffold {scaffold} has no code")
        try:
            tree = ast.parse(code)
        except SyntaxError as err:
            first = start + 2 + next(i for i, line in enumerate(body_lines) if line)
            raise CourseError(f"{name}, line {first + (err.lineno or 1) - 1}: scaffold {scaffold} is not valid "
                              f"Python ({err.msg})") from None
        public = sorted(n for n in bound_names(tree) if not n.startswith("_"))
        if public:
            raise CourseError(f"{name}: scaffold {scaffold} defines {public}: names a test cell defines start "
                              "with `_`, so they never clash with a student's")
        found[scaffold] = code
    return found


def bound_names(tree: ast.Module) -> set[str]:
    """The names a scaffold binds in the notebook's namespace, its top-level imports left out."""
    imported = {(alias.asname or alias.name).split(".")[0] for node in tree.body
                if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names}
    return _scoped_stores(tree) - imported


def files(course: Course, stem: str) -> list[Path]:
    """The scaffolding files an exercise may draw on: its own, then the course's."""
    return [course.exercise_dir(stem) / SCAFFOLDING_FILE, course.root / EXERCISES_DIR / SCAFFOLDING_FILE]


def for_exercise(course: Course, stem: str) -> dict[str, str]:
    """Every scaffold the exercise `stem` may declare; a name defined in two files is an error."""
    scaffolds: dict[str, str] = {}
    where: dict[str, str] = {}
    for path in files(course, stem):
        if not path.is_file():
            continue
        name = str(path.relative_to(course.root))
        for scaffold, code in parse(path.read_text(), name).items():
            if scaffold in scaffolds:
                raise CourseError(f"scaffold {scaffold} is defined in both {where[scaffold]} and {name}")
            scaffolds[scaffold], where[scaffold] = code, name
    return scaffolds


def inject(source: str, names: list[str], scaffolds: dict[str, str], where: str) -> str:
    """A test cell's source with the scaffolds `names` at the top of its hidden tests.
    `where` ("<file>: test cell <id>") names the cell in errors."""
    unknown = [n for n in names if n not in scaffolds]
    if unknown:
        known = ", ".join(sorted(scaffolds)) or "none"
        raise CourseError(f"{where} declares scaffold {', '.join(unknown)}, which no scaffolding file defines "
                          f"(known: {known}; define it in exercises/<stem>/{SCAFFOLDING_FILE} or "
                          f"exercises/{SCAFFOLDING_FILE})")
    if len(set(names)) != len(names):
        raise CourseError(f"{where} declares the same scaffold twice: {' '.join(names)}")
    lines = source.split("\n")
    begin = next((i for i, line in enumerate(lines) if BEGIN_HIDDEN in line), None)
    if begin is None:
        raise CourseError(f"{where} declares scaffold= but has no `### {BEGIN_HIDDEN}` block: scaffolding "
                          "goes into the hidden tests")
    rest = "\n".join(lines[begin + 1:]).lstrip("\n")
    block = "".join(scaffolds[n] + "\n\n\n" for n in names)
    return "\n".join(lines[:begin + 1]) + "\n" + block + rest
