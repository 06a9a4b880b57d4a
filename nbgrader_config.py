"""nbgrader configuration for the logistic-regression course.

nbgrader reads this file from the directory it runs in; the course tooling
(`lrcourse ...`) always runs nbgrader from the repository root, so every path
below is relative to this file, wherever the repository is cloned.
"""

import os

c = get_config()  # noqa: F821  (injected by nbgrader/traitlets when it loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))

# --- Course layout (nbgrader's own: source/, release/, submitted/, autograded/, feedback/)
# Course id: recorded in the gradebook and in exports.
c.CourseDirectory.course_id = "logistic-regression"
# Root of the course: the repository itself, so paths never depend on the cwd.
c.CourseDirectory.root = HERE
# Executed solution notebooks go to solutions/ (nbgrader's default is solution/).
c.CourseDirectory.solution_directory = "solutions"
# Files never copied into release/ or back from submissions.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".nbgrader.log"]
# The gradebook: SQLite next to this file unless LRCOURSE_DB_URL names another
# database (e.g. postgresql://...). It is scratch state: gitignored, rebuilt by the tools.
c.CourseDirectory.db_url = os.environ.get(
    "LRCOURSE_DB_URL", "sqlite:///" + os.path.join(HERE, "gradebook.db"))

# The exchange (nbgrader's release/fetch/submit/collect between users of one machine): this
# course collects through GitHub or by copying into submitted/, so it needs none, but
# formgrader and the assignment list look for one at start and complain when it is
# missing ("The exchange directory at /usr/local/share/nbgrader/exchange does not exist",
# "Unwritable directory"). A folder inside the course (gitignored), created here, is
# writable by whoever grades.
c.Exchange.root = os.path.join(HERE, ".exchange")
os.makedirs(c.Exchange.root, exist_ok=True)

# --- Building the assignment
# `nbgrader generate_assignment` creates the assignment in the gradebook if needed.
c.GenerateAssignment.create_assignment = True

# --- Executing notebooks (generate_solution and autograde)
# The course's sandboxed kernel (docs/sandbox.md), installed into the project's virtual
# environment by `lrcourse sandbox` (make setup does it). It is the course's
# Python, started by a launcher that locks it in: a copy of the submission folder
# without notebooks, no course files, no network, an unprivileged user, capped
# memory, CPU time, processes, open files and file size. Where that is impossible
# (not Linux, not root) it warns loudly once and runs the plain `lrcourse` kernel.
# Pinning the name also means grading never runs a student's notebook with some
# other `python3` that Jupyter finds first: the kernel name a notebook claims is ignored.
c.Execute.kernel_name = "lrcourse-sandbox"
# Seconds one cell may run before it is interrupted and counted as an error. The
# slowest solution cell takes well under 5 s; 60 s leaves room for slow machines
# while an infinite loop costs a student one cell, not the batch.
c.Execute.timeout = 60
# Interrupt a cell that times out (instead of killing the whole notebook run).
c.Execute.interrupt_on_timeout = True
# Seconds to wait for a cell's last outputs after its reply (nbclient's default, 4 s, is
# "Timeout waiting for IOPub output" for an honest cell on a loaded 2-core machine).
c.Execute.iopub_timeout = 30
# No wall-clock timestamps in cell metadata, so rebuilt outputs are byte-stable.
c.Execute.record_timing = False
# Kernels count as ready when they answer and IOPub delivers, without jupyter_client's extra
# 0.2 s of IOPub silence (nbclient ignores what it would drop): lrcourse.kernel_client.
c.AsyncKernelManager.client_class = "lrcourse.kernel_client.ReadyClient"

# --- Autograding
# Tests are judged in a kernel where no student code has run (lrcourse.verify, docs/sandbox.md):
# the steps are nbgrader's own default list, read from the installed nbgrader (so a step an
# upgrade adds is kept), with its Execute replaced by VerifiedExecute and CapOutput right
# after it (every cell's outputs (text, images, HTML) and attachments cut to 1 MB, the notebook
# to 10 MB). For nbgrader 0.9.6: VerifiedExecute, CapOutput, IgnorePattern,
# ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckMetadata.
# CheckMetadata is nbgrader's CheckCellMetadata with the same verdicts, which checks nbgrader's
# schema once instead of once per cell; it takes CheckCellMetadata's place in both lists. The
# course's SaveAutoGrades, AssignLatePenalties, OverwriteKernelspec and OverwriteCells are
# nbgrader's, which in `lrcourse grade` share the run's Gradebook, and OverwriteCells its answers
# about the assignment's own cells (asked once a run); SaveAutoGrades loads a notebook's grades and
# comments in one query each instead of one a cell (lrcourse.preprocessors).
VERIFIED_EXECUTE = "lrcourse.verify.VerifiedExecute"
CAP_OUTPUT = "lrcourse.preprocessors.CapOutput"


def with_course_steps(steps):
    """`steps` with each of nbgrader's steps that the course replaces replaced
    (lrcourse.preprocessors.REPLACES: the same verdicts, faster)."""
    from traitlets.utils.importstring import import_item

    from lrcourse.preprocessors import REPLACES

    replaces = {import_item(theirs): ours for theirs, ours in REPLACES.items()}
    return [replaces.get(import_item(s) if isinstance(s, str) else s, s) for s in steps]


def autograde_steps():
    """nbgrader's default Autograde.autograde_preprocessors, its Execute step replaced by
    VERIFIED_EXECUTE followed by CAP_OUTPUT. Without exactly one Execute step the course cannot
    be graded safely: SystemExit, because traitlets logs any other exception raised here and
    goes on without this file (nbgrader would then run the tests in the student's kernel)."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    from traitlets.utils.importstring import import_item

    default = list(Autograde.class_traits()["autograde_preprocessors"].default())
    steps = [import_item(s) if isinstance(s, str) else s for s in default]
    runs = [i for i, s in enumerate(steps) if isinstance(s, type) and issubclass(s, Execute)]
    if len(runs) != 1 or steps[runs[0]] is not Execute:
        raise SystemExit(
            f"{__file__}: nbgrader's default Autograde.autograde_preprocessors {steps} should hold one "
            f"nbgrader.preprocessors.Execute step for {VERIFIED_EXECUTE} to replace; the course cannot be "
            "graded until this file says where the verifier goes")
    return with_course_steps([*default[:runs[0]], VERIFIED_EXECUTE, CAP_OUTPUT, *default[runs[0] + 1:]])


def sanitize_steps():
    """nbgrader's default Autograde.sanitize_preprocessors, with the course's steps."""
    from nbgrader.converters import Autograde

    return with_course_steps(Autograde.class_traits()["sanitize_preprocessors"].default())


c.Autograde.autograde_preprocessors = autograde_steps()
c.Autograde.sanitize_preprocessors = sanitize_steps()
# A notebook is checked against the notebook format once, after the last step of each list,
# not after every step (nbconvert's default, 12 checks a graded notebook, about 12 ms of the
# grading process's CPU). Every notebook the steps write is still valid. The one difference:
# a defect that a later step replaces anyway no longer stops grading; a kernelspec without a
# name, which OverwriteKernelspec replaces with the course's, is graded instead of failed.
c.NotebookExporter.optimistic_validation = True
# Students are created on first autograde (ids are the submitted/ folder names).
c.Autograde.create_student = True
# A student who deleted a test or read-only cell gets it back from the source
# (nbgrader's default would grade the notebook without it).
c.OverwriteCells.add_missing_cells = True
# Limits on what a submission can write into the autograded notebook: at most 200
# lines of printed output per cell and 40 traceback lines.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40

# --- Exporting
# nbgrader's CSV export written with the csv module: a comma or a quote in a name or a
# student id (`Doe, Jr.`) is quoted instead of shifting the columns after it.
c.ExportApp.plugin_class = "lrcourse.export.CsvExport"

# --- Feedback
# Feedback HTML goes to students: strip hidden-test source and tracebacks that
# would show it (nbgrader's default feedback shows hidden tests, its issue #917), and
# make everything the student supplied inert: markdown, HTML, SVG and JavaScript
# outputs (lrcourse.sanitize), so nothing a student wrote runs in a reader's browser.
# A written answer no grader has scored yet says "not graded yet" rather than "Score: 0.0"
# (lrcourse.feedback_page: nbgrader's GetGrades and feedback template, extended).
c.GenerateFeedback.exporter_class = "lrcourse.feedback_page.FeedbackExporter"
c.GenerateFeedback.preprocessors = [
    "lrcourse.feedback_page.GetGrades",
    "lrcourse.preprocessors.HideHiddenTests",
    "lrcourse.sanitize.SanitizeStudentContent",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# --- Formgrader (and any nbgrader HTML page)
# Formgrader renders autograded notebooks with an HTMLExporter built from this config:
# the same sanitizing step, so a student's answer cannot run script in the grader's
# browser (where it would act with the grader's Jupyter login). The server's
# Content-Security-Policy is in jupyter_server_config.py.
c.HTMLExporter.preprocessors = ["lrcourse.sanitize.SanitizeStudentContent"]
