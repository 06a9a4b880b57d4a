"""Tests judged where no student code has run: nbgrader's `Execute`, split in two kernels.

`VerifiedExecute` replaces `Execute` in nbgrader's autograde preprocessor list
(nbgrader_config.py), so `nbgrader autograde` and `lrcourse grade` both use it:

  1. arrange   the submission in the source notebook's order: read-only and test cells
               from the source, answer cells and added cells from the student
  2. student   the student's kernel runs the notebook, except that each test cell is
               replaced by a hand-over (lrcourse.handover): the answers the test reads,
               as declared in its first line, leave the kernel as plain data
  3. verifier  a second, fresh process that never runs a line the student wrote runs the
               source's read-only cells, takes over each test's answers and runs the
               test's code, visible and hidden: an IPython shell forked from the warm
               template into the same sandbox (lrcourse.sandbox.shell), or, where kernels
               are not forked warm, a kernel of the grading kernelspec (`Verifier`)
  4. merge     the test cells get the verifier's outputs (streams and errors only), so
               nbgrader scores a test only when the verifier ran it to the end

Whatever the student's kernel does (hooks, patched libraries, shadowed builtins, fake
outputs, reordered cells), it changes only the answers it hands over, never the verdict
on them. `nbgrader validate` and the student's own notebook run the tests in place.

A test cell declares what it reads in its first line (the build writes it from the
`reads=` of the authoring header and checks it against the code, `check_declarations`):

    # Answers read by this test: files_grid, p_fail
"""

from __future__ import annotations

import base64
import copy
import json
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Unicode

from . import handover
from .declarations import VERIFIER_NOTE, declared_reads, kind, nbgrader_meta
from .kernel_manager import SingleUseKernelManager

HANDOVER_SOURCE = Path(handover.__file__).read_text()
# The cell line that defines the hand-over functions in a kernel. The source travels as one
# string literal, compiled by Python itself: given as cell text, IPython's input transformers
# and per-statement compilation took 60-270 ms a cell, against about 10 ms this way.
_HANDOVER_COMPILE = f"__import__('builtins').compile({HANDOVER_SOURCE!r}, '<lrcourse hand-over>', 'exec')"
HANDOVER_DEFINE = f"__import__('builtins').exec({_HANDOVER_COMPILE})"
# In the student's kernel the first hand-over cell also keeps the compiled code (in sys.modules,
# under HANDOVER_CODE), and every hand-over cell defines the functions again from it: an 18 KB
# cell costs ipykernel about 8.5 ms of CPU (tokenizing, hashing and compiling it), a short one
# under 1 ms. What the student's code does to that code only changes what it hands over, which
# the verifier judges like any other answer.
HANDOVER_CODE = "_lrc_handover_code"
HANDOVER_KEEP = (f"__import__('sys').modules[{HANDOVER_CODE!r}] = "
                 f"__import__('types').SimpleNamespace(code={_HANDOVER_COMPILE})")
HANDOVER_REDEFINE = f"__import__('builtins').exec(__import__('sys').modules[{HANDOVER_CODE!r}].code)"


def hand_over_cell(names: list[str], first: bool) -> str:
    """The source that replaces a test cell in the student's kernel: hand over `names`."""
    lines = [HANDOVER_KEEP] if first else []
    return "\n".join([*lines, HANDOVER_REDEFINE, f"_lrc_hand_over({names!r})", ""])


# --- the preprocessor --------------------------------------------------------------------------

class VerifiedExecute(Execute):
    """nbgrader's Execute, with every test judged in a kernel that never ran student code."""

    runs_a_reference = True  # lrcourse.execute passes the source notebook (a worker may have no course)

    handover_limit = Integer(
        6 * 2**20, help="Largest hand-over (bytes of JSON) one test cell may receive; a larger one "
        "counts as unreadable answers.").tag(config=True)
    reference_path = Unicode(
        "", help="The source notebook whose read-only and test cells are run (default: the "
        "assignment's notebook in the course's source directory).").tag(config=True)

    max_arriving_bytes = Integer(
        8 * 2**20, help="Bytes of output one cell of the student's kernel may send; later outputs "
        "are dropped as they arrive (CapOutput cuts what is kept further), so printing "
        "gigabytes cannot fill the grader's memory.").tag(config=True)

    shell_verifier = Bool(
        True, help="Run the verifier as an IPython shell forked from the warm template (lrcourse.sandbox."
        "shell) where the kernelspec forks warm sandboxed kernels; else, or with False, as a kernel of "
        "that kernelspec. Both give the same outputs.").tag(config=True)

    fork_verifiers = Bool(
        True, help="Fork each notebook's shell verifier from one (per exercise and grading process) that has "
        "run the reference's read-only cells before the first test, instead of starting it afresh and "
        "running them again (lrcourse.sandbox.shell.VerifierTemplate). Both give the same outputs."
    ).tag(config=True)

    def __init__(self, *args, reference: NotebookNode | None = None, **kwargs):
        # Both kernels serve this notebook only: stopping them does not wait (lrcourse.kernel_manager).
        # nbgrader's Execute sets this argument itself, so configuration cannot.
        kwargs.setdefault("kernel_manager_class", SingleUseKernelManager)
        super().__init__(*args, **kwargs)
        self.reference = reference
        self._arrived: dict[int, int] = {}
        self._streaming: tuple[Stream, dict[int, str]] | None = None

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's output handler, with a byte budget per cell: text beyond it is cut, other
        outputs beyond it dropped, errors always kept."""
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(
            len(v) if isinstance(v, str) else len(json.dumps(v)) for v in (content.get("data") or {}).values())
        used = self._arrived.get(cell_index, 0)
        self._arrived[cell_index] = used + size
        if used + size <= self.max_arriving_bytes or msg.get("msg_type") == "error":
            return super().output(outs, msg, display_id, cell_index)
        if used < self.max_arriving_bytes and msg.get("msg_type") == "stream":
            cut = dict(msg, content=dict(content, text=content.get("text", "")[: self.max_arriving_bytes - used]))
            super().output(outs, cut, display_id, cell_index)
        if used <= self.max_arriving_bytes:
            outs.append(nbformat.v4.new_output("stream", name="stdout", text=(
                f"\n... outputs beyond {self.max_arriving_bytes:,} bytes dropped by the grader ...\n")))
        return None

    def preprocess(self, nb: NotebookNode, resources=None, km=None):
        reference = self.reference or self._load_reference(resources)
        self._arrived = {}
        plan = Plan(reference)
        reads = {gid: names for gid, names, _, _ in plan.tests}
        arranged = arrange(nb, reference)
        tests = {nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(arranged.cells)
                 if nbgrader_meta(c).get("grade_id") in reads and c.cell_type == "code"}
        student = copy.deepcopy(arranged)
        for n, (gid, i) in enumerate(tests.items()):  # in the notebook's order: the first keeps the code
            student.cells[i].source = hand_over_cell(reads[gid], first=n == 0)
        # The verifier starts first and boots while the student's notebook runs: it needs nothing
        # from the student but the answers. A shell verifier gets each test's answers as soon as
        # the student's hand-over cell has run (preprocess_cell), and runs it meanwhile.
        verifier = self._start_verifier(reference.metadata, plan.first) if tests else None
        self._streaming = (verifier.stream(plan), {i: gid for gid, i in tests.items()}) \
            if isinstance(verifier, ShellVerifier) else None
        try:
            student, resources = super().preprocess(student, resources, km)
            for cell, ran in zip(arranged.cells, student.cells, strict=True):
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = ran.get("outputs", []), ran.get("execution_count")
            if verifier:
                payloads = {gid: self._payload(student.cells[i]) for gid, i in tests.items()}
                if self._streaming:
                    results = self._results(payloads, self._streaming[0].finish(payloads))
                else:
                    results = self._verify(plan, payloads, verifier)
                for gid, i in tests.items():
                    arranged.cells[i].outputs = results[gid] if gid in results else [_error(
                        "VerifierError", "the grader could not run this test (its kernel stopped before it)")]
        finally:
            self._streaming = None
            if verifier:
                verifier.close()
        nb.cells = arranged.cells
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if self._streaming and index in self._streaming[1]:  # a hand-over has run: verify it now
            self._streaming[0].hand_over(self._streaming[1][index], self._payload(cell)[0])
        return cell, resources

    # -- steps ----------------------------------------------------------------------------
    def _start_verifier(self, metadata: NotebookNode, prefix: list[str] | None = None) -> Verifier | ShellVerifier:
        """The verifier; a shell verifier with `prefix` is forked from a shell that has run it."""
        if self.shell_verifier:
            from .sandbox.shell import ShellUnavailable

            try:
                return ShellVerifier(self.config, self.kernel_name or metadata.get("kernelspec", {}).get("name", ""),
                                     self.timeout, metadata, self.kernel_manager_class,
                                     prefix if self.fork_verifiers else None)
            except ShellUnavailable:
                pass  # the kernel's launcher says why, loudly, where it matters (a cold or unsandboxed kernel)
        return Verifier(self.config, metadata, self.kernel_manager_class)

    def _load_reference(self, resources) -> NotebookNode:
        if self.reference_path:
            return nbformat.read(self.reference_path, as_version=4)
        from nbgrader.coursedir import CourseDirectory

        info = (resources or {}).get("nbgrader", {})
        coursedir = CourseDirectory(config=self.config)
        folder = coursedir.format_path(coursedir.source_directory, ".", info["assignment"])
        return nbformat.read(str(Path(folder) / f"{info['notebook']}.ipynb"), as_version=4)

    def _payload(self, cell) -> tuple[str | None, list[str]]:
        """The hand-over text of a student's test cell, and notes on what did not come across."""
        texts = [o["data"][handover.HANDOVER_MIME] for o in cell.get("outputs", [])
                 if o.get("output_type") == "display_data" and handover.HANDOVER_MIME in o.get("data", {})]
        if not texts or not isinstance(texts[-1], str):
            return None, ["your notebook handed over no answers for this test (did the cells before it "
                          "finish? a cell over the time limit or a stopped kernel ends a run)"]
        text = texts[-1]
        if len(text) > self.handover_limit:
            return None, [f"your answers for this test are too large to hand over ({len(text):,} bytes)"]
        try:
            answers = json.loads(text)
        except ValueError:
            return None, ["your notebook handed over answers the grader cannot read"]
        if not isinstance(answers, dict):
            return None, ["your notebook handed over answers the grader cannot read"]
        notes = [f"`{name}` could not be handed over: {entry.get('why', '')}"
                 for name, entry in answers.items() if isinstance(entry, dict) and entry.get("k") == "unreadable"]
        return text, notes

    def _verify(self, plan: Plan, payloads: dict, verifier: Verifier) -> dict[str, list]:
        """Run the reference's read-only and test cells in the verifier's fresh kernel; outputs by
        test id."""
        cells, where = list(plan.first), {}
        for gid, names, source, after in plan.tests:
            cells.append(take_over_cell(payloads.get(gid, (None, []))[0], names))
            where[gid] = len(cells)
            cells += [source, *after]
        ran = verifier.run(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells],
                                                    metadata=copy.deepcopy(plan.metadata)))
        return self._results(payloads, {gid: ran.cells[i] for gid, i in where.items()})

    def _results(self, payloads: dict, ran: dict) -> dict[str, list]:
        """Each test's outputs (streams and errors) from its cell as the verifier ran it, with notes
        on what was not handed over; a test the verifier did not run has none."""
        results = {}
        for gid, cell in ran.items():
            if cell.get("execution_count") is None and not cell.get("outputs"):
                continue
            notes = payloads.get(gid, (None, []))[1]
            kept = [o for o in cell.get("outputs", []) if o.get("output_type") in ("stream", "error")]
            if notes:
                kept.insert(0, nbformat.v4.new_output("stream", name="stdout",
                                                      text="".join(VERIFIER_NOTE + n + "\n" for n in notes)))
            results[gid] = kept
        return results


class Verifier:
    """The verifier's kernel: a fresh one in an empty folder, started when this object is made.

    nbclient starts and stops the kernels it makes itself; this one is handed to it already
    started (`preprocess(..., km=...)`), so its boot overlaps the student's run. A kernel that
    has waited longer than half its wall-clock lifetime (the student's notebook was slow) is
    replaced by a new one before it runs, so waiting never eats into the tests' own time.
    """

    def __init__(self, config, metadata: NotebookNode, manager_class: type | None = None):
        self.config, self.metadata = config, copy.deepcopy(metadata)
        self.manager = {"kernel_manager_class": manager_class} if manager_class else {}
        self.folder = tempfile.TemporaryDirectory(prefix="lrcourse-verifier-")
        self.km = None
        self.started = time.monotonic()
        self.runner = Execute(config=config, **self.manager)
        self.runner.nb = nbformat.v4.new_notebook(metadata=self.metadata)  # names the kernelspec
        self.runner.resources = {"metadata": {"path": self.folder.name}}
        try:
            km = self.runner.create_kernel_manager()
            self.runner.start_new_kernel()
            self.km = km
        except Exception:  # noqa: BLE001 - run() starts the kernel the usual way and reports that
            self.km = None

    def run(self, nb: NotebookNode) -> NotebookNode:
        """Execute `nb` in the kernel; cells after a kernel death keep no outputs (they score zero)."""
        from nbclient.exceptions import DeadKernelError

        from .execute import kernel_lifetime

        lifetime = kernel_lifetime(self.config)
        if self.km is not None and lifetime and time.monotonic() - self.started > lifetime / 2:
            self._stop()
        runner = Execute(config=self.config, **self.manager)
        try:
            runner.preprocess(nb, {"metadata": {"path": self.folder.name}}, km=self.km)
        except DeadKernelError:
            pass
        except RuntimeError:  # "Kernel died before replying to kernel_info"
            if self.km is None:
                raise
            self._stop()  # the kernel started ahead died while it waited: run in a new one
            return self.run(nb)
        finally:
            if self.km is not None and runner.kc is not None:
                runner.kc.stop_channels()
        return nb

    def _stop(self) -> None:
        from jupyter_core.utils import run_sync

        km, self.km = self.km, None
        if km is None:
            return
        try:
            if run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)()
        finally:
            run_sync(km.cleanup_resources)()

    def close(self) -> None:
        try:
            self._stop()
        finally:
            self.folder.cleanup()


class Plan:
    """The verifier's cells: `first` (defining the hand-over, the read-only cells before the first
    test), then per test (id, names it reads, its code, the read-only cells after it); each test
    is preceded by the take-over of its answers."""

    def __init__(self, reference: NotebookNode):
        self.metadata = reference.metadata
        self.first: list[str] = [HANDOVER_DEFINE]
        self.tests: list[tuple[str, list[str], str, list[str]]] = []
        for cell in reference.cells:
            what = kind(cell)
            if what == "given":
                (self.tests[-1][3] if self.tests else self.first).append(cell.source)
            elif what == "test":
                self.tests.append((nbgrader_meta(cell)["grade_id"], declared_reads(cell.source) or [], cell.source, []))


def take_over_cell(text: str | None, names: list[str]) -> str:
    encoded = base64.b64encode((text or "").encode()).decode()
    return f"_lrc_take_over(__import__('base64').b64decode('{encoded}').decode(), {names!r})"


class ShellVerifier:
    """The verifier as an IPython shell in the sandbox, forked from the warm template
    (lrcourse.sandbox.shell): the same cells as the kernel, one JSON line each way, streams and
    errors back. Started when made; cells after the shell stopped keep no outputs."""

    def __init__(self, config, kernel_name: str, timeout: int | None, metadata: NotebookNode, manager_class=None,
                 prefix: list[str] | None = None):
        from .sandbox.shell import ShellSession, warm_spec

        self.kernel = (config, metadata, manager_class)  # the fallback, should the template fail
        self.timeout = timeout if timeout and timeout > 0 else warm_spec(kernel_name)[0].lifetime
        # with `prefix`, a fork of a shell that has run it already (sandbox.shell.VerifierTemplate)
        self.session = ShellSession(kernel_name, prefix, self.timeout)

    def run(self, nb: NotebookNode) -> NotebookNode:
        from .sandbox.shell import ShellUnavailable

        if self.session.prefixed:  # `stream` knows which cells the template ran; a whole notebook runs in a kernel
            return self.in_a_kernel(nb)
        cells = [c for c in nb.cells if c.cell_type == "code"]
        try:
            first = self.session.run(cells[0].source, self.timeout) if cells else None
        except ShellUnavailable:  # the kernel's launcher will say why, loudly
            return self.in_a_kernel(nb)
        for count, cell in enumerate(cells, start=1):
            outputs = first if count == 1 else self.session.run(cell.source, self.timeout)
            if outputs is None:
                break
            cell.outputs = [nbformat.from_dict(o) for o in outputs]
            cell.execution_count = count
        return nb

    def in_a_kernel(self, nb: NotebookNode) -> NotebookNode:
        """`nb` run by a kernel verifier instead: the template could not start the shell."""
        verifier = Verifier(*self.kernel)
        try:
            return verifier.run(nb)
        finally:
            verifier.close()

    def stream(self, plan: Plan) -> Stream:
        return Stream(self, plan)

    def close(self) -> None:
        self.session.close()


class Stream:
    """The verifier's cells sent to the shell as the student's run hands the answers over: the
    cells before the first test at once, each test (its take-over, its code, the read-only cells
    after it) when its hand-over has run. The shell runs them while the student's notebook
    goes on; `finish` sends what is left and collects every output."""

    def __init__(self, verifier: ShellVerifier, plan: Plan):
        self.verifier, self.plan, self.sent, self.cells = verifier, plan, 0, []
        # a forked shell has run the cells before the first test already (its template did)
        self.ran = len(plan.first) if verifier.session.prefixed else 0
        self._send(plan.first)

    def _send(self, sources: list[str], gid: str | None = None) -> None:
        for n, source in enumerate(sources):
            self.cells.append((gid if n == 1 else None, source))
            if len(self.cells) > self.ran:
                self.verifier.session.submit(source, self.verifier.timeout)

    def hand_over(self, gid: str, text: str | None) -> None:
        """The answers for test `gid` (the tests before it, not handed over, go first, without)."""
        while self.sent < len(self.plan.tests) and gid in {t[0] for t in self.plan.tests[self.sent:]}:
            test_gid, names, source, after = self.plan.tests[self.sent]
            self.sent += 1
            self._send([take_over_cell(text if test_gid == gid else None, names), source, *after], test_gid)
            if test_gid == gid:
                return

    def finish(self, payloads: dict) -> dict[str, NotebookNode]:
        """{test id: its cell as the verifier ran it}."""
        for gid, *_ in self.plan.tests[self.sent:]:
            self.hand_over(gid, payloads.get(gid, (None, []))[0])
        from .sandbox.shell import ShellUnavailable

        ran = {}
        for count, (gid, source) in enumerate(self.cells, start=1):
            if count <= self.ran:
                continue
            try:
                outputs = self.verifier.session.collect()
            except ShellUnavailable:  # the template could not start the shell: a kernel runs it all
                return self._in_a_kernel()
            if outputs is None:
                break
            if gid:
                ran[gid] = nbformat.v4.new_code_cell(source, outputs=[nbformat.from_dict(o) for o in outputs],
                                                     execution_count=count)
        return ran

    def _in_a_kernel(self) -> dict[str, NotebookNode]:
        nb = self.verifier.in_a_kernel(nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(c) for _, c in self.cells], metadata=copy.deepcopy(self.plan.metadata)))
        return {gid: cell for (gid, _), cell in zip(self.cells, nb.cells, strict=True) if gid}


def _error(name: str, value: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename=name, evalue=value, traceback=[f"{name}: {value}"])


def arrange(submitted: NotebookNode, reference: NotebookNode) -> NotebookNode:
    """The submission in the reference's order: each cell of the reference by grade id (the
    submission's own copy; read-only and test cells were restored by nbgrader's
    OverwriteCells), each cell the student added right after the cell it followed. A
    read-only or test cell the submission lacks comes from the reference; a missing answer
    stays missing (the reference's is the solution)."""
    mine: dict[str, NotebookNode] = {}
    after: dict[str | None, list[NotebookNode]] = {}
    last = None
    known = {nbgrader_meta(c).get("grade_id") for c in reference.cells} - {None}
    for cell in submitted.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in known and gid not in mine:
            mine[gid] = cell
            last = gid
        else:
            after.setdefault(last, []).append(cell)
    cells = list(after.get(None, []))
    for ref in reference.cells:
        gid = nbgrader_meta(ref).get("grade_id")
        if gid is None:
            continue
        if gid in mine:
            cells.append(mine[gid])
        elif not nbgrader_meta(ref).get("solution"):
            cells.append(copy.deepcopy(ref))
        cells.extend(after.get(gid, []))
    out = copy.deepcopy(submitted)
    out.cells = cells
    return out
