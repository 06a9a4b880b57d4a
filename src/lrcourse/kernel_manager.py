"""The kernel manager of a graded notebook's two kernels (lrcourse.verify.VerifiedExecute passes it:
nbgrader's Execute sets its kernel manager class itself, so configuration cannot).

Every grading kernel serves one notebook and is discarded: nothing in it is saved, and no
later notebook talks to it. jupyter_client's shutdown treats a kernel as something to stop
politely: it interrupts it, asks it over the control channel to shut down, and polls every
0.1 s until the process has gone, about 0.2 s a kernel, twice a notebook (lrcourse.verify).
`SingleUseKernelManager` tells the kernel's process group to terminate (SIGTERM: the
sandbox's launcher passes it on and removes its scratch folder and cgroup, lrcourse.sandbox)
and hands the process to a reaper thread. The reaper waits for the process for
`shutdown_wait_time` seconds, kills the group (SIGKILL) when it is still there, and reaps it.
The next notebook starts meanwhile.

Reaper threads are not daemons. A grading process, whether a worker of `lrcourse grade` or
`nbgrader autograde` itself, waits for them before it exits, so no kernel outlives grading.
`retiring()` counts the kernels still being stopped; `wait_retired()` waits for them.
Restarts (nbclient never restarts a kernel here), kernels this manager did not start, and
provisioners without a local process use jupyter_client's own shutdown.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading

from jupyter_client.manager import AsyncKernelManager

from .sandbox.provisioner import ForkedKernel

_reapers: set[threading.Thread] = set()
_lock = threading.Lock()


def _signal(process: subprocess.Popen, pgid: int | None, signum: int) -> None:
    """`signum` to the kernel's process group, or to its process when it has no group of its own."""
    with contextlib.suppress(OSError):
        if pgid:
            os.killpg(pgid, signum)
        else:
            process.send_signal(signum)


def _reap(process: subprocess.Popen, pgid: int | None, grace: float) -> None:
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal(process, pgid, signal.SIGKILL)
        process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream:
            stream.close()


def retire(process: subprocess.Popen, pgid: int | None, grace: float) -> None:
    """SIGTERM the kernel's process group now; wait, kill and reap it in a reaper thread."""
    _signal(process, pgid, signal.SIGTERM)
    in_background(lambda: _reap(process, pgid, grace), f"reap-kernel-{process.pid}")


def in_background(work, name: str) -> None:
    """Run `work()` in a reaper thread: graders wait for it as for a retiring kernel."""
    def run():
        try:
            work()
        finally:
            with _lock:
                _reapers.discard(threading.current_thread())

    reaper = threading.Thread(target=run, name=name)
    with _lock:
        _reapers.add(reaper)
    reaper.start()


def retiring() -> int:
    """How many kernels are still being stopped."""
    with _lock:
        return len(_reapers)


def wait_retired(timeout: float | None = None) -> bool:
    """Wait until every retired kernel has been reaped; False if some remain after `timeout`."""
    with _lock:
        reapers = list(_reapers)
    for reaper in reapers:
        reaper.join(timeout)
    return retiring() == 0


class SingleUseKernelManager(AsyncKernelManager):
    """jupyter_client's AsyncKernelManager, for kernels that are used once: shutting one down
    terminates it without waiting for it (see the module's docstring)."""

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        process = getattr(self.provisioner, "process", None)
        if restart or not self.owns_kernel or not isinstance(process, (subprocess.Popen, ForkedKernel)):
            return await super()._async_shutdown_kernel(now=now, restart=restart)
        self.shutting_down = True
        self.stop_restarter()
        pgid = getattr(self.provisioner, "pgid", None)
        self.provisioner.process = None  # the reaper owns it now: the manager sees no kernel
        retire(process, pgid, max(self.shutdown_wait_time, 0.1))
        await self._async_cleanup_resources(restart=False)

    shutdown_kernel = _async_shutdown_kernel
