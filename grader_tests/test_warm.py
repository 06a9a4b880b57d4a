"""Pre-warmed kernels (sandbox/warm.py): forked from a template, yet started as a cold one is.

The grades themselves: every scenario of every exercise is graded again with cold kernels
(the `lrcourse-sandbox-cold` kernelspec) and compared row by row with the warm grading of
the `graded` fixture; test_tamper.py does the same for the tampered submissions (memory
bombs, loops, killed kernels included).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import EXERCISES, FAST_GRADING, all_students, grade_every_exercise, started_kernel

from lrcourse.sandbox import COLD_KERNEL_NAME, KERNEL_NAME, MARKER, unavailable_reason
from lrcourse.sandbox.warm import unavailable_reason as warm_unavailable

pytestmark = [
    pytest.mark.slow,  # not in the fast lane: sandboxed kernels
    pytest.mark.skipif(unavailable_reason() is not None or warm_unavailable() is not None,
                       reason=f"no warm sandboxed kernels here: {unavailable_reason() or warm_unavailable()}"),
]


@contextmanager
def kernel(name: str, cwd: Path, env: dict | None = None):
    """A started kernel of kernelspec `name`; yields `run(code) -> stdout (and error)`."""
    with started_kernel(name, cwd, env=env) as (_, run):
        yield run


@pytest.fixture
def folder(tmp_path) -> Path:
    (tmp_path / "data.csv").write_text("x\n1\n")
    return tmp_path


PRELOADED = "import sys\nprint('pandas' in sys.modules, 'sklearn.linear_model' in sys.modules)"


def test_a_warm_kernel_is_forked_from_the_template_and_a_cold_one_is_not(folder):
    with kernel(KERNEL_NAME, folder) as run:
        assert run(PRELOADED).split() == ["True", "True"]
        assert run("print(open('/proc/self/comm').read())").strip() == "lrcourse-kernel"  # in ps and top
    with kernel(COLD_KERNEL_NAME, folder) as run:
        assert run(PRELOADED).split() == ["False", "False"]


# What a notebook could see of how its kernel started, after the course's imports.
STATE = r"""
import json, os, random, sys, warnings
import numpy, pandas, scipy.stats, sklearn.linear_model, sklearn.metrics, statsmodels.api
import matplotlib, matplotlib.pyplot as plt
def open_files():  # what the kernel's descriptors point at, sockets and pipes left out (their number varies),
    found = []      # and IPython's history database (its own thread writes it, at its own pace)
    for fd in os.listdir('/proc/self/fd'):
        try:
            target = os.readlink('/proc/self/fd/' + fd)
        except OSError:  # the listing's own descriptor, closed already
            continue
        if not target.startswith(('socket:', 'pipe:', 'anon_inode:', os.path.expanduser('~/.ipython/'))):
            found.append(target)
    return sorted(found)
status = [line for line in open('/proc/self/status').read().splitlines()
          if line.startswith(('Cap', 'NoNewPrivs', 'Uid', 'Gid', 'Groups'))]
print(json.dumps(dict(
    path=sys.path, argv0=os.path.basename(sys.argv[0]), cwd=os.getcwd(), files=sorted(os.listdir()),
    env=dict(os.environ), filters=sorted(map(repr, warnings.filters)),
    rc={k: repr(v) for k, v in matplotlib.rcParams.items()}, backend=matplotlib.get_backend(),
    figures=plt.get_fignums(), main=sys.modules['__main__'].__name__, status=status,
    limits=open('/proc/self/limits').read(), threads=len(os.listdir('/proc/self/task')),
    open_files=open_files(), pid=os.getpid(), user_ns=sorted(k for k in dir() if not k.startswith('_')),
)))
"""


def test_a_warm_kernel_starts_as_a_cold_one_would(folder):
    with kernel(KERNEL_NAME, folder) as run:
        warm = json.loads(run(STATE))
    with kernel(COLD_KERNEL_NAME, folder) as run:
        cold = json.loads(run(STATE))
    assert warm.keys() == cold.keys()
    differ = {k: (warm[k], cold[k]) for k in warm if warm[k] != cold[k]}
    assert not differ, json.dumps(differ, indent=1)[:4000]
    assert warm["cwd"] == "/home/student/submission" and warm["files"] == ["data.csv"]
    assert any(line.startswith("CapEff:\t0000000000000000") for line in warm["status"]), warm["status"]


TOUCH = r"""
import os, sys, random, warnings
import numpy as np, pandas as pd, matplotlib, matplotlib.pyplot as plt
np.allclose = lambda *a, **k: True
pd.touched_by_student = True
matplotlib.rcParams['lines.linewidth'] = 9
plt.figure()
warnings.simplefilter('ignore')
sys.path.insert(0, '/student')
os.environ['STUDENT'] = '1'
sys.modules['sklearn.metrics'].f1_score = lambda *a, **k: 1.0
print('touched')
"""

CHECK = r"""
import os, sys, warnings
import numpy as np, pandas as pd, matplotlib, matplotlib.pyplot as plt
from sklearn.metrics import f1_score
print(np.allclose(1, 2), hasattr(pd, 'touched_by_student'), matplotlib.rcParams['lines.linewidth'],
      plt.get_fignums(), ('ignore', None, Warning, None, 0) in warnings.filters, '/student' in sys.path,
      'STUDENT' in os.environ, f1_score([0, 1], [1, 0]))
"""


def test_what_one_kernel_changes_never_reaches_the_next(folder):
    with kernel(KERNEL_NAME, folder) as run:
        assert run(TOUCH).strip() == "touched"
    with kernel(KERNEL_NAME, folder) as run:
        assert run(CHECK).split() == ["False", "False", "1.5", "[]", "False", "False", "False", "0.0"]


RANDOM = "import random, numpy as np\nprint(random.random(), np.random.rand())"


def test_each_warm_kernel_draws_its_own_random_numbers(folder):
    draws = []
    for _ in range(3):
        with kernel(KERNEL_NAME, folder) as run:
            draws.append(run(RANDOM).split())
    python, numpy = {d[0] for d in draws}, {d[1] for d in draws}
    assert len(python) == 3 and len(numpy) == 3, draws


def test_a_library_the_template_does_not_hold_still_imports(folder):
    code = ("import sys\nbefore = 'sklearn.ensemble' in sys.modules\nfrom sklearn.ensemble import "
            "RandomForestClassifier\nprint(before, RandomForestClassifier().n_estimators)")
    with kernel(KERNEL_NAME, folder) as run:
        assert run(code).split() == ["False", "100"]


ERRORS = ["def curve(x):\n    return x / 0\ncurve(1)", "import numpy as np\nnp.linalg.inv(np.zeros((2, 2)))",
          "assert 0.5 == 0.25, 'the threshold is wrong'"]


def tracebacks(run) -> list[list[str]]:
    found = []

    def hook(msg):
        if msg["msg_type"] == "error":
            found.append(msg["content"]["traceback"])

    for code in ERRORS:
        run.client.execute_interactive(code, output_hook=hook, timeout=60)
    return found


def test_errors_in_a_warm_kernel_read_as_in_a_cold_one(folder):
    """The template formats one traceback before it forks (its caches: warm.warm_tracebacks);
    a kernel's tracebacks, colours included, are those of a cold kernel."""
    with kernel(KERNEL_NAME, folder) as run:
        warm = tracebacks(run)
    with kernel(COLD_KERNEL_NAME, folder) as run:
        cold = tracebacks(run)
    assert len(warm) == len(ERRORS) and all(warm)
    assert warm == cold
    assert any("x / 0" in re.sub(r"\x1b\[[0-9;]*m", "", line) for line in warm[0]), warm[0]


def test_a_template_is_shared_only_with_descendants_of_its_owner(monkeypatch):
    from lrcourse.sandbox import warm

    me, parent = os.getpid(), os.getppid()
    monkeypatch.delenv(warm.OWNER_ENV, raising=False)
    assert warm.owner(me) == me
    for named, expected in [(parent, parent), (me, me), (1, me), ("not a pid", me)]:
        monkeypatch.setenv(warm.OWNER_ENV, str(named))
        assert warm.owner(me) == expected, named
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        monkeypatch.setenv(warm.OWNER_ENV, str(child.pid))  # alive, but not an ancestor
        assert warm.owner(me) == me
    finally:
        child.kill()
        child.wait()


TWO_KERNELS = """
import sys
from jupyter_client.manager import KernelManager
for _ in range(2):
    km = KernelManager(kernel_name=sys.argv[1])
    km.start_kernel(cwd=sys.argv[2])
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    out = []
    kc.execute_interactive("import sys; print('pandas' in sys.modules)", timeout=60,
                           output_hook=lambda m: out.append(m['content'].get('text', '')))
    print('ran', ''.join(out).strip(), flush=True)
    kc.stop_channels()
    km.shutdown_kernel()
"""


@pytest.mark.parametrize("why", ["disabled", "no-private-folder"])
def test_where_no_template_can_be_made_kernels_start_cold_and_say_so_once(folder, tmp_path_factory, why):
    env = dict(os.environ)
    if why == "disabled":
        env["LRCOURSE_WARM"] = "off"
    else:  # the templates' socket folder is writable by anyone: refused
        tmp = tmp_path_factory.mktemp("tmp")
        os.chmod(tmp, 0o755)
        (tmp / f"lrcourse-warm-{os.geteuid()}").mkdir(mode=0o777)
        os.chmod(tmp / f"lrcourse-warm-{os.geteuid()}", 0o777)
        env["TMPDIR"] = str(tmp)
    proc = subprocess.run([sys.executable, "-c", TWO_KERNELS, KERNEL_NAME, str(folder)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.stdout.split("\n")[:2] == ["ran False", "ran False"], proc.stdout + proc.stderr[-2000:]
    assert proc.stderr.count(f"{MARKER} COLD") == 1, proc.stderr[-2000:]
    reason = "LRCOURSE_WARM=off" if why == "disabled" else "is not a private folder"
    assert reason in " ".join(proc.stderr.split())  # the message is wrapped


@pytest.fixture(scope="session")
def graded_cold(tmp_path_factory, graded):
    """{exercise: {scenario: cell scores}} like `graded`, every kernel started cold."""
    cold = f"\nc.Execute.kernel_name = {COLD_KERNEL_NAME!r}\n"
    return grade_every_exercise(tmp_path_factory.mktemp("graded-cold"), cold)


def test_warm_and_cold_kernels_write_the_same_gradebook_rows_for_every_scenario(graded, graded_cold):
    if FAST_GRADING:
        pytest.skip("LRCOURSE_FAST_GRADING=1: `graded` holds the runner's scores, not nbgrader's")
    differ = [f"{stem}/{student}: warm {rows}\n  cold {graded_cold[stem].get(student)}"
              for stem in EXERCISES for student, rows in graded[stem].items()
              if graded_cold[stem].get(student) != rows]
    assert not differ, "\n".join(differ)
    assert sum(len(graded[stem]) for stem in EXERCISES) == sum(len(all_students(s)) for s in EXERCISES)


# --- warm kernels without a launcher (sandbox/provisioner.py) ---------------------------------------

def launchers() -> list[int]:
    """This process's children running the sandbox's launcher."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == os.getpid() and b"lrcourse.sandbox.launch" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except (OSError, ValueError, IndexError):
            pass
    return found


def test_a_warm_kernel_has_no_launcher_and_is_reached_through_its_own_sockets(folder):
    from lrcourse.kernel_manager import wait_retired
    from lrcourse.sandbox.provisioner import ForkedKernel

    with started_kernel(KERNEL_NAME, folder) as (km, run):
        forked = km.provisioner.process
        assert isinstance(forked, ForkedKernel) and km.transport == "ipc"
        assert km.ip == f"/proc/{forked.pid}/root/run/lrcourse/kernel", km.ip
        assert launchers() == []
        assert run("import os; print(os.getuid() != 0, os.getpid())").split() == ["True", "2"]
        # an interrupt reaches the cell (nbclient's way with a cell over its timeout)
        kc = run.client
        msg_id = kc.execute("import time\ntry:\n    time.sleep(30)\nexcept KeyboardInterrupt:\n    print('stopped')")
        time.sleep(1)
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["status"] == "ok"
        assert forked.poll() is None
    assert wait_retired(10)
    assert forked.wait(10) is not None  # stopped by the manager


def test_with_warm_kernels_off_the_launcher_starts_them_as_before(folder, monkeypatch):
    import subprocess as sp

    monkeypatch.setenv("LRCOURSE_WARM", "off")
    with started_kernel(KERNEL_NAME, folder) as (km, run):
        assert isinstance(km.provisioner.process, sp.Popen) and km.transport == "tcp"
        assert launchers() == [km.provisioner.process.pid]
        assert run("print(1 + 1)").strip() == "2"
