"""The unit of work of grading: one sanitized notebook in, the executed notebook out.

This is nbgrader's own `Execute` preprocessor, configured from the course's
nbgrader_config.py, run in a scratch folder that holds the submission's other files
but no notebook. It touches no gradebook and no course folder, so it runs the same
in a local worker process or on a Dask worker on another machine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .course import load_config
from .status import FAILED, GRADED, KERNEL_DIED, TIMED_OUT


@dataclass
class Executed:
    # The notebook's grading state (lrcourse.status' vocabulary): GRADED or TIMED_OUT when it ran
    # (the cells' own errors and timeouts are scored by nbgrader as usual), KERNEL_DIED when the
    # kernel process ended (os._exit, crash, killed by a limit), FAILED when it could not run.
    outcome: str
    notebook: str | None  # executed notebook JSON (None when nothing usable came back)
    reason: str = ""
    timed_out_cells: tuple[str, ...] = ()
    seconds: float = 0.0


@contextmanager
def autograde_env():
    """NBGRADER_EXECUTION=autograde while inside, as `nbgrader autograde` sets it (nbgrader's own
    utils.setenv restores the wrong key and skips restoring on an exception)."""
    old = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = old


@lru_cache(maxsize=4)
def config_from_text(text: str):
    """nbgrader's config from the text of nbgrader_config.py, loaded once per worker process
    (a worker may have no course copy; the coordinator uses `Course.config`)."""
    folder = tempfile.mkdtemp(prefix="lrcourse-config-")
    try:
        Path(folder, "nbgrader_config.py").write_text(text)
        return load_config(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def executor_class(config):
    """The executing step of the configured autograde pipeline (nbgrader's Execute or a
    subclass, such as lrcourse.verify.VerifiedExecute), and the steps after it."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    from traitlets.utils.importstring import import_item

    steps = [import_item(s) if isinstance(s, str) else s for s in Autograde(config=config).autograde_preprocessors]
    runs = [s for s in steps if isinstance(s, type) and issubclass(s, Execute)]
    if len(runs) != 1:
        raise ValueError(f"Autograde.autograde_preprocessors should hold one Execute step, not {len(runs)}")
    return runs[0], [s for s in steps if s is not runs[0]]


def kernel_lifetime(config) -> int | None:
    """The wall-clock limit the grading kernel's spec gives it (`--lifetime=`), if any."""
    from jupyter_client.kernelspec import KernelSpecManager

    try:
        argv = KernelSpecManager().get_kernel_spec(config.Execute.kernel_name).argv
    except Exception:  # noqa: BLE001 - no such kernelspec: no limit to name
        return None
    return next((int(a.split("=", 1)[1]) for a in argv if a.startswith("--lifetime=")), None)


def execute_notebook(notebook: str, files: dict[str, bytes], config_text: str, reference: str | None = None
                     ) -> Executed:
    """Execute one sanitized notebook (JSON text) with the configured Execute step; never raises.
    `reference` is the source notebook (JSON text), for an Execute step that runs its cells."""
    import nbformat
    from nbclient.exceptions import DeadKernelError

    start = time.perf_counter()
    config = config_from_text(config_text)
    workdir = Path(tempfile.mkdtemp(prefix="lrcourse-run-"))
    try:
        for name, data in files.items():
            target = workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        nb = nbformat.reads(notebook, as_version=4)
        run, after = executor_class(config)
        kwargs = {}
        if reference is not None and getattr(run, "runs_a_reference", False):
            kwargs["reference"] = nbformat.reads(reference, as_version=4)
        with autograde_env():
            nb, _ = run(config=config, **kwargs).preprocess(nb, {"metadata": {"path": str(workdir)}})
        for step in after:  # output caps: what travels back from a worker is already cut
            if getattr(step, "runs_in_worker", False):
                nb, _ = step(config=config).preprocess(nb, {})
        timed_out = tuple(
            cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {i}"
            for i, cell in enumerate(nb.cells)
            if any(o.get("ename") == "CellTimeoutError" for o in cell.get("outputs", []))
        )
        return Executed(TIMED_OUT if timed_out else GRADED, nbformat.writes(nb), timed_out_cells=timed_out,
                        seconds=time.perf_counter() - start)
    except DeadKernelError as err:
        seconds = time.perf_counter() - start
        lifetime = kernel_lifetime(config)
        if lifetime and seconds >= lifetime:
            reason = (f"the notebook's kernel was stopped at its wall-clock limit of {lifetime} s "
                      "(cells that wait or loop until their timeout add up)")
        else:
            reason = f"the kernel died while running the notebook ({err})".strip()
        return Executed(KERNEL_DIED, None, reason, seconds=seconds)
    except Exception as err:  # noqa: BLE001 - any failure is reported for this notebook only
        return Executed(FAILED, None, f"{type(err).__name__}: {str(err)[:300]}",
                        seconds=time.perf_counter() - start)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def warm_up(template_owner: int | None = None) -> None:
    """Worker initializer: import what execution needs once per worker, not per notebook.

    Kernels inherit the worker's stderr; their start-up chatter would otherwise land on
    the instructor's terminal, so the worker's stderr goes to /dev/null (what goes
    wrong in a notebook comes back in its outputs and in `Executed.reason`).
    `template_owner`: the grading run's process, whose kernel template the workers share
    (sandbox.warm.owner).
    """
    from .sandbox.warm import OWNER_ENV, name_process

    name_process("lrcourse-worker")
    if template_owner:
        os.environ[OWNER_ENV] = str(template_owner)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    import nbclient  # noqa: F401
    import nbformat  # noqa: F401
    from nbgrader.preprocessors import Execute  # noqa: F401
