"""nbgrader preprocessors the course adds to nbgrader's pipelines (selected in nbgrader_config.py)."""

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests

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
