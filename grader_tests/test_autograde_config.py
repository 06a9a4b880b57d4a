"""nbgrader_config.py derives the autograde pipeline from nbgrader's own default list: Execute
replaced by lrcourse.verify.VerifiedExecute, lrcourse.preprocessors.CapOutput right after it,
CheckCellMetadata by lrcourse.preprocessors.CheckMetadata (same verdicts, faster), nbgrader's
gradebook steps by the course's copies that share one Gradebook in a grading run, every other
step nbgrader's; without an Execute step in the default, loading the config fails."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import warnings

import pytest
from helpers import ROOT, source_nb
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.converters import Autograde
from nbgrader.nbgraderformat import MetadataValidator
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    Execute,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from sqlalchemy.exc import SAWarning
from traitlets.config.loader import PyFileConfigLoader
from traitlets.utils.importstring import import_item

from lrcourse import preprocessors as ours
from lrcourse.execute import executor_class
from lrcourse.preprocessors import CapOutput, CheckMetadata, _MetadataValidator
from lrcourse.verify import VerifiedExecute

# The list nbgrader_config.py wrote out by hand before it was derived (nbgrader 0.9.6).
HAND_WRITTEN = [
    "lrcourse.verify.VerifiedExecute",
    "lrcourse.preprocessors.CapOutput",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "lrcourse.preprocessors.SaveAutoGrades",
    "lrcourse.preprocessors.AssignLatePenalties",
    "lrcourse.preprocessors.CheckMetadata",
]
DEFAULT = Autograde.class_traits()["autograde_preprocessors"]


def resolved(steps) -> list[type]:
    return [import_item(s) if isinstance(s, str) else s for s in steps]


def configured_steps(folder=ROOT, pipeline="autograde_preprocessors") -> list[type]:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()
    return resolved(config.Autograde[pipeline])


class NewStep(IgnorePattern):
    """A step a later nbgrader might add to its default list."""


def test_the_derived_pipeline_is_nbgraders_default_with_the_verifier_in_place_of_execute():
    assert resolved(DEFAULT.default()) == [Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                           SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    assert configured_steps() == [VerifiedExecute, CapOutput, IgnorePattern, ClearMetadataPreprocessor,
                                  LimitOutput, ours.SaveAutoGrades, ours.AssignLatePenalties, CheckMetadata]
    assert configured_steps() == resolved(HAND_WRITTEN)


def test_lrcourse_grade_runs_the_verifier_in_the_workers_and_nbgraders_other_steps_after_it():
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    run, after = executor_class(config)
    assert run is VerifiedExecute
    assert after == configured_steps()[1:]  # what make_converter hands nbgrader, in nbgrader's order


def test_a_step_a_newer_nbgrader_adds_to_its_default_is_kept(monkeypatch):
    steps = [Execute, IgnorePattern, NewStep, LimitOutput]
    monkeypatch.setattr(DEFAULT, "default", lambda obj=None: list(steps))
    assert configured_steps() == [VerifiedExecute, CapOutput, IgnorePattern, NewStep, LimitOutput]


@pytest.mark.parametrize("steps", [[IgnorePattern, LimitOutput], [Execute, VerifiedExecute], [VerifiedExecute]])
def test_a_default_without_one_plain_execute_step_stops_the_config_from_loading(monkeypatch, steps):
    monkeypatch.setattr(DEFAULT, "default", lambda obj=None: list(steps))
    with pytest.raises(SystemExit, match="should hold one nbgrader.preprocessors.Execute step"):
        configured_steps()


def test_nbgrader_itself_stops_instead_of_grading_without_the_config(tmp_path):
    """traitlets logs an ordinary exception raised in a config file and runs on without the file;
    the config's SystemExit ends the nbgrader command."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    script = ("import sys\n"
              "from nbgrader.converters import Autograde\n"
              "from nbgrader.preprocessors import LimitOutput\n"
              "Autograde.class_traits()['autograde_preprocessors'].default = lambda obj=None: [LimitOutput]\n"
              "from nbgrader.apps.nbgraderapp import main\n"
              "sys.argv = ['nbgrader', 'db', 'student', 'list']\n"
              "main()\n")
    env = {**os.environ, "PATH": os.pathsep.join([str(ROOT / ".venv" / "bin"), os.environ.get("PATH", "")])}
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "should hold one nbgrader.preprocessors.Execute step" in proc.stderr


def test_the_sanitizing_steps_are_nbgraders_default_with_the_courses_faster_steps():
    default = Autograde.class_traits()["sanitize_preprocessors"].default()
    assert resolved(default) == [ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata]
    assert configured_steps(pipeline="sanitize_preprocessors") == [
        ClearOutput, DeduplicateIds, ours.OverwriteKernelspec, ours.OverwriteCells, CheckMetadata]


@pytest.mark.parametrize("step", list(ours.NBGRADER_SOURCES), ids=lambda step: step.__name__)
def test_the_gradebook_steps_copy_nbgraders_code_as_it_reads_now(step):
    """Each copies nbgrader's `preprocess` (SaveAutoGrades also `_add_score` and `_add_comment`)
    but for the Gradebook it uses (and where SaveAutoGrades commits): when nbgrader's changes (a
    new nbgrader), the copy must be read against it again and its digest renewed."""
    theirs = step.__mro__[1]
    assert theirs is import_item(f"nbgrader.preprocessors.{step.__name__}")
    assert ours.REPLACES[f"nbgrader.preprocessors.{step.__name__}"] == f"lrcourse.preprocessors.{step.__name__}"
    assert ours.nbgrader_source_digest(step) == ours.NBGRADER_SOURCES[step], (
        f"nbgrader's {theirs.__name__} changed: compare lrcourse.preprocessors.{step.__name__} with it")


def test_a_grading_run_shares_one_gradebook_and_a_step_outside_one_opens_its_own(tmp_path):
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    alone = ours.gradebook_for(url)
    alone.close()
    with ours.one_gradebook(url):
        book = ours.gradebook_for(url)
        assert ours.gradebook_for(url) is book and alone is not book
        for _ in range(2):  # each use closes it as nbgrader's steps do; the next one works
            with ours.gradebook_for(url) as gb:
                gb.update_or_create_student("s1")
                engine = gb.engine
            assert ours.gradebook_for(url).engine is engine
        assert [s.id for s in ours.gradebook_for(url).students] == ["s1"]
    other = ours.gradebook_for(url)
    assert other is not book
    other.close()


def _nbgrader_cells(nb):
    return [c for c in nb.cells if "nbgrader" in c.metadata]


def _broken_notebooks():
    """A source notebook with its metadata broken in the ways the schema and nbgrader's own
    checks catch, one way each."""
    base = source_nb("ex2_decision_thresholds")
    edits = {
        "valid": lambda cells: None,
        "points are text": lambda cells: cells[0].metadata.nbgrader.__setitem__("points", "ten"),
        "unknown key": lambda cells: cells[0].metadata.nbgrader.__setitem__("sneaky", 1),
        "grade is not a bool": lambda cells: cells[0].metadata.nbgrader.__setitem__("grade", "yes"),
        "no grade_id": lambda cells: cells[0].metadata.nbgrader.pop("grade_id"),
        "empty grade_id": lambda cells: cells[0].metadata.nbgrader.__setitem__("grade_id", ""),
        "schema too old": lambda cells: cells[0].metadata.nbgrader.__setitem__("schema_version", 1),
        "schema too new": lambda cells: cells[0].metadata.nbgrader.__setitem__("schema_version", 9),
        "duplicate ids": lambda cells: cells[1].metadata.nbgrader.__setitem__(
            "grade_id", cells[0].metadata.nbgrader.grade_id),
        "metadata not a dict": lambda cells: cells[0].metadata.__setitem__("nbgrader", ["grade"]),
    }
    for name, edit in edits.items():
        nb = copy.deepcopy(base)
        edit(_nbgrader_cells(nb))
        yield pytest.param(nb, id=name)


def _verdict(check, nb):
    try:
        check(nb)
    except Exception as err:  # noqa: BLE001 - the verdict is the exception, compared below
        return type(err).__name__, str(err)
    return "valid"


@pytest.mark.parametrize("nb", list(_broken_notebooks()))
def test_the_faster_metadata_check_gives_nbgraders_verdicts(nb):
    expected = _verdict(MetadataValidator().validate_nb, copy.deepcopy(nb))
    for _ in range(2):  # the second time, metadata that passed the schema before is remembered
        assert _verdict(_MetadataValidator().validate_nb, copy.deepcopy(nb)) == expected
    step = _verdict(lambda nb: CheckCellMetadata().preprocess(nb, {}), copy.deepcopy(nb))
    assert _verdict(lambda nb: CheckMetadata().preprocess(nb, {}), nb) == step
    assert (expected == "valid") == (step == "valid")


def test_metadata_that_passed_the_schema_is_remembered_and_metadata_that_failed_is_not():
    nb = source_nb("ex2_decision_thresholds")
    cell = _nbgrader_cells(nb)[0]
    _MetadataValidator().validate_nb(nb)
    key = (3, json.dumps(cell.metadata.nbgrader, sort_keys=True))
    assert key in ours._SchemaCheckedOnce._passed
    cell.metadata.nbgrader["points"] = "ten"
    for _ in range(2):
        with pytest.raises(Exception, match="ten"):
            _MetadataValidator().validate_nb(nb)
    assert (3, json.dumps(cell.metadata.nbgrader, sort_keys=True)) not in ours._SchemaCheckedOnce._passed


def _small_gradebook(url):
    """An assignment whose notebook has every kind of cell, submitted by two students."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        gb.add_assignment("a")
        gb.add_notebook("nb", "a", kernelspec='{"name": "python3"}')
        gb.add_grade_cell("test", "nb", "a", max_score=2, cell_type="code")
        gb.add_grade_cell("written", "nb", "a", max_score=1, cell_type="markdown")
        gb.add_solution_cell("written", "nb", "a")
        gb.add_solution_cell("answer", "nb", "a")
        gb.add_task_cell("task", "nb", "a", max_score=3, cell_type="markdown")
        for name, kind in [("answer", "code"), ("test", "code"), ("written", "markdown"), ("task", "markdown")]:
            gb.add_source_cell(name, "nb", "a", cell_type=kind, locked=name == "test", source=f"{name} source",
                               checksum=f"{name} sum")
        for student in ["s1", "s2"]:
            gb.update_or_create_student(student)  # as nbgrader's autograde adds them
            with warnings.catch_warnings():  # which trips SQLAlchemy's SAWarning (lrcourse.grade)
                warnings.simplefilter("ignore", SAWarning)
                gb.update_or_create_submission("a", student)


def test_save_auto_grades_finds_the_rows_nbgrader_finds_with_one_query_per_kind(tmp_path):
    from nbgrader.api import Gradebook, MissingEntry

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    _small_gradebook(url)
    with Gradebook(url) as gb:
        rows = ours._SubmissionRows(gb, ("nb", "a", "s2"))
        queries = []
        load = rows._load
        rows._load = lambda kind: queries.append(kind) or load(kind)
        for name in ["test", "written", "task"]:
            assert rows.find_grade(name, "nb", "a", "s2") is gb.find_grade(name, "nb", "a", "s2")
        for name in ["written", "answer", "task"]:
            assert rows.find_comment(name, "nb", "a", "s2") is gb.find_comment(name, "nb", "a", "s2")
        assert queries == ["grade", "comment"]
        assert rows.find_grade("test", "nb", "a", "s1") is gb.find_grade("test", "nb", "a", "s1")
        assert rows.find_grade("test", "nb", "a", "s1") is not rows.find_grade("test", "nb", "a", "s2")
        for find in (rows.find_grade, rows.find_comment):
            with pytest.raises(MissingEntry):
                find("nothing", "nb", "a", "s2")
        with pytest.raises(MissingEntry):
            rows.find_comment("test", "nb", "a", "s2")  # a test cell has a grade, no comment


def test_overwrite_cells_in_a_run_asks_the_gradebook_about_the_assignments_cells_once(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook, MissingEntry

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    _small_gradebook(url)
    asked = []
    for method in ["find_source_cell", "find_graded_cell", "find_notebook"]:
        original = getattr(Gradebook, method)
        monkeypatch.setattr(Gradebook, method, lambda self, *args, _o=original, _m=method: asked.append(_m)
                            or _o(self, *args))
    with ours.one_gradebook(url):
        for _ in range(3):
            with ours.source_cells_for(url) as gb:
                source = gb.find_source_cell("test", "nb", "a")
                assert (source.name, source.cell_type, source.locked, source.source, source.checksum) == (
                    "test", "code", True, "test source", "test sum")
                assert gb.find_graded_cell("task", "nb", "a").max_score == 3
                assert gb.find_graded_cell("test", "nb", "a").max_score == 2
                notebook = gb.find_notebook("nb", "a")
                assert [c.name for c in notebook.source_cells] == ["answer", "test", "written", "task"]
                assert [c.name for c in notebook.grade_cells] == ["test", "written"]
                assert [c.name for c in notebook.solution_cells] == ["written", "answer"]
                assert [(c.name, c.max_score) for c in notebook.task_cells] == [("task", 3)]
                with pytest.raises(MissingEntry, match="No such source cell"):
                    gb.find_source_cell("nothing", "nb", "a")
                assert [s.id for s in gb.students] == ["s1", "s2"]  # the rest is the Gradebook's
            with ours.source_cells_for(url) as gb:  # OverwriteKernelspec's
                assert gb.find_notebook("nb", "a").kernelspec == '{"name": "python3"}'
    assert sorted(asked) == ["find_graded_cell", "find_graded_cell", "find_notebook", "find_source_cell",
                             "find_source_cell"]
    assert not ours._RUN_SOURCE_CELLS  # the run's answers end with the run
    assert type(ours.source_cells_for(url)) is Gradebook  # outside a run, a Gradebook of its own
