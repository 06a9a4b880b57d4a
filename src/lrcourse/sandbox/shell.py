"""The verifier as an IPython shell forked from the warm template: no kernel, no launcher, no ZMQ.

The verifier (lrcourse.verify) runs the source's read-only cells, takes over each test's
answers and runs the tests. It never runs a line a student wrote, and only test cells'
streams and errors reach the gradebook. A full Jupyter kernel for that cost about
0.3 s of CPU a notebook (launcher, relay, ipykernel, five sockets, a message round trip
per cell, figures drawn to PNG), more than the tests themselves. Here it is:

  session    (host, the grading process) asks its warm template (warm.py) for a fork, as
             a launcher does, with `kind: shell` and one end of a socket pair passed along
             (SCM_RIGHTS). Same sandbox as a kernel: fresh namespaces, sealed root, an
             empty folder as cwd, the limits, a pids cgroup, the sandbox user.
  shell      (the sandbox user) IPython's own InteractiveShell, as ipykernel's shell is
             built on it: same compilation, same warnings filters, same tracebacks, the
             inline matplotlib backend (figures closed after each cell). Streams and errors
             are kept as nbformat outputs; rich displays are formatted as text only and
             dropped (the verifier keeps none).
  protocol   one JSON line per cell each way: {"code": ..., "timeout": s} -> {"outputs":
             [...]}, in order; cells may be sent ahead. The shell times each cell itself
             (SIGALRM: KeyboardInterrupt at its timeout, as nbclient interrupts a kernel);
             one that gives no answer 10 s later is killed: closing the template connection
             kills the sandbox.

Where no warm template can be made (not Linux, not root, LRCOURSE_WARM=off, a kernelspec
without `--warm`), lrcourse.verify runs the verifier as a kernel, as before; a test
checks that both give the same outputs to every scenario.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import queue
import re
import select
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

from . import HOME, KERNEL_NAME, Limits, cgroup, sandbox_ids, unavailable_reason

_serial = itertools.count()  # tells apart the cgroups of one process's shells (one may still be removed)
REPLY_LIMIT = 8 * 2**20  # bytes of stream text one cell's reply carries; the rest is cut


class ShellUnavailable(RuntimeError):
    pass


# ---------------------------------------------------------------- inside the sandbox

def serve(fd: int, limit: int = REPLY_LIMIT) -> int:
    """Run cells sent on socket `fd` until it closes; the sandbox user's process. A thread reads
    the requests as they come, so the grading process can send cells ahead (while the student's
    notebook still runs) without ever waiting for this one."""
    sock = socket.socket(fileno=fd)
    shell = make_shell()
    requests: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in sock.makefile("rb"):
                requests.put(line)
        requests.put(b"")

    threading.Thread(target=read, daemon=True).start()
    signal.signal(signal.SIGALRM, _time_is_up)
    while True:
        try:
            line = requests.get()
        except KeyboardInterrupt:  # an interrupt between cells interrupts nothing
            continue
        if not line:
            return 0
        request = json.loads(line)
        outputs = run_cell(shell, request["code"], limit, request.get("timeout"))
        sock.sendall(json.dumps({"outputs": outputs}).encode() + b"\n")


def _time_is_up(signum, frame):
    raise KeyboardInterrupt  # as nbclient interrupts a kernel's cell at its timeout


class _Stream:
    """sys.stdout / sys.stderr of the shell: text goes to the current cell's outputs."""

    encoding, errors = "utf-8", "strict"

    def __init__(self, name: str, sink: _Outputs):
        self.name, self.sink = name, sink

    def write(self, text) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.sink.stream(self.name, text)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("the verifier's streams have no file descriptor")

    @property
    def closed(self) -> bool:
        return False


class _Outputs:
    def __init__(self, limit: int):
        self.items: list[dict] = []
        self.limit, self.used, self.cut = limit, 0, False

    def stream(self, name: str, text: str) -> None:
        if not text:  # ipykernel sends no empty stream either
            return
        if self.used >= self.limit:
            self.cut = True
            return
        text = text[: self.limit - self.used]
        self.used += len(text)
        last = self.items[-1] if self.items else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.items.append({"output_type": "stream", "name": name, "text": text})

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        self.items.append({"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback})


# The verifier's take-over of a test's answers (lrcourse.verify.take_over_cell): one line of
# plain Python, which IPython's input transformers return as it is, plus a newline (test_units)
TAKE_OVER = re.compile(r"_lrc_take_over\(__import__\('base64'\)\.b64decode\('[A-Za-z0-9+/=]*'\)\.decode\(\), "
                       r"\[(?:'[A-Za-z_][A-Za-z0-9_]*'(?:, '[A-Za-z_][A-Za-z0-9_]*')*)?\]\)")


def make_shell():
    """IPython's InteractiveShell with ipykernel's way of reporting errors and no rich output."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class QuietDisplayHook(DisplayHook):  # Out[n] is kept in the namespace, not shown
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            pass

    class QuietPublisher(DisplayPublisher):  # display() outputs: the verifier keeps none
        def publish(self, *args, **kwargs):
            pass

    class VerifierShell(InteractiveShell):
        displayhook_class = QuietDisplayHook
        display_pub_class = QuietPublisher
        outputs: _Outputs | None = None

        def _showtraceback(self, etype, evalue, stb):  # as ipykernel's ZMQInteractiveShell reports it
            if self.outputs is not None:
                self.outputs.error(str(etype.__name__), str(evalue), stb)

        def _format_exception_for_storage(self, exception, filename=None, running_compiled_code=False):
            return {}  # for a history that is off: IPython would format every error a second time

        def transform_cell(self, raw_cell):
            # a take-over carries a test's answers (up to 250 KB for the breast-cancer notebook),
            # which IPython's input transformers tokenized only to return the line as it was
            if TAKE_OVER.fullmatch(raw_cell):
                return raw_cell + "\n"
            return super().transform_cell(raw_cell)

        def should_run_async(self, raw_cell, *, transformed_cell=None, preprocessing_exc_tuple=None):
            # only code with `await` or `async` in it compiles to a coroutine: IPython's answer for
            # the rest without compiling each cell twice
            code = transformed_cell
            if isinstance(code, str) and "await" not in code and "async" not in code:
                return False
            return super().should_run_async(raw_cell, transformed_cell=transformed_cell,
                                            preprocessing_exc_tuple=preprocessing_exc_tuple)

    config = Config()
    config.HistoryManager.enabled = False
    shell = VerifierShell.instance(config=config)
    shell.display_formatter.active_types = ["text/plain"]
    return shell


def run_cell(shell, code: str, limit: int, timeout: float | None = None) -> list[dict]:
    outputs = _Outputs(limit)
    shell.outputs = outputs
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Stream("stdout", outputs), _Stream("stderr", outputs)
    try:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, timeout)
        shell.run_cell(code, store_history=True)
    except KeyboardInterrupt:  # arrived outside the cell's own code (IPython catches the rest)
        outputs.error("KeyboardInterrupt", "", ["KeyboardInterrupt"])
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr = saved
        shell.outputs = None
    if outputs.cut:
        outputs.items.append({"output_type": "stream", "name": "stdout",
                              "text": f"\n... outputs beyond {limit:,} bytes dropped by the grader ...\n"})
    return outputs.items


# ---------------------------------------------------------------- the grading process's side

def warm_spec(kernel_name: str) -> tuple[Limits, dict[str, str]]:
    """The limits of the warm sandbox kernelspec `kernel_name` and the environment its kernels get
    (what their template is keyed by: warm.template_key); ShellUnavailable, saying why, where its
    kernels are not forked warm here (the verifier then runs as that kernel)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    from . import warm
    from .launch import kernel_env, launcher_args

    reason = unavailable_reason() or warm.unavailable_reason()
    if reason:
        raise ShellUnavailable(reason)
    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel as err:
        raise ShellUnavailable(f"no kernelspec {kernel_name!r}") from err
    parsed = launcher_args(list(spec.argv))
    if parsed is None or not parsed[0].warm:
        raise ShellUnavailable(f"the kernelspec {kernel_name!r} does not fork warm sandboxed kernels")
    return Limits.from_args(parsed[0]), kernel_env(HOME, {**os.environ, **(spec.env or {})})


class ShellSession:
    """One verifier shell in the sandbox, asked for when made (it starts while the student's
    notebook runs). `run(code, timeout)` returns the cell's outputs, or None once the shell
    has stopped (died, killed, over its lifetime). The first `run` raises ShellUnavailable
    when the template could not start it."""

    def __init__(self, kernel_name: str = KERNEL_NAME):
        from . import warm  # not at the top: the template runs warm.py as __main__ and imports this module
        from .launch import SCRATCH_PREFIX, python_dirs

        self.conn = self.sock = self.pids = self.scratch = None
        self.deadline, self.buffer, self.ready, self.timeouts = None, b"", False, []
        self.limits, env = warm_spec(kernel_name)
        self.pids = cgroup.create(self.limits.nproc, tag=f"v{next(_serial)}")
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-verifier-"))
        try:
            (self.scratch / "root").mkdir()
            (self.scratch / "empty").mkdir()
            uid, gid = sandbox_ids()
            request = {"kind": "shell", "source": str(self.scratch / "empty"), "root": str(self.scratch / "root"),
                       "connection_file": None, "pids_cgroup": str(self.pids) if self.pids else None,
                       "uid": uid, "gid": gid, "python_dirs": python_dirs(),
                       # init counts the lifetime from now, while the student's notebook
                       # (itself up to a lifetime) may still hand answers over; the lifetime of the
                       # verification proper counts from when the grader waits for it (`collect`)
                       "limits": asdict(dataclasses.replace(self.limits, lifetime=2 * self.limits.lifetime)),
                       "kernel_args": [], "env": env, "reply_limit": REPLY_LIMIT}
            mine, theirs = socket.socketpair()
            try:
                self.conn = warm.send(request, warm.owner(os.getpid()), env, fds=[theirs.fileno()])
            except warm.WarmUnavailable as err:
                mine.close()
                raise ShellUnavailable(str(err)) from err
            finally:
                theirs.close()
            self.sock = mine
        except BaseException:
            self.close()
            raise

    def run(self, code: str, timeout: float) -> list[dict] | None:
        """Run one cell; its outputs, or None once the shell has stopped."""
        self.submit(code, timeout)
        return self.collect()

    def submit(self, code: str, timeout: float) -> None:
        """Send a cell to run after those sent before (the shell times it itself: KeyboardInterrupt
        after `timeout` s); `collect` returns the outputs, in order."""
        if self.sock is None:
            return
        try:
            self.sock.sendall(json.dumps({"code": code, "timeout": timeout}).encode() + b"\n")
            self.timeouts.append(timeout)
        except OSError:
            self._stopped()

    def collect(self) -> list[dict] | None:
        """The outputs of the oldest cell sent and not yet collected; None once the shell has
        stopped. A shell that says nothing for its cell's timeout and 10 s more is stopped."""
        if not self.ready:
            from . import warm

            try:
                warm.started(self.conn)
            except warm.WarmUnavailable as err:
                self.close()
                raise ShellUnavailable(str(err)) from err
            self.ready = True
        if self.sock is None or not self.timeouts:
            return None
        if self.deadline is None:
            self.deadline = time.monotonic() + self.limits.lifetime
        cell_deadline = time.monotonic() + self.timeouts.pop(0) + 10
        while b"\n" not in self.buffer:
            now = time.monotonic()
            if now >= self.deadline or now >= cell_deadline:
                return self._stopped()
            ready, _, _ = select.select([self.sock, self.conn], [], [], min(cell_deadline, self.deadline) - now)
            if self.conn in ready:  # init only speaks when the shell has exited
                return self._stopped()
            if self.sock in ready:
                data = b""
                with contextlib.suppress(OSError):
                    data = self.sock.recv(1 << 20)
                if not data:
                    return self._stopped()
                self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            return json.loads(line)["outputs"]
        except (ValueError, KeyError, TypeError):
            return self._stopped()

    def _stopped(self) -> None:
        self.close()
        return None

    def close(self) -> None:
        """Kill the sandbox (init ends it when the connection closes); its cgroup
        and scratch folder are removed in the background (graders wait for that before they exit)."""
        from ..kernel_manager import in_background
        from .provisioner import remove_scratch

        for s in (self.sock, self.conn):
            if s is not None:
                s.close()
        self.sock = self.conn = None
        pids, scratch, self.pids, self.scratch = self.pids, self.scratch, None, None
        if pids is not None or scratch is not None:
            in_background(lambda: remove_scratch(pids, scratch), "verifier-shell-cleanup")

