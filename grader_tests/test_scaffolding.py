"""Hidden-test scaffolding (lrcourse.scaffolding): a test cell declares shared hidden code with
scaffold="<names>", the build puts it at the top of the cell's hidden tests, an unknown name
stops the build naming the file and the cell, and no exercise pastes a scaffold's code."""

from __future__ import annotations

import ast
import re
import shutil

import jupytext
import pytest
from helpers import EXERCISES, ROOT, release_nb, source_nb

from lrcourse import scaffolding
from lrcourse.build import build_sources
from lrcourse.course import Course, CourseError
from lrcourse.notebooks import dumps, text_to_notebook

COURSE = Course(ROOT)
GIVEN = '# %% lrc="given ex9_setup"\nimport numpy as np\n\n'
ANSWER = '# %% lrc="answer ex9_value"\n### BEGIN SOLUTION\nvalue = 2\n### END SOLUTION\n\n'
HEADER = '# %% lrc="tests ex9_value_tests 1" reads="value" scaffold="{names}"\n'
TESTS = ('# Checks value.\nassert np.ndim(value) == 0, "value is one number"\n'
         '### BEGIN HIDDEN TESTS\n_REF = 2.0\nassert _close(value, _REF), "value is not x + 1"\n'
         '### END HIDDEN TESTS\n')
CLOSE = "def _close(a, b):\n    return abs(float(a) - b) <= 1e-9"
FLOAT = "import numpy as np\n\n_value = float(np.asarray(value))"
SCAFFOLDS = {"close": CLOSE, "value_as_float": FLOAT}


def notebook(names: str, scaffolds=None, tests: str = TESTS):
    return text_to_notebook(GIVEN + ANSWER + HEADER.format(names=names) + tests, name="ex9.py",
                            scaffolds=SCAFFOLDS if scaffolds is None else scaffolds)


# --- the build inserts what a test cell declares

def test_a_declared_scaffold_is_written_at_the_top_of_the_hidden_tests():
    tests = notebook("close").cells[-1].source
    assert tests == (
        "# Answers read by this test: value\n"
        '# Checks value.\nassert np.ndim(value) == 0, "value is one number"\n'
        "### BEGIN HIDDEN TESTS\n" + CLOSE + "\n\n\n"
        '_REF = 2.0\nassert _close(value, _REF), "value is not x + 1"\n### END HIDDEN TESTS')


def test_several_scaffolds_go_in_the_order_declared_and_only_where_declared():
    nb = notebook("value_as_float close")
    hidden = nb.cells[-1].source.split("### BEGIN HIDDEN TESTS\n", 1)[1]
    assert hidden.startswith(FLOAT + "\n\n\n" + CLOSE + "\n\n\n_REF = 2.0\n")
    assert "_close" not in "".join(c.source for c in nb.cells[:-1])


def test_a_scaffold_is_checked_as_part_of_the_cell_it_lands_in():
    # FLOAT reads `value`: a cell declaring it must declare that it reads value
    text = GIVEN + ANSWER + '# %% lrc="tests ex9_value_tests 1" reads="np" scaffold="value_as_float"\n' + \
        '# Checks.\n### BEGIN HIDDEN TESTS\nassert _value > 0, "positive"\n### END HIDDEN TESTS\n'
    with pytest.raises(CourseError, match=r"ex9\.py: .*ex9_value_tests: reads \['value'\] without declaring"):
        text_to_notebook(text, name="ex9.py", scaffolds=SCAFFOLDS)


# --- loud errors

def test_an_unknown_scaffold_name_is_an_error_naming_the_file_and_the_cell():
    with pytest.raises(CourseError) as err:
        notebook("close clsoe")
    message = str(err.value)
    assert message.startswith("ex9.py: test cell ex9_value_tests declares scaffold clsoe, which no scaffolding")
    assert "known: close, value_as_float" in message


@pytest.mark.parametrize(("names", "tests", "message"), [
    ("close", TESTS.replace("### BEGIN HIDDEN TESTS\n", "").replace("### END HIDDEN TESTS\n", ""),
     "ex9.py: test cell ex9_value_tests declares scaffold= but has no `### BEGIN HIDDEN TESTS` block"),
    ("close close", TESTS, "ex9.py: test cell ex9_value_tests declares the same scaffold twice"),
])
def test_a_scaffold_without_a_hidden_block_or_declared_twice_is_refused(names, tests, message):
    with pytest.raises(CourseError, match=re.escape(message)):
        notebook(names, tests=tests)


def test_a_cell_that_is_no_test_cell_cannot_declare_scaffolding():
    text = '# %% lrc="given ex9_setup" scaffold="close"\nx = 1\n'
    with pytest.raises(CourseError, match="ex9.py: ex9_setup is no test cell but declares scaffold="):
        text_to_notebook(text, name="ex9.py", scaffolds=SCAFFOLDS)


@pytest.mark.parametrize(("text", "message"), [
    ('# %% scaffold="a"\n_x = 1\n# %% scaffold="a"\n_y = 2\n', "scaffold a is defined twice"),
    ('# %% scaffold=a\n_x = 1\n', "line 1: not a scaffold header"),
    ('# %% scaffold="a"\n\n_x = (1\n', "line 3: scaffold a is not valid Python"),
    ('# %% scaffold="a"\n\n', "scaffold a has no code"),
    ('"""Doc."""\n_x = 1\n# %% scaffold="a"\n_y = 2\n', "code before the first"),
    ('# %% scaffold="a"\nhelper = 1\ndef check(): pass\n', "scaffold a defines ['check', 'helper']"),
])
def test_a_malformed_scaffolding_file_is_an_error_naming_it(text, message):
    with pytest.raises(CourseError) as err:
        scaffolding.parse(text, "exercises/ex9_x/scaffolding.py")
    assert str(err.value).startswith("exercises/ex9_x/scaffolding.py") and message in str(err.value)


def scratch(tmp_path, tests_header: str, own: str | None, shared: str | None) -> Course:
    """A course with one exercise ex9_value whose test cell has `tests_header`."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    folder = tmp_path / "exercises" / "ex9_value"
    folder.mkdir(parents=True)
    (folder / "ex9_value.py").write_text(GIVEN + ANSWER + tests_header + TESTS)
    (folder / "scenarios.py").write_text('from lrcourse.scenarios import correct\nSCENARIOS = [correct("solution")]\n')
    if own is not None:
        (folder / "scaffolding.py").write_text(own)
    if shared is not None:
        (tmp_path / "exercises" / "scaffolding.py").write_text(shared)
    return Course(tmp_path)


def test_the_build_takes_scaffolds_from_the_exercise_folder_and_the_course(tmp_path):
    course = scratch(tmp_path, HEADER.format(names="value_as_float close"),
                     own='"""Exercise 9."""\n\n# %% scaffold="close"\n' + CLOSE + "\n",
                     shared='# %% scaffold="value_as_float"\n' + FLOAT + "\n")
    assert build_sources(course) == ["ex9_value"]
    built = source_nb("ex9_value", course).cells[-1].source
    assert "### BEGIN HIDDEN TESTS\n" + FLOAT + "\n\n\n" + CLOSE + "\n\n\n_REF" in built


def test_the_build_stops_at_an_unknown_scaffold_naming_the_file_and_the_cell(tmp_path):
    course = scratch(tmp_path, HEADER.format(names="value_as_flaot"), own=None,
                     shared='# %% scaffold="value_as_float"\n' + FLOAT + "\n")
    with pytest.raises(CourseError, match="ex9_value.py: test cell ex9_value_tests declares scaffold value_as_flaot"):
        build_sources(course)
    assert not (tmp_path / "source").exists()


def test_a_scaffold_defined_in_the_exercise_and_the_course_is_an_error(tmp_path):
    course = scratch(tmp_path, HEADER.format(names="close"), own='# %% scaffold="close"\n' + CLOSE + "\n",
                     shared='# %% scaffold="close"\n' + CLOSE + "\n")
    with pytest.raises(CourseError, match="scaffold close is defined in both exercises/ex9_value/scaffolding.py "
                                          "and exercises/scaffolding.py"):
        build_sources(course)


# --- the course's own exercises

def authored_test_cells(stem: str) -> list[tuple[str, str, list[str]]]:
    """(grade id, source as written, declared scaffolds) of every test cell of an authoring file."""
    text = (COURSE.exercise_dir(stem) / f"{stem}.py").read_text()
    cells = []
    for cell in jupytext.reads(text, fmt="py:percent").cells:
        spec = str(cell.metadata.get("lrc", "")).split()
        if spec[:1] == ["tests"]:
            cells.append((spec[1], cell.source, str(cell.metadata.get("scaffold", "")).split()))
    return cells


def every_scaffold() -> dict[str, str]:
    """Every scaffold of the course, as `<file>: <name>` -> code (all exercises' and the course's)."""
    found = {}
    files = {p for stem in COURSE.exercises() for p in scaffolding.files(COURSE, stem) if p.is_file()}
    for path in sorted(files):
        rel = str(path.relative_to(ROOT))
        found.update({f"{rel}: {name}": code for name, code in scaffolding.parse(path.read_text(), rel).items()})
    return found


def statements_of(code: str) -> set[str]:
    """Every statement of `code` (nested ones too), as its syntax tree without positions."""
    return {ast.dump(node) for node in ast.walk(ast.parse(code)) if isinstance(node, ast.stmt)}


def pasted(cell_source: str, scaffolds: dict[str, str]) -> list[str]:
    """The scaffolds a test cell holds a copy of: any top-level statement of the scaffold other than
    an import (a definition, an assignment) found anywhere in the cell, however it is formatted."""
    found = statements_of(cell_source)
    return [where for where, code in scaffolds.items()
            if any(ast.dump(node) in found for node in ast.parse(code).body
                   if not isinstance(node, ast.Import | ast.ImportFrom))]


def test_the_course_has_scaffolding_and_every_declared_scaffold_exists():
    scaffolds = every_scaffold()
    assert "exercises/ex4_logistic_vs_linear/scaffolding.py: read_statements" in scaffolds
    for stem in COURSE.exercises():
        known = scaffolding.for_exercise(COURSE, stem)
        for grade_id, _, names in authored_test_cells(stem):
            assert set(names) <= set(known), f"{stem}: {grade_id} declares an unknown scaffold"


@pytest.mark.parametrize("stem", EXERCISES)
def test_no_test_cell_pastes_a_copy_of_a_scaffold(stem):
    scaffolds = every_scaffold()
    copies = {grade_id: found for grade_id, source, _ in authored_test_cells(stem)
              if (found := pasted(source, scaffolds))}
    assert not copies, (f"{stem}: test cells hold copies of scaffolding {copies}: declare it in the header "
                        '(scaffold="<name>") instead of pasting it (docs/authoring.md)')


def test_a_pasted_scaffold_is_caught_however_it_is_formatted():
    scaffolds = every_scaffold()
    code = scaffolds["exercises/ex4_logistic_vs_linear/scaffolding.py: read_statements"]
    (grade_id, source, _), *_ = [c for c in authored_test_cells("ex4_logistic_vs_linear") if c[2]]
    reformatted = "\n".join(line.rstrip() + ("  # pasted" if line.startswith("    return") else "")
                            for line in code.replace("\n\n\n", "\n\n").splitlines())
    for copy in (code, reformatted, code.split("\n\n\n", 1)[1]):  # whole, reformatted, the function alone
        with_copy = source.replace("### BEGIN HIDDEN TESTS\n", "### BEGIN HIDDEN TESTS\n" + copy + "\n\n", 1)
        assert pasted(with_copy, scaffolds) == ["exercises/ex4_logistic_vs_linear/scaffolding.py: read_statements"]
    assert pasted(source, scaffolds) == []


def test_exercise_4s_hidden_tests_get_the_statement_reader_and_the_release_hides_it():
    stem = "ex4_logistic_vs_linear"
    code = scaffolding.for_exercise(COURSE, stem)["read_statements"]
    declared = {grade_id for grade_id, _, names in authored_test_cells(stem) if "read_statements" in names}
    assert declared == {f"ex4_statements_tests_{aspect}" for aspect in
                        ("loss", "assumptions", "residuals", "diagnostics")}
    cells = {c.metadata.nbgrader["grade_id"]: c.source for c in source_nb(stem).cells}
    for grade_id in declared:
        assert "### BEGIN HIDDEN TESTS\n" + code + "\n\n\n_KEY_" in cells[grade_id], grade_id
    release = "".join(c.source for c in release_nb(stem).cells)
    assert "def _read" not in release and "_given" not in release


@pytest.mark.parametrize("stem", EXERCISES)
def test_the_committed_source_notebook_is_its_authoring_file_with_the_scaffolding(stem):
    text = (COURSE.exercise_dir(stem) / f"{stem}.py").read_text()
    built = dumps(text_to_notebook(text, name=f"{stem}.py", scaffolds=scaffolding.for_exercise(COURSE, stem)))
    assert built == (COURSE.step_dir("source") / f"{stem}.ipynb").read_text(), "run `make build`"
