"""lrcourse.goldens: last-digit noise passes, real changes fail, and rebuilds keep equivalent bytes.

Fast: no kernels; notebooks are made here, and the build step runs with a stand-in for nbgrader.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import nbformat
import pytest

from lrcourse.build import build_solutions
from lrcourse.course import ASSIGNMENT, CourseError
from lrcourse.goldens import differences, keep_if_equivalent, numbers_agree, snapshot, tree_differences


def notebook(best: str = "0.706", word: str = "threshold", table: str = "0.1234", png: str = "iVBORw0KGgo=",
             ename: str = "AssertionError", outputs: bool = True, points: int = 2) -> bytes:
    """A small executed notebook with the kinds of output the solutions and autograded notebooks have."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python", "version": "3.11.7"}}
    code = nbformat.v4.new_code_cell("print(best)", id="ex2_best", execution_count=1)
    code.metadata = {"nbgrader": {"grade": False, "grade_id": "ex2_best", "locked": False, "schema_version": 3,
                                  "solution": True, "task": False}}
    if outputs:
        code.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text=f"Best F1 = {best} at {word} 0.537 (n=100)\n"),
            nbformat.v4.new_output("execute_result", execution_count=1, data={
                "text/plain": f"   F1\n0  {table}", "text/html": f"<td>{table}</td>"}),
            nbformat.v4.new_output("display_data", data={"image/png": png,
                                                         "text/plain": "<Figure size 800x500 with 1 Axes>"}),
        ]
    test = nbformat.v4.new_code_cell("assert best > 0.7", id="ex2_best_tests", execution_count=2)
    test.metadata = {"nbgrader": {"grade": True, "grade_id": "ex2_best_tests", "locked": True, "points": points,
                                  "schema_version": 3, "solution": False, "task": False},
                     "deletable": False, "editable": False}
    test.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=f"best is {best}, not above 0.7",
                                           traceback=["\x1b[0;31mAssertionError\x1b[0m", "/tmp/ipykernel_1/1.py"])]
    nb.cells = [nbformat.v4.new_markdown_cell("# Thresholds", id="ex2_intro"), code, test]
    return (nbformat.writes(nb) + "\n").encode()


def test_equal_notebooks_pass():
    assert differences(notebook(), notebook(), "ex2.ipynb") == []


def test_renderer_and_machine_details_are_ignored():
    other = json.loads(notebook(png="AAAAAAAA"))
    other["metadata"]["language_info"]["version"] = "3.11.9"
    other["cells"][2]["outputs"][0]["traceback"] = ["/tmp/ipykernel_777/2.py"]
    assert differences(notebook(), json.dumps(other, indent=2).encode(), "ex2.ipynb") == []


def test_a_last_digit_float_difference_passes():
    assert numbers_agree("0.30000000000000004", "0.3")
    assert numbers_agree("0.7063492063492064", "0.7063492063492065")
    assert numbers_agree("1.2345678901e-05", "1.2345678902e-05")
    assert differences(notebook(best="0.7063492063492064"), notebook(best="0.7063492063492065"), "ex2.ipynb") == []


def test_a_rounded_print_may_differ_by_one_unit_in_its_last_place():
    assert differences(notebook(table="0.1234"), notebook(table="0.1235"), "ex2.ipynb") == []
    assert differences(notebook(best="0.706"), notebook(best="0.707"), "ex2.ipynb") == []
    assert numbers_agree("-0.000", "0.000") and numbers_agree("9.99e-01", "1.00e+00")


@pytest.mark.parametrize(("old", "new"), [
    ("0.5", "0.6"),  # one decimal: a real change
    ("0.1234", "0.1236"),  # two units in the last place
    ("3", "4"),  # integers are exact
    ("3.0", "2.0"),
    ("0.3", "-0.3"),
])
def test_a_real_numeric_difference_fails(old, new):
    assert not numbers_agree(old, new)


@pytest.mark.parametrize("changed", [
    {"best": "0.6"},  # stdout and the error value
    {"table": "0.1236"},  # execute_result text/plain and text/html
    {"word": "cut-off"},
    {"outputs": False},  # missing outputs
    {"ename": "NameError"},
    {"points": 3},  # nbgrader metadata
])
def test_a_real_notebook_difference_fails(changed):
    found = differences(notebook(), notebook(**changed), "ex2.ipynb")
    assert found and all(line.startswith("ex2.ipynb cell") for line in found), found


def test_a_changed_source_or_missing_cell_fails():
    nb = json.loads(notebook())
    nb["cells"][1]["source"] = "print(best )"
    assert differences(notebook(), json.dumps(nb).encode(), "ex2.ipynb") == [
        "ex2.ipynb cell 1 (ex2_best): source differs"]
    del nb["cells"][0]
    assert "3 cells expected, 2 found" in differences(notebook(), json.dumps(nb).encode(), "ex2.ipynb")[0]


CSV = ("student_id,raw_score,score,status\n"
       "example-complete,{score},{score},graded\nexample-partial,{part},{part},graded\n")


def test_csv_noise_passes_and_a_changed_grade_fails():
    old = CSV.format(score="12.0", part="0.30000000000000004").encode()
    assert differences(old, CSV.format(score="12.0", part="0.3").encode(), "grades.csv") == []
    found = differences(old, CSV.format(score="11.0", part="0.3").encode(), "grades.csv")
    assert found == ["grades.csv, line 2: expected 'example-complete,12.0,12.0,graded', "
                     "found 'example-complete,11.0,11.0,graded'"]
    by_question = "student_id,ex1:tests,status\nexample-partial,{},graded\n"
    assert differences(by_question.format(2).encode(), by_question.format(1).encode(), "by_question.csv")
    assert differences(b'{"score": 3.5}\n', b'{"score": 3.0}\n', "s.json")
    assert differences(b'{"score": 3.5}\n', b'{"score": 3.5000000000000004}\n', "s.json") == []


def test_other_files_compare_byte_for_byte():
    assert differences(b"\x89PNG\x00\xff", b"\x89PNG\x00\xff", "pass_rates.png") == []
    assert differences(b"\x89PNG\x00\xff", b"\x89PNG\x00\xfe", "pass_rates.png")


def test_tree_differences_name_missing_files(tmp_path):
    for side in ("a", "b"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "grades.csv").write_text("x,1.5\n")
    (tmp_path / "a" / "extra.json").write_text("{}")
    assert "extra.json" in tree_differences(tmp_path / "a", tmp_path / "b")[0]
    (tmp_path / "b" / "extra.json").write_text("{}")
    assert tree_differences(tmp_path / "a", tmp_path / "b") == []


def test_keep_if_equivalent_restores_equivalent_files_and_keeps_changed_ones(tmp_path):
    files = {"same.ipynb": notebook(best="0.706"), "same.html": b"<p>old render</p>",
             "changed.ipynb": notebook(best="0.706"), "changed.html": b"<p>old render</p>",
             "grades.csv": b"a,0.1\n", "report.csv": b"a,0.1\n"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    old = snapshot(tmp_path)
    (tmp_path / "same.ipynb").write_bytes(notebook(best="0.707", png="AAAA"))
    (tmp_path / "same.html").write_bytes(b"<p>new render</p>")
    (tmp_path / "changed.ipynb").write_bytes(notebook(best="0.6"))
    (tmp_path / "changed.html").write_bytes(b"<p>new render</p>")
    (tmp_path / "grades.csv").write_bytes(b"a,0.10000000000000002\n")
    (tmp_path / "report.csv").write_bytes(b"a,0.2\n")
    (tmp_path / "same.ipynb").chmod(0o444)  # as nbgrader leaves it
    assert keep_if_equivalent(old, tmp_path) == ["same.ipynb", "grades.csv", "same.html"]
    assert snapshot(tmp_path) == {**files, "changed.ipynb": notebook(best="0.6"),
                                  "changed.html": b"<p>new render</p>", "report.csv": b"a,0.2\n"}
    assert stat.S_IMODE((tmp_path / "same.ipynb").stat().st_mode) == 0o444


class FakeCourse:
    """Just what build_solutions uses; its `nbgrader generate_solution` writes the given notebooks."""

    def __init__(self, root: Path, generated: dict[str, bytes]):
        self.root, self.generated = root, generated

    def step_dir(self, step: str) -> Path:
        return self.root / step / ASSIGNMENT

    def notebooks(self) -> list[str]:
        return []  # no source notebooks here: the rubric lists no written answer

    def nbgrader(self, *args: str, quiet: bool = False) -> None:
        assert args[0] == "generate_solution"
        out = self.step_dir("solutions")
        out.mkdir(parents=True)
        for name, data in self.generated.items():
            (out / name).write_bytes(data)
            (out / name).chmod(0o444)


def test_build_solutions_keeps_committed_bytes_of_an_equivalent_notebook(tmp_path):
    committed = {"ex1.ipynb": notebook(table="0.1234"), "ex1.html": b"committed render",
                 "ex2.ipynb": notebook(best="0.706"), "ex2.html": b"committed render", "rubric.md": b"old"}
    out = tmp_path / "solutions" / ASSIGNMENT
    out.mkdir(parents=True)
    for name, data in committed.items():
        (out / name).write_bytes(data)
    rebuilt = {"ex1.ipynb": notebook(table="0.1235", png="AAAA"), "ex2.ipynb": notebook(best="0.5")}
    with pytest.raises(CourseError, match="do not run cleanly"):  # the notebooks here carry an error output
        build_solutions(FakeCourse(tmp_path, rebuilt), db="sqlite://")
    assert (out / "ex1.ipynb").read_bytes() == committed["ex1.ipynb"]
    assert (out / "ex1.html").read_bytes() == b"committed render"
    assert (out / "ex2.ipynb").read_bytes() == rebuilt["ex2.ipynb"]
    assert b"Best F1 = 0.5" in (out / "ex2.html").read_bytes()


def test_a_print_split_into_two_messages_passes_but_other_text_fails():
    split = json.loads(notebook())
    out = split["cells"][1]["outputs"][0]
    split["cells"][1]["outputs"][0:1] = [dict(out, text="Best F1 = 0.706 at threshold"),
                                         dict(out, text=" 0.537 (n=100)\n")]
    assert differences(notebook(), json.dumps(split).encode(), "ex2.ipynb") == []
    split["cells"][1]["outputs"][1]["text"] = " 0.537 (n=99)\n"
    assert differences(notebook(), json.dumps(split).encode(), "ex2.ipynb")
