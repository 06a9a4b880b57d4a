"""nbgrader preprocessors the course adds to nbgrader's pipelines (selected in nbgrader_config.py)."""

import json
from contextlib import contextmanager

import nbformat
import nbgrader.preprocessors as nbgrader_steps
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.nbgraderformat import ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator, SchemaTooNewError, SchemaTooOldError
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3
from nbgrader.preprocessors import CheckCellMetadata, ClearHiddenTests, NbGraderPreprocessor
from traitlets import Integer

HIDDEN_NOTE = "# (This cell also ran hidden tests; their code is not shown.)"


class HideHiddenTests(ClearHiddenTests):
    """Feedback step: drop hidden-test source and the tracebacks that would quote it.

    An error inside a hidden block keeps its exception name and message (the
    assert's message, written for students) but loses the traceback, whose
    context lines would show the hidden code and its reference values.

    Only test cells hold hidden tests (autograde restored them from the source), so
    only test cells are touched: a student's own text in an answer cell, even
    `### BEGIN HIDDEN TESTS` without its end, is theirs to see and never fails the
    feedback (nbgrader's ClearHiddenTests raises on it). A test cell whose markers do
    not pair up shows none of its source.
    """

    def preprocess_cell(self, cell: NotebookNode, resources, cell_index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            return cell, resources
        try:
            removed = self._remove_hidden_test_region(cell)
        except RuntimeError:  # unpaired or nested markers: show nothing of the cell's code
            cell.source, removed = "", True
        if not removed:
            return cell, resources
        cell.source = (cell.source.rstrip("\n") + "\n" + HIDDEN_NOTE).lstrip("\n")
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


def output_bytes(output) -> int:
    """The size of one output as stored: its text, its data bundle (images included)."""
    size = len(output.get("text", "")) if output.get("output_type") == "stream" else 0
    for value in (output.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(json.dumps(value))
    if output.get("output_type") == "error":
        size += len(output.get("evalue", "")) + sum(len(line) for line in output.get("traceback", []))
    return size


def _cut_note(removed: int, limit: int) -> NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=(
        f"\n... {removed:,} bytes of output removed: over the grader's limit of {limit:,} bytes per cell ...\n"))


class CapOutput(NbGraderPreprocessor):
    """Autograde step: every cell's outputs, whatever their type (text, images, HTML, JSON),
    and a markdown cell's attachments, cut to `max_cell_bytes`, and the notebook to
    `max_notebook_bytes`. An error output is always kept (shortened), so a failing test
    still scores zero; what is removed is replaced by one line saying how much."""

    runs_in_worker = True  # lrcourse.execute runs it where the notebook was executed, too

    max_cell_bytes = Integer(1_000_000, help="Bytes of output one cell may keep.").tag(config=True)
    max_notebook_bytes = Integer(10_000_000, help="Bytes of output one notebook may keep.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources):
        left = self.max_notebook_bytes
        for cell in nb.cells:
            budget = min(self.max_cell_bytes, left)
            attachments = cell.get("attachments")
            if attachments:
                size = len(json.dumps(attachments))
                if size > budget:
                    del cell["attachments"]
                else:
                    budget -= size
            if cell.cell_type != "code":
                left -= min(self.max_cell_bytes, left) - budget
                continue
            start = budget
            for output in cell.outputs:  # errors first: a failing verdict is always kept
                if output.output_type == "error":
                    output.evalue = output.get("evalue", "")[:2_000]
                    output.traceback = [line[:2_000] for line in output.get("traceback", [])[-40:]]
                    budget = max(0, budget - output_bytes(output))
            kept, removed = [], 0
            for output in cell.outputs:
                size = output_bytes(output)
                if output.output_type == "error":
                    kept.append(output)
                elif size <= budget:
                    kept.append(output)
                    budget -= size
                elif output.output_type == "stream" and budget > 0:
                    removed += size - budget
                    output.text = output.text[:budget]
                    kept.append(output)
                    budget = 0
                else:
                    removed += size
            if removed:
                kept.append(_cut_note(removed, self.max_cell_bytes))
            cell.outputs = kept
            left -= start - budget
        return nb, resources


class _SchemaCheckedOnce(BaseMetadataValidator):
    """nbgrader's BaseMetadataValidator.validate_cell, with the same errors, except that
    jsonschema checks nbgrader's schema once per process instead of once per cell (which
    `jsonschema.validate` does, and which was nine tenths of the step's time), and a cell's
    nbgrader metadata that passed the schema once passes again without jsonschema: every
    student's copy of a cell carries the same metadata, checked twice a notebook (about 5 ms of
    the grading process's CPU a notebook). Only metadata that passed is remembered: what fails
    is checked, and fails, every time."""

    _validators: dict[int, object] = {}
    _passed: set[tuple[int, str]] = set()
    PASSED_KEPT = 4096  # distinct metadata remembered; a run with more starts remembering anew

    def _validator(self):
        if self.schema_version not in self._validators:
            import jsonschema

            cls = jsonschema.validators.validator_for(self.schema)
            cls.check_schema(self.schema)
            self._validators[self.schema_version] = cls(self.schema)
        return self._validators[self.schema_version]

    def validate_cell(self, cell: NotebookNode) -> None:
        import jsonschema

        if "nbgrader" not in cell.metadata:
            return
        schema = cell.metadata["nbgrader"].get("schema_version", 0)
        if schema < self.schema_version:
            raise SchemaTooOldError(f"Outdated schema version: {schema} (expected {self.schema_version})",
                                    schema, self.schema_version)
        if schema > self.schema_version:
            raise SchemaTooNewError(f"Schema version is too new: {schema} (expected {self.schema_version})",
                                    schema, self.schema_version)
        key = (self.schema_version, json.dumps(cell.metadata["nbgrader"], sort_keys=True))
        if key in self._passed:
            return
        error = jsonschema.exceptions.best_match(self._validator().iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error
        if len(self._passed) >= self.PASSED_KEPT:
            self._passed.clear()
        self._passed.add(key)


class _MetadataValidator(MetadataValidatorV3, _SchemaCheckedOnce):
    """nbgrader's MetadataValidator (v3): its own checks, then the schema's (above)."""


class CheckMetadata(CheckCellMetadata):
    """nbgrader's CheckCellMetadata with the same verdicts and messages, faster (see
    _SchemaCheckedOnce). nbgrader_config.py puts it where nbgrader's default autograde
    pipelines have CheckCellMetadata."""

    def preprocess(self, nb: NotebookNode, resources):
        import traceback

        try:
            _MetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)  # noqa: B904 - as nbgrader raises it
        return nb, resources


# -- the gradebook steps, one Gradebook per grading run ------------------------------------------
#
# nbgrader's gradebook steps each open a Gradebook of their own for every notebook, and with it
# a new SQLAlchemy engine: the engine's cache of compiled statements starts empty each time, so
# every query of every step was compiled again (with Gradebook's own start-up, about 23 ms of
# the coordinator's 85 ms of CPU a notebook). The steps below are nbgrader's, with the same
# code, except that within `one_gradebook` (a grading run of `lrcourse grade`) they use the
# run's Gradebook: the same database and the same queries on it, compiled once. Outside a run
# (`nbgrader autograde`) they open their own, as nbgrader's do. Their `preprocess` is nbgrader
# 0.9.6's, line for line but the Gradebook (and SaveAutoGrades' one commit a notebook, in its
# copies of `_add_score` and `_add_comment`); test_autograde_config checks that nbgrader's
# methods still read as copied (NBGRADER_SOURCES).

_RUN_GRADEBOOKS: dict[str, object | None] = {}
_RUN_SOURCE_CELLS: dict[str, dict] = {}  # db_url -> the run's answers to OverwriteCells' lookups


@contextmanager
def one_gradebook(db_url: str):
    """Within: the gradebook steps (and `gradebook_for(db_url)`) share one Gradebook for `db_url`,
    made when first used (as nbgrader's steps make theirs). Each use still ends as nbgrader's do
    (`with gradebook:` closes its session and returns its connections); what is kept is the
    engine, and with it the compiled statements."""
    _RUN_GRADEBOOKS[db_url] = None
    _RUN_SOURCE_CELLS[db_url] = {}
    try:
        yield
    finally:
        _RUN_SOURCE_CELLS.pop(db_url, None)
        book = _RUN_GRADEBOOKS.pop(db_url, None)
        if book is not None:
            book.close()


def gradebook_for(db_url: str):
    """The grading run's Gradebook for `db_url`, or a new one (nbgrader's own steps' way)."""
    from nbgrader.api import Gradebook

    if db_url not in _RUN_GRADEBOOKS:
        return Gradebook(db_url)
    if _RUN_GRADEBOOKS[db_url] is None:
        _RUN_GRADEBOOKS[db_url] = Gradebook(db_url)
    return _RUN_GRADEBOOKS[db_url]


class SaveAutoGrades(nbgrader_steps.SaveAutoGrades):
    """nbgrader's SaveAutoGrades, in a grading run with the run's Gradebook, committing once a
    notebook instead of after every cell. nbgrader's `_add_score` and `_add_comment` each end in
    a commit, which also expires every object the session holds, so the next cell loaded them
    again: about 40 % of the step. The rows written are the same: each cell's changes either
    all happen or, where a lookup raises first, none do, and what the cells before it changed
    is committed on the way out (`finally`), as nbgrader's per-cell commits had. The rows a
    notebook's cells update are loaded in two queries instead of one a cell (_SubmissionRows)."""

    def preprocess(self, nb: NotebookNode, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = _SubmissionRows(gradebook_for(self.db_url),
                                         (self.notebook_id, self.assignment_id, self.student_id))
        with self.gradebook:
            try:
                nb, resources = super(nbgrader_steps.SaveAutoGrades, self).preprocess(nb, resources)
            finally:
                self.gradebook.db.commit()
        return nb, resources

    def _add_score(self, cell: NotebookNode, resources) -> None:
        grade = self.gradebook.find_grade(
            cell.metadata["nbgrader"]["grade_id"],
            self.notebook_id,
            self.assignment_id,
            self.student_id)
        auto_score, _ = utils.determine_grade(cell, self.log)
        grade.auto_score = auto_score
        if (grade.manual_score is not None) or (grade.auto_score is None):
            grade.needs_manual_grade = True
        else:
            grade.needs_manual_grade = False

    def _add_comment(self, cell: NotebookNode, resources) -> None:
        comment = self.gradebook.find_comment(
            cell.metadata["nbgrader"]["grade_id"],
            self.notebook_id,
            self.assignment_id,
            self.student_id)
        if cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell) and not utils.is_task(cell):
            comment.auto_comment = "No response."
        else:
            comment.auto_comment = None


class _Proxy:
    """A Gradebook with some of its lookups answered otherwise (subclasses); the rest is its own."""

    def __init__(self, gradebook):
        self._gradebook = gradebook

    def __getattr__(self, name):
        return getattr(self._gradebook, name)

    def __enter__(self):
        self._gradebook.__enter__()
        return self

    def __exit__(self, *exc):
        return self._gradebook.__exit__(*exc)


_AMBIGUOUS = object()


class _SubmissionRows(_Proxy):
    """A Gradebook as SaveAutoGrades sees it for one submitted notebook: `find_grade` and
    `find_comment` for that notebook answered from one query each (its rows, by the kind and name
    of their cell) instead of one query a cell. The answer is the row nbgrader's lookup finds: the
    same object of the same session, found by the same rule (a grade cell's grade before a task
    cell's; a solution cell's comment before a task cell's). Where that rule has no single answer
    (no row, or two), the Gradebook's own lookup answers, and raises as it does."""

    FIRST = {"grade": ("GradeCell", "TaskCell"), "comment": ("SolutionCell", "TaskCell")}

    def __init__(self, gradebook, notebook: tuple[str, str, str]):
        super().__init__(gradebook)
        self._notebook, self._rows = notebook, {}

    def find_grade(self, name, *notebook):
        return self._find("grade", name, notebook)

    def find_comment(self, name, *notebook):
        return self._find("comment", name, notebook)

    def _find(self, kind: str, name: str, notebook: tuple):
        if notebook == self._notebook:
            if kind not in self._rows:
                self._rows[kind] = self._load(kind)
            for cell_kind in self.FIRST[kind]:
                row = self._rows[kind].get((cell_kind, name))
                if row is _AMBIGUOUS:
                    break
                if row is not None:
                    return row
        return getattr(self._gradebook, f"find_{kind}")(name, *notebook)

    def _load(self, kind: str) -> dict:
        from nbgrader.api import (
            Assignment,
            BaseCell,
            Comment,
            Grade,
            Notebook,
            Student,
            SubmittedAssignment,
            SubmittedNotebook,
        )

        model = Grade if kind == "grade" else Comment
        notebook, assignment, student = self._notebook
        query = (self._gradebook.db.query(model, BaseCell.type, BaseCell.name)
                 .join(BaseCell, BaseCell.id == model.cell_id)
                 .join(SubmittedNotebook, SubmittedNotebook.id == model.notebook_id)
                 .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
                 .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
                 .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
                 .join(Student, Student.id == SubmittedAssignment.student_id)
                 .filter(Notebook.name == notebook, Assignment.name == assignment, Student.id == student))
        rows: dict = {}
        for row, cell_kind, cell_name in query:
            rows[(cell_kind, cell_name)] = _AMBIGUOUS if (cell_kind, cell_name) in rows else row
        return rows


class _SourceCells(_Proxy):
    """A grading run's Gradebook as OverwriteCells sees it: its lookups of the assignment's own
    cells (`find_source_cell`, `find_graded_cell`, and `find_notebook` with the notebook's lists
    of cells), which are the same for every student, are answered from the database once a run
    and then from a copy of the rows' columns (or the same MissingEntry); everything else is the
    Gradebook's. Nothing in a grading run changes the assignment's cells (`lrcourse grade` builds
    the assignment before it starts)."""

    NOTEBOOK_CELLS = ("source_cells", "grade_cells", "solution_cells", "task_cells")

    def __init__(self, gradebook, answers: dict):
        super().__init__(gradebook)
        self._answers = answers

    def find_source_cell(self, *args):
        return self._answer("find_source_cell", args)

    def find_graded_cell(self, *args):
        return self._answer("find_graded_cell", args)

    def find_notebook(self, *args):
        return self._answer("find_notebook", args, self.NOTEBOOK_CELLS)

    def _answer(self, method: str, args: tuple, lists: tuple[str, ...] = ()):
        from nbgrader.api import MissingEntry

        key = (method, args)
        if key not in self._answers:
            try:
                row = getattr(self._gradebook, method)(*args)
            except MissingEntry as err:
                self._answers[key] = str(err)
            else:
                self._answers[key] = _columns(row, **{name: [_columns(cell) for cell in getattr(row, name)]
                                                      for name in lists})
        answer = self._answers[key]
        if isinstance(answer, str):
            raise MissingEntry(answer)
        return answer


def source_cells_for(db_url: str):
    """`gradebook_for(db_url)`, in a grading run with the run's answers about the assignment's cells."""
    if db_url in _RUN_SOURCE_CELLS:
        return _SourceCells(gradebook_for(db_url), _RUN_SOURCE_CELLS[db_url])
    return gradebook_for(db_url)


def _columns(row, **more):
    """A copy of a gradebook row's columns (and `more`), readable without a database session."""
    from types import SimpleNamespace

    from sqlalchemy import inspect

    return SimpleNamespace(**{column.key: getattr(row, column.key) for column in inspect(row).mapper.column_attrs},
                           **more)


class OverwriteCells(nbgrader_steps.OverwriteCells):
    """nbgrader's OverwriteCells, in a grading run with the run's Gradebook (whose answers about
    the assignment's cells it keeps for the run: _SourceCells)."""

    def preprocess(self, nb: NotebookNode, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = source_cells_for(self.db_url)
        with self.gradebook:
            nb, resources = super(nbgrader_steps.OverwriteCells, self).preprocess(nb, resources)
            if self.add_missing_cells:
                nb, resources = self.add_missing_grade_cells(nb, resources)
                nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


class AssignLatePenalties(nbgrader_steps.AssignLatePenalties):
    """nbgrader's AssignLatePenalties, in a grading run with the run's Gradebook."""

    def preprocess(self, nb: NotebookNode, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.init_plugin()
        self.gradebook = gradebook_for(self.db_url)
        with self.gradebook:
            nb, resources = super(nbgrader_steps.AssignLatePenalties, self).preprocess(nb, resources)
            assignment = self.gradebook.find_submission(self.assignment_id, self.student_id)
            notebook = self.gradebook.find_submission_notebook(self.notebook_id, self.assignment_id,
                                                               self.student_id)
            notebook.late_submission_penalty = None
            if assignment.total_seconds_late > 0:
                self.log.warning(f"{assignment} is {assignment.total_seconds_late} seconds late")
                late_penalty = self.plugin_inst.late_submission_penalty(
                    self.student_id, notebook.score, assignment.total_seconds_late)
                self.log.warning(f"Late submission penalty: {late_penalty}")
                if late_penalty is not None:
                    late_penalty = self._check_late_penalty(notebook, late_penalty)
                    notebook.late_submission_penalty = late_penalty
            self.gradebook.db.commit()
        return nb, resources


class OverwriteKernelspec(nbgrader_steps.OverwriteKernelspec):
    """nbgrader's OverwriteKernelspec, in a grading run with the run's Gradebook (and its answers
    about the assignment's notebooks: _SourceCells)."""

    def preprocess(self, nb: NotebookNode, resources):
        notebook_id = resources["nbgrader"]["notebook"]
        assignment_id = resources["nbgrader"]["assignment"]
        db_url = resources["nbgrader"]["db_url"]
        with source_cells_for(db_url) as gb:
            kernelspec = gb.find_notebook(notebook_id, assignment_id).kernelspec
            if kernelspec is not None:
                kernelspec = json.loads(kernelspec)
            self.log.debug(f"Source notebook kernelspec: {kernelspec}")
            self.log.debug(f"Submitted notebook kernelspec: {nb.metadata.get('kernelspec', None)}")
            if kernelspec:
                self.log.debug(f"Overwriting submitted notebook kernelspec: {kernelspec}")
                nb.metadata["kernelspec"] = kernelspec
        return nb, resources


# nbgrader's methods the steps above copy, and the digest of their source when they were copied
NBGRADER_SOURCES = {
    SaveAutoGrades: "439afa58783f4d8f",
    OverwriteCells: "3a94b453d8e53bee",
    AssignLatePenalties: "e4fa96a4c466680a",
    OverwriteKernelspec: "28cc17a228e741a2",
}
# nbgrader's step -> the course's, where nbgrader_config.py puts them
REPLACES = {
    "nbgrader.preprocessors.CheckCellMetadata": f"{__name__}.CheckMetadata",
    **{f"nbgrader.preprocessors.{step.__name__}": f"{__name__}.{step.__name__}" for step in NBGRADER_SOURCES},
}


def nbgrader_source_digest(step: type) -> str:
    """The digest of the methods of nbgrader's step that `step` copies (its `preprocess`, and any
    other it defines: SaveAutoGrades' `_add_score` and `_add_comment`)."""
    import hashlib
    import inspect

    theirs = step.__mro__[1]
    copied = [name for name in vars(step) if callable(vars(step)[name]) and name in vars(theirs)]
    source = "".join(inspect.getsource(getattr(theirs, name)) for name in copied)
    return hashlib.sha256(source.encode()).hexdigest()[:16]
