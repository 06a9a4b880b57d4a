"""The grading sandbox: the Jupyter kernel that runs a student's code, locked in.

nbgrader starts kernels through a kernelspec; the course's sandboxed kernelspec
(`lrcourse-sandbox`, selected by `c.Execute.kernel_name` in nbgrader_config.py) runs
`python -m lrcourse.sandbox.launch` instead of ipykernel. The launcher:

  1. starts `unshare` (new mount, network, PID, IPC and UTS namespaces) in a pids
     cgroup of its own (`cgroup`), with /dev/null as stdin, stdout and stderr; it runs
     `lrcourse.sandbox.inside` as root in the new namespaces: it builds a throwaway
     root (tmpfs + read-only binds of /usr, /etc and the Python installation only),
     copies the submission folder without any .ipynb into it, brings up a private
     loopback, applies resource limits, and starts the kernel through `setpriv` as the
     unprivileged sandbox user, staying on as the namespace's PID 1 (root, which the
     kernel cannot signal) so that the kernel dies with the launcher;
  2. relays the five kernel ports: the client (nbgrader, nbclient) talks TCP on
     127.0.0.1 as always, the kernel listens on Unix sockets (ZMQ `ipc` transport)
     in a small tmpfs of its own, which the launcher reaches through /proc/<pid>/root,
     so the kernel needs no network at all;
  3. waits, and kills the whole sandbox when the process that started the launcher
     dies (a grading worker killed) or after `Limits.lifetime` seconds.

Where the sandbox cannot be set up (not Linux, not root, the user missing, unshare
refused) the launcher says so loudly, once per grading process, and runs the plain
kernel in a scratch copy of the submission folder (see `launch.py`).
`LRCOURSE_SANDBOX=off` forces that; `LRCOURSE_SANDBOX=require` makes it an error.

Module map: `launch` (outer launcher, host side), `inside` (namespace setup),
`relay` (TCP <-> Unix socket relay), `provisioner` (jupyter_client's side: the ports are
bound before the launcher starts), `warm` (the pre-warmed template kernels are forked
from), `setup` (the `sandbox` verb).
"""

from __future__ import annotations

import os
import pwd
import shutil
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

KERNEL_NAME = "lrcourse-sandbox"
# The same sandbox with kernels that start cold (no template): the baseline of the warm-start
# benchmark and of the test that warm and cold kernels grade alike (sandbox/warm.py).
COLD_KERNEL_NAME = "lrcourse-sandbox-cold"
USER = "lrcsandbox"
# Fixed marker at the start of every sandbox message in the grading log.
MARKER = "LRCOURSE-SANDBOX:"
# Inside the sandbox: where the kernel's sockets and connection file live, HOME, cwd.
RUN_DIR = "/run/lrcourse"
RUN_SIZE = 1 << 20  # the tmpfs at RUN_DIR: a connection file and five sockets need a few bytes
HOME = "/home/student"
WORKDIR = HOME + "/submission"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel (per process; sizes in bytes)."""

    memory: int = 4 << 30  # RLIMIT_AS: address space; a bigger allocation is a MemoryError
    cpu: int = 600  # RLIMIT_CPU: CPU seconds for the whole notebook (wall time per cell is nbgrader's)
    nproc: int = 256  # processes and threads per kernel: its cgroup's pids.max (shared RLIMIT_NPROC without one)
    nofile: int = 512  # RLIMIT_NOFILE: open files
    fsize: int = 256 << 20  # RLIMIT_FSIZE: largest file the kernel may write
    disk: int = 512 << 20  # size of each writable tmpfs (home with the submission copy; /tmp)
    copy: int = 200 << 20  # largest submission folder copied into the sandbox
    # wall-clock seconds a kernel may live, whatever it does; then it is killed (the course's solutions
    # run in under 20 s; five cells that each sleep just under the 60 s cell timeout are stopped at 240 s)
    lifetime: int = 240

    def to_args(self) -> list[str]:
        return [f"--{k}={v}" for k, v in asdict(self).items()]

    @classmethod
    def add_arguments(cls, parser) -> None:
        for f in fields(cls):
            parser.add_argument(f"--{f.name}", type=int, default=f.default)

    @classmethod
    def from_args(cls, args) -> Limits:
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})


def mode(environ=None) -> str:
    """LRCOURSE_SANDBOX: `auto` (default), `off` or `require` (of `environ`, default os.environ)."""
    return (environ or os.environ).get("LRCOURSE_SANDBOX", "auto").strip().lower() or "auto"


def unavailable_reason(environ=None) -> str | None:
    """Why this machine cannot sandbox kernels, or None when it can (cheap, no subprocess).
    `environ`: the kernel launcher's environment (default os.environ)."""
    environ = environ or os.environ
    if mode(environ) == "off":
        return "disabled by LRCOURSE_SANDBOX=off"
    if not sys.platform.startswith("linux"):
        return f"namespaces need Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return "grading does not run as root, so it cannot switch kernels to the sandbox user"
    for tool in ("unshare", "setpriv"):
        if not shutil.which(tool, path=environ.get("PATH")):
            return f"`{tool}` (util-linux) is not installed"
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return f"the sandbox user {USER!r} does not exist: run `lrcourse sandbox` (make setup)"
    return None


def font_cache_dir(prefix: str | None = None) -> Path:
    """matplotlib's font cache, built once at setup (`lrcourse sandbox`) and used by every kernel."""
    return Path(prefix or sys.prefix) / "share" / "lrcourse-sandbox" / "matplotlib"


def sandbox_ids() -> tuple[int, int]:
    entry = pwd.getpwnam(USER)
    return entry.pw_uid, entry.pw_gid
