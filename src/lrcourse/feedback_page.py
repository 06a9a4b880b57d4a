"""The feedback page: written answers nobody has graded yet say so.

nbgrader's feedback shows an answered essay that no grader has read as
"Written response (Score: 0.0 / 5.0)". The course's steps, selected in nbgrader_config.py:

* `GetGrades`: nbgrader's, which also marks every graded cell with `lrcourse_ungraded`
  (a manually graded answer with no score yet) and counts those points for the page;
* `FeedbackExporter`: nbgrader's feedback HTML with the course's template
  (templates/lrcourse_feedback), which prints "not graded yet" for such cells and the
  points still to be graded next to the notebook's score.
"""

from __future__ import annotations

from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbgrader import preprocessors as nbgrader_preprocessors
from nbgrader import utils

TEMPLATES = Path(__file__).with_name("templates")
NBGRADER_TEMPLATES = Path(nbgrader_preprocessors.__file__).parents[1] / "server_extensions" / "formgrader" / "templates"


def waiting_for_grader(grade) -> bool:
    """A manually graded cell that no grader has scored (nbgrader counts it as 0)."""
    return grade.auto_score is None and grade.manual_score is None


class GetGrades(nbgrader_preprocessors.GetGrades):
    """nbgrader's GetGrades, plus `lrcourse_ungraded` on every graded cell (always written, so
    a value a student put into the metadata never survives) and
    `resources['nbgrader']['lrcourse_ungraded_points']`."""

    def preprocess(self, nb, resources):
        resources["nbgrader"]["lrcourse_ungraded_points"] = 0.0
        return super().preprocess(nb, resources)

    def _get_score(self, cell, resources) -> None:
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        cell.metadata.nbgrader["lrcourse_ungraded"] = waiting = waiting_for_grader(grade)
        if waiting:
            resources["nbgrader"]["lrcourse_ungraded_points"] += float(grade.max_score)

    def preprocess_cell(self, cell, resources, cell_index):
        if utils.is_grade(cell) or utils.is_task(cell):
            cell.metadata.nbgrader["lrcourse_ungraded"] = False
        return super().preprocess_cell(cell, resources, cell_index)


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback HTML, rendered with the course's template (which extends nbgrader's).
    Selected by `c.GenerateFeedback.exporter_class`; formgrader keeps its own exporter."""

    def __init__(self, *args, **kwargs):
        # Given as arguments (which win over config: GenerateFeedback configures nbgrader's own
        # template) rather than set afterwards, when nbconvert has already found its template paths.
        kwargs.update(template_name="lrcourse_feedback",
                      extra_template_basedirs=[str(NBGRADER_TEMPLATES), str(TEMPLATES)])
        super().__init__(*args, **kwargs)
        # nbgrader's templates folder itself is searched too, so that ours can extend
        # 'feedback/index.html.j2'; template_paths is computed once, so it is recomputed.
        self.extra_template_paths = [*self.extra_template_paths, str(NBGRADER_TEMPLATES)]
        self.template_paths = self._template_paths()
