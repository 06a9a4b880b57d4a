"""Verb `sandbox`: the sandbox user, the `lrcourse-sandbox` kernelspec, a probe.

Idempotent; `make setup` runs it. Steps, in order:
  user     `useradd --system` the sandbox user (root only; skipped when it exists)
  cache    matplotlib's font cache, built once and copied into every sandbox HOME
  kernel   write share/jupyter/kernels/lrcourse-sandbox/kernel.json into this venv
  probe    start one sandboxed kernel, run a cell, report what it saw, and how the
           process limit is enforced here (a pids cgroup per kernel, or one shared rlimit)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..kernel import KERNEL_ENV
from . import COLD_KERNEL_NAME, KERNEL_NAME, MARKER, USER, Limits, font_cache_dir, unavailable_reason
from .provisioner import NAME as PROVISIONER


def ensure_user() -> str:
    if sys.platform.startswith("linux") and os.geteuid() == 0:
        if subprocess.run(["id", "-u", USER], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                            "--shell", "/usr/sbin/nologin", USER], check=True)
            return f"created user {USER}"
        return f"user {USER} exists"
    return "not root on Linux: no sandbox user"


def build_font_cache(prefix: str | None = None) -> Path:
    target = font_cache_dir(prefix)
    target.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MPLCONFIGDIR=str(target), MPLBACKEND="Agg")
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, check=True)
    return target


def install_sandbox_kernel(*, prefix: str | None = None, limits: Limits | None = None, warm: bool = True) -> Path:
    """The kernelspec; `warm`: kernels are forked from a pre-warmed template (warm.py), else
    the COLD_KERNEL_NAME spec, whose kernels start cold."""
    name = KERNEL_NAME if warm else COLD_KERNEL_NAME
    folder = Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "lrcourse.sandbox.launch", "-f", "{connection_file}",
                 *(limits or Limits()).to_args(), *(["--warm"] if warm else [])],
        "display_name": "Python 3 (logistic-regression course, grading sandbox" + (")" if warm else ", cold)"),
        "language": "python",
        "env": KERNEL_ENV,
        "interrupt_mode": "signal",
        # The relay's ports are bound before the launcher starts (provisioner.py).
        "metadata": {"debugger": False, "kernel_provisioner": {"provisioner_name": PROVISIONER}},
    }
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return folder


PROBE = """\
import os, socket
print('sandbox probe: uid', os.getuid(), '| cwd', os.getcwd(), '| files', sorted(os.listdir()))
print('sandbox probe: course visible:', os.path.exists(%r))
try:
    socket.create_connection(('1.1.1.1', 80), timeout=2)
    print('sandbox probe: network: yes')
except OSError as e:
    print('sandbox probe: network: no,', e.strerror)
"""


def probe(course_root: Path) -> str:
    """Run one cell in a sandboxed kernel started in a folder with a notebook; returns its output."""
    import tempfile

    from jupyter_client.manager import start_new_kernel

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "data.csv").write_text("x\n1\n")
        (Path(folder) / "hidden.ipynb").write_text("{}")
        km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=folder)
        try:
            out = []

            def hook(msg):
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])

            kc.execute_interactive(PROBE % str(course_root / "nbgrader_config.py"), output_hook=hook, timeout=60)
            return "".join(out)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def sandbox_setup(*, root: str | None = None, check: bool = True) -> int:
    """Create the sandbox user and install the sandboxed kernelspec; probe it."""
    print(ensure_user())
    print(f"font cache {build_font_cache()}")
    print(f"installed kernel {install_sandbox_kernel()}")
    print(f"installed kernel {install_sandbox_kernel(warm=False)}")
    reason = unavailable_reason()
    if reason:
        print(f"{MARKER} grading will run UNSANDBOXED here: {reason}")
        return 0
    if check:
        from ..course import find_root

        print(probe(find_root(Path(root) if root else None)).rstrip())
    print(f"sandbox processes: {process_limit()}")
    return 0


def process_limit(limits: Limits | None = None) -> str:
    """How the kernels' process and thread limit is enforced on this machine."""
    from . import cgroup

    nproc = (limits or Limits()).nproc
    kind = cgroup.available()
    if kind:
        return f"{nproc} per kernel ({kind} pids.max)"
    return f"{nproc} for all kernels together (RLIMIT_NPROC of {USER}: no writable pids cgroup here)"
