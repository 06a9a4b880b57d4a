"""nbgrader preprocessors the course adds to nbgrader's pipelines (selected in nbgrader_config.py)."""

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests

HIDDEN_NOTE = "# (This cell also ran hidden tests; their code is not shown.)"


class HideHiddenTests(ClearHiddenTests):
    """Feedback step: drop hidden-test source and the tracebacks that would quote it.

    An error inside a hidden block keeps its exception name and message (the
    assert's message, written for students) but loses the traceback, whose
    context lines would show the hidden code and its reference values.
    """

    def preprocess_cell(self, cell: NotebookNode, resources, cell_index):
        if cell.cell_type != "code" or not self._remove_hidden_test_region(cell):
            return cell, resources
        cell.source = (cell.source.rstrip("\n") + "\n" + HIDDEN_NOTE).lstrip("\n")
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources

