"""Verb `grade`: autograde every submission in submitted/, in parallel, resumably.

The pipeline is nbgrader's own `autograde`, split at its one expensive step:

  coordinator  prepare    nbgrader Autograde: destination, student, submission, timestamp
               sanitize   nbgrader's sanitize preprocessors (ClearOutput ... OverwriteCells)
  worker       execute    nbgrader's Execute (lrcourse.execute), one notebook per task
  coordinator  record     nbgrader's IgnorePattern, ClearMetadata, LimitOutput,
                          SaveAutoGrades, AssignLatePenalties, CheckMetadata

Only `execute` runs in parallel (a local process pool, or a Dask cluster given by
address); everything that touches the gradebook stays in this process, so SQLite
never sees concurrent writers and the results are those of serial
`nbgrader autograde`. The status store (lrcourse.status) says which scores are
valid, which failed and why; up-to-date students are skipped unless forced.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from nbconvert.writers import FilesWriter
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde
from nbgrader.converters.base import BaseConverter
from sqlalchemy.exc import SAWarning

from . import inputs
from . import status as st
from .course import ASSIGNMENT, Course, CourseError
from .execute import Executed, autograde_env, execute_notebook, executor_class, warm_up
from .notebooks import read
from .preprocessors import gradebook_for, one_gradebook
from .tamper import review_flags

LOG_FILE = "grading.log"
STAGING_DIR = ".lrcourse-staging"  # what nbgrader reads instead of submitted/ (lrcourse.inputs)
SANDBOX_KERNEL = "lrcourse-sandbox"
SANDBOX_MARKER = "LRCOURSE-SANDBOX:"



@dataclass
class GradeReport:
    graded: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # student, notebook, reason
    timed_out: list[tuple[str, str, str]] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)  # student, file, why (not graded)
    review: list[tuple[str, str, str]] = field(default_factory=list)  # student, notebook, why
    unsandboxed: str | None = None
    seconds: float = 0.0
    execute_seconds: list[float] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def summary(self) -> str:
        lines = [f"grade: {len(self.graded)} notebooks graded, {len(self.skipped)} students skipped "
                 f"(up to date), {len(self.failed)} failed, {len(self.timed_out)} timed out, "
                 f"{len(self.missing)} missing, {len(self.refused)} files refused, in {self.seconds:.1f} s"]
        lines += [f"  FAILED     {s}/{nb}: {why}" for s, nb, why in self.failed]
        lines += [f"  timed out  {s}/{nb}: {why}" for s, nb, why in self.timed_out]
        lines += [f"  missing    {s}/{nb}: not submitted, scored 0" for s, nb in self.missing]
        lines += [f"  refused    {s}/{path}: {why} (left out; the rest was graded)" for s, path, why in self.refused]
        lines += [f"  review     {s}/{nb}: {why}" for s, nb, why in self.review]
        if self.unsandboxed:
            lines.append(f"  WARNING    student code ran UNSANDBOXED: {self.unsandboxed} (docs/sandbox.md)")
        return "\n".join(lines)


class WorkerLost(RuntimeError):
    """A notebook whose grading worker died under it, twice (the second time alone in its worker)."""


WORKER_IMPORTS = ("lrcourse.execute", "lrcourse.verify", "lrcourse.sandbox.provisioner", "nbclient", "nbformat",
                  "nbgrader.preprocessors")


class LocalPool:
    """The default engine: one worker process per core, imports done once per worker.

    A worker that dies (killed by the machine's OOM killer, a crash in a native library)
    breaks a ProcessPoolExecutor and every notebook in flight with it. Those notebooks are
    run again, one at a time, each alone in a fresh worker; only one that loses its worker
    again fails (WorkerLost), and the batch goes on in a fresh pool.
    """

    def __init__(self, workers: int, fn=None):
        import threading
        from collections import deque

        self.workers, self.fn = workers, fn or execute_notebook
        self.pool = self._new(workers)
        self.lock = threading.Lock()
        self.retries: deque = deque()
        self.retrying = False

    @staticmethod
    def _new(workers: int) -> ProcessPoolExecutor:
        import multiprocessing

        context = multiprocessing.get_context("forkserver")
        # what every worker imports, imported once by the process the workers are forked from
        # (a no-op where that process has started already, as in a second pool)
        context.set_forkserver_preload(list(WORKER_IMPORTS))
        # the workers fork their kernels from this process's template (warm.owner, warm.prestart)
        return ProcessPoolExecutor(workers, mp_context=context, initializer=warm_up, initargs=(os.getpid(),))

    def submit(self, *args) -> Future:
        done: Future = Future()
        with self.lock:
            try:
                future = self.pool.submit(self.fn, *args)
            except BrokenProcessPool:
                self.pool.shutdown(wait=False, cancel_futures=True)
                self.pool = self._new(self.workers)
                future = self.pool.submit(self.fn, *args)
        future.add_done_callback(lambda f: self._settle(f, done, args))
        return done

    def _settle(self, future: Future, done: Future, args: tuple) -> None:
        err = future.exception()
        if isinstance(err, BrokenProcessPool):
            with self.lock:
                self.retries.append((done, args))
            self._next_retry()
        elif err is not None:
            done.set_exception(err)
        else:
            done.set_result(future.result())

    def _next_retry(self) -> None:
        with self.lock:
            if self.retrying or not self.retries:
                return
            self.retrying = True
            done, args = self.retries.popleft()
        alone = self._new(1)

        def finish(future: Future) -> None:
            err = future.exception()
            alone.shutdown(wait=False)
            if isinstance(err, BrokenProcessPool):
                done.set_exception(WorkerLost("the grading worker died while executing this notebook "
                                              "(twice; the second time it ran alone)"))
            elif err is not None:
                done.set_exception(err)
            else:
                done.set_result(future.result())
            with self.lock:
                self.retrying = False
            self._next_retry()

        alone.submit(self.fn, *args).add_done_callback(finish)

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


class DaskPool:
    """A Dask distributed cluster given by address; its futures are bridged to concurrent ones."""

    def __init__(self, address: str):
        from distributed import Client

        self.client = Client(address)

    def submit(self, *args) -> Future:
        done: Future = Future()

        def relay(fut):
            try:
                done.set_result(fut.result())
            except BaseException as err:  # noqa: BLE001
                done.set_exception(err)

        self.client.submit(execute_notebook, *args, pure=False).add_done_callback(relay)
        return done

    def close(self) -> None:
        self.client.close()


def ensure_assignment(course: Course) -> None:
    """Load the source notebooks into the gradebook when it lacks them or they changed.

    nbgrader's autograde restores test cells from the gradebook, so grading after an
    edit to the tests without this would grade with the old tests.
    """
    import hashlib

    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(course.step_dir("source").glob("*.ipynb"))))
    marker = course.root / ".gradebook-source"
    with Gradebook(course.db_url) as gb:
        try:
            known = {nb.name for nb in gb.find_assignment(ASSIGNMENT).notebooks}
        except MissingEntry:
            known = set()
    current = f"{course.db_url}\n{digest.hexdigest()}\n"
    if set(course.notebooks()) <= known and marker.is_file() and marker.read_text() == current:
        return
    proc = course.nbgrader("generate_assignment", ASSIGNMENT, "--force", check=False, quiet=True)
    if proc.returncode != 0:
        if "because there are submissions associated with it" in proc.stdout:
            raise CourseError(
                "the gradebook holds submissions for another set of notebooks than source/ has now; "
                "nbgrader will not change an assignment with submissions. Export what you need, then "
                f"remove the assignment (`nbgrader db assignment remove {ASSIGNMENT}`) or use a new gradebook.")
        raise CourseError("nbgrader generate_assignment failed:\n" + "\n".join(proc.stdout.splitlines()[-20:]))
    marker.write_text(current)


def submitted_notebook_count(course: Course, student: str) -> int:
    try:
        with os.scandir(st.submitted_folder(course, student)) as it:
            return sum(1 for e in it if e.name.endswith(".ipynb"))
    except OSError:
        return 0


def grading_logger(course: Course) -> logging.Logger:
    """nbgrader's messages for this run go to grading.log, not over the progress bar."""
    log = logging.getLogger("lrcourse.grade")
    log.handlers.clear()
    handler = logging.FileHandler(course.root / LOG_FILE, mode="w")
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


def make_converter(course: Course) -> Autograde:
    """nbgrader's Autograde converter, configured exactly as `nbgrader autograde` would be."""
    from nbgrader.coursedir import CourseDirectory

    config = course.config
    # nbgrader reads submissions from the staging folder (lrcourse.inputs), never from submitted/
    coursedir = CourseDirectory(config=config)
    coursedir.submitted_directory = STAGING_DIR
    converter = Autograde(coursedir=coursedir, config=config)
    converter.force = True
    converter.log = grading_logger(course)
    # what BaseConverter.start() sets up before it converts
    converter.writer = FilesWriter(parent=converter, config=config)
    converter.exporter = converter.exporter_class(parent=converter, config=config)
    # the configured autograde steps after execution (execution runs in the workers)
    converter.autograde_preprocessors = executor_class(config)[1]
    return converter


class Grader:
    def __init__(self, course: Course, pool, report: GradeReport, progress):
        self.course, self.pool, self.report, self.progress = course, pool, report, progress
        self.converter = make_converter(course)
        self.config_text = (course.root / "nbgrader_config.py").read_text()
        self.store = st.StatusStore(course)
        self.pending: dict[Future, tuple[str, Path]] = {}
        self.open_notebooks: dict[str, int] = {}
        self.references: dict[str, str | None] = {}
        self.releases: dict[str, object] = {}

    # -- coordinator steps -------------------------------------------------------------
    def staged(self, student: str) -> Path:
        return Path(self.converter.coursedir.format_path(STAGING_DIR, student, ASSIGNMENT))

    def unstage(self, student: str) -> None:
        shutil.rmtree(self.course.root / STAGING_DIR / student, ignore_errors=True)

    def prepare(self, student: str) -> list[Path]:
        """Stage the submission's plain-data files (lrcourse.inputs), then nbgrader's per-student
        setup on the staged copy; returns the notebooks to grade."""
        conv = self.converter
        known = self.course.notebooks()
        problem = inputs.student_id_problem(student)
        if problem:
            for name in known:
                self.fail(student, name, problem)
            return []
        self.unstage(student)
        submitted = st.submitted_folder(self.course, student)
        staged = inputs.stage(submitted, self.staged(student), stop=submitted.parent)
        if staged.folder_problem:
            for name in known:
                self.fail(student, name, staged.folder_problem)
            return []
        refused_notebooks = {}
        for rel, why in staged.refused.items():
            if "/" not in rel and rel.endswith(".ipynb") and rel[:-6] in known:
                refused_notebooks[rel[:-6]] = f"the notebook file is refused: {why}"
            else:
                self.store.refuse(student, rel, why)
                self.report.refused.append((student, rel, why))
        conv.notebooks = sorted(str(self.staged(student) / name) for name in staged.notebooks)
        conv.init_destination(ASSIGNMENT, student)
        present = {Path(p).stem for p in conv.notebooks}
        for name in known:
            if name not in present and name not in refused_notebooks:
                self.store.record(student, name, st.MISSING, "not submitted")
                self.report.missing.append((student, name))
        if not present & set(known):
            self._student_level_zero(student)
            notebooks = []
        else:
            conv.init_assignment(ASSIGNMENT, student)
            notebooks = [Path(p) for p in conv.notebooks]
        for name, why in refused_notebooks.items():
            self.fail(student, name, why)
        return notebooks

    def _student_level_zero(self, student: str) -> None:
        """No notebook of the assignment at all: every notebook is missing and scores 0."""
        with gradebook_for(self.course.db_url) as gb:
            gb.update_or_create_student(student)
            submission = gb.update_or_create_submission(ASSIGNMENT, student)
            for nb in submission.notebooks:
                for grade in nb.grades:
                    grade.auto_score, grade.needs_manual_grade = 0, False
            gb.db.commit()

    def sanitize(self, student: str, path: Path) -> None:
        conv = self.converter
        out = self.course.step_dir("autograded", student) / path.name
        try:
            conv._sanitizing = True
            conv._init_preprocessors()
            BaseConverter.convert_single_notebook(conv, str(path))
        except Exception as err:  # noqa: BLE001 - reported per notebook, the batch goes on
            self.fail(student, path.stem, unreadable_reason(err))
            out.unlink(missing_ok=True)
            self.progress.update(1)
            return
        folder = out.parent
        files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
                 if p.is_file() and p.suffix != ".ipynb"}
        future = self.pool.submit(out.read_text(), files, self.config_text, self.reference(path.stem))
        self.pending[future] = (student, out)
        self.open_notebooks[student] = self.open_notebooks.get(student, 0) + 1

    def reference(self, stem: str) -> str | None:
        """The source notebook, whose read-only and test cells the verifier runs."""
        if stem not in self.references:
            path = self.course.step_dir("source") / f"{stem}.ipynb"
            self.references[stem] = path.read_text() if path.is_file() else None
        return self.references[stem]

    def record(self, student: str, out: Path, executed: Executed) -> None:
        self.report.execute_seconds.append(executed.seconds)
        if executed.outcome not in st.VALID:
            out.unlink(missing_ok=True)
            self.fail(student, out.stem, executed.reason, executed.outcome)
            return
        conv = self.converter
        try:
            out.write_text(executed.notebook)
            conv._sanitizing = False
            conv._init_preprocessors()
            with autograde_env():
                BaseConverter.convert_single_notebook(conv, str(out))
        except Exception as err:  # noqa: BLE001
            out.unlink(missing_ok=True)
            self.fail(student, out.stem, f"could not be scored: {type(err).__name__}: {err}"[:400])
            return
        finally:
            conv._sanitizing = True
        review = self.review_flags(student, out)
        if executed.timed_out_cells:
            why = f"cells over the time limit scored 0: {', '.join(executed.timed_out_cells)}"
            self.store.record(student, out.stem, st.TIMED_OUT, why, review)
            self.report.timed_out.append((student, out.stem, why))
        else:
            self.store.record(student, out.stem, st.GRADED, review=review)
        self.report.graded.append((student, out.stem))
        self.report.review += [(student, out.stem, flag) for flag in review]

    def release(self, name: str):
        """The released notebook `name` (read once a run; tamper's checks only read it), or None."""
        if name not in self.releases:
            path = self.course.step_dir("release") / name
            self.releases[name] = read(path) if path.is_file() else None
        return self.releases[name]

    def review_flags(self, student: str, out: Path) -> list[str]:
        """lrcourse.tamper's reasons to look at this notebook (edited cells, tamper markers)."""
        try:
            release = self.release(out.name)
            if release is None:
                return []
            return review_flags(self.staged(student) / out.name, release, out)
        except Exception as err:  # noqa: BLE001 - a flagging problem must not lose the grade
            return [f"could not check for tampering: {type(err).__name__}: {err}"]

    def fail(self, student: str, notebook: str, reason: str, state: str = st.FAILED) -> None:
        """No valid score: zero it in the gradebook, flag it for manual review, say why."""
        with gradebook_for(self.course.db_url) as gb:
            try:
                nb = gb.find_submission_notebook(notebook, ASSIGNMENT, student)
            except MissingEntry:
                nb = None
            for grade in nb.grades if nb else []:
                if grade.cell_type == "code":
                    grade.auto_score, grade.needs_manual_grade = 0, True
            gb.db.commit()
        self.store.record(student, notebook, state, reason)
        self.report.failed.append((student, notebook, reason))

    # -- the loop ----------------------------------------------------------------------
    def drain(self, limit: int) -> None:
        while len(self.pending) > limit:
            done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
            for future in done:
                student, out = self.pending.pop(future)
                try:
                    executed = future.result()
                except Exception as err:  # noqa: BLE001 - a lost worker fails one notebook
                    executed = Executed(st.FAILED, None, f"the grading worker failed: {type(err).__name__}: {err}")
                self.record(student, out, executed)
                self.progress.update(1)
                self.open_notebooks[student] -= 1
                if not self.open_notebooks[student]:
                    self.converter.set_permissions(ASSIGNMENT, student)
                    self.store.finish(student)
                    self.unstage(student)

    def run(self, students: dict[str, str], ahead: int) -> None:
        """Grade `students` ({student: fingerprint of what is graded}), `ahead` notebooks in flight."""
        for student, fingerprint in students.items():
            self.store.begin(student, fingerprint)
            try:
                notebooks = self.prepare(student)
            except Exception as err:  # noqa: BLE001
                for name in self.course.notebooks():
                    self.fail(student, name, f"could not be prepared: {type(err).__name__}: {err}"[:400])
                notebooks = []
            for path in notebooks:
                self.sanitize(student, path)
            if not self.open_notebooks.get(student):
                self.store.finish(student)
                self.unstage(student)
            self.drain(ahead)
        self.drain(0)


def unreadable_reason(err: Exception) -> str:
    """Why nbgrader could not read or check a submitted notebook, in an instructor's words."""
    name = type(err).__name__
    if name in ("NotJSONError", "JSONDecodeError"):
        return "the file is not a valid notebook (not JSON: truncated or edited outside Jupyter)"
    if name.endswith("ValidationError"):  # jsonschema's, or nbformat's NotebookValidationError
        return f"the file does not follow the notebook format: {str(err).splitlines()[0][:200]}"
    return f"could not be read or checked: {name}: {str(err)[:300]}"


def sandbox_warning(course: Course) -> str | None:
    """Why kernels will not be sandboxed on this machine, or None (kernel workers print it to
    their stderr, which the worker processes silence, so the coordinator says it once)."""
    from .sandbox import unavailable_reason

    kernel = getattr(course.coursedir.config.Execute, "kernel_name", "")
    if kernel not in (SANDBOX_KERNEL, f"{SANDBOX_KERNEL}-cold"):  # warm or cold kernels (sandbox/warm.py)
        return f"nbgrader_config.py selects the kernel {kernel!r}, not {SANDBOX_KERNEL!r}"
    return unavailable_reason()


def grade(course: Course | None = None, *, workers: int | None = None, force: bool = False,
          scheduler: str | None = None, students: list[str] | None = None,
          progress: bool = True, root: str | None = None) -> GradeReport:
    """Autograde submitted/ with `workers` processes (default: all cores) or a Dask scheduler."""
    start = time.perf_counter()
    course = Course.of(course, root)
    store = st.StatusStore(course)
    everyone = st.submitted_students(course)
    chosen = [s for s in everyone if not students or s in students]
    report = GradeReport()
    todo: dict[str, str] = {}
    for student in chosen:
        try:
            current = st.fingerprint(course, student)
        except Exception as err:  # noqa: BLE001 - never up to date; grading reports what is wrong
            current = f"no fingerprint: {type(err).__name__}: {err}"[:200]
        if not force and store.up_to_date(student, current):
            report.skipped.append(student)
        else:
            todo[student] = current
    if not todo:  # nothing to grade: no gradebook update, no nbgrader run, no workers, no template
        if warm := sys.modules.get("lrcourse.sandbox.warm"):  # started by cli.head_start, if at all
            warm.cancel_prestart()
        shutil.rmtree(course.root / STAGING_DIR, ignore_errors=True)
        report.seconds = time.perf_counter() - start
        return report
    from tqdm import tqdm

    ensure_assignment(course)
    total = sum(submitted_notebook_count(course, s) for s in todo)
    workers = workers or os.cpu_count() or 1
    report.unsandboxed = sandbox_warning(course)
    if report.unsandboxed:
        print(f"{SANDBOX_MARKER} UNSANDBOXED: student code runs with the grader's rights here: "
              f"{report.unsandboxed} (see docs/sandbox.md)", file=sys.stderr, flush=True)
    if not scheduler:  # one kernel template for all workers, its imports done while they start
        from .sandbox.warm import prestart

        prestart(course.config.Execute.kernel_name)
    pool = DaskPool(scheduler) if scheduler else LocalPool(workers)
    bar = tqdm(total=total, unit="nb", desc="grading", file=sys.stderr, disable=not progress or not total)
    shutil.rmtree(course.root / STAGING_DIR, ignore_errors=True)
    try:
        with warnings.catch_warnings():
            # nbgrader's gradebook code triggers SQLAlchemy autoflush notices (SAWarning) on
            # new submissions; they are harmless and would drown the progress bar.
            warnings.simplefilter("ignore", SAWarning)
            with one_gradebook(course.db_url):  # the run's gradebook steps share it (lrcourse.preprocessors)
                Grader(course, pool, report, bar).run(todo, ahead=2 * workers)
    finally:
        bar.close()
        pool.close()
        shutil.rmtree(course.root / STAGING_DIR, ignore_errors=True)
        for handler in logging.getLogger("lrcourse.grade").handlers:
            handler.close()
    report.seconds = time.perf_counter() - start
    return report
