"""Where the course lives and how to call nbgrader on it.

Paths come from nbgrader's own CourseDirectory, configured by nbgrader_config.py
at the repository root; nbgrader itself always runs as its CLI, from that root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

ASSIGNMENT = "logistic_regression"
NOTEBOOKS = (
    "ex1_probability_curve",
    "ex2_decision_thresholds",
    "ex3_class_imbalance",
    "ex4_logistic_vs_linear",
    "ex5_breast_cancer",
)
KERNEL_NAME = "lrcourse"


class CourseError(RuntimeError):
    """A problem the instructor must fix; the CLI prints it without a traceback."""


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` that holds nbgrader_config.py."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file():
            return folder
    raise CourseError(f"no nbgrader_config.py at or above {here}: run this inside the course")


@dataclass(frozen=True)
class Course:
    root: Path

    @classmethod
    def here(cls, root: Path | str | None = None) -> Course:
        return cls(find_root(Path(root) if root else None))

    @cached_property
    def coursedir(self):
        """nbgrader's CourseDirectory, configured exactly as the nbgrader CLI sees it."""
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        return CourseDirectory(config=config)

    def step_dir(self, step: str, student: str = ".") -> Path:
        """An nbgrader step folder (source, release, submitted, ...) for the assignment."""
        name = {
            "source": self.coursedir.source_directory,
            "release": self.coursedir.release_directory,
            "submitted": self.coursedir.submitted_directory,
            "autograded": self.coursedir.autograded_directory,
            "feedback": self.coursedir.feedback_directory,
            "solutions": self.coursedir.solution_directory,
        }[step]
        return (self.root / name / student / ASSIGNMENT).resolve()

    def notebooks(self) -> list[str]:
        """The assignment's notebooks (stems of source/), in exercise order."""
        present = {p.stem for p in self.step_dir("source").glob("*.ipynb")}
        return [s for s in NOTEBOOKS if s in present] + sorted(present - set(NOTEBOOKS))

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    def nbgrader(self, *args: str, check: bool = True, quiet: bool = False):
        """Run the nbgrader CLI from the course root with the project's environment."""
        return run_in_env([nbgrader_exe(), *args], cwd=self.root, check=check, quiet=quiet)


def env_bin() -> Path:
    return Path(sys.executable).parent


def nbgrader_exe() -> str:
    return str(env_bin() / "nbgrader")


def tool_env() -> dict[str, str]:
    """The environment for nbgrader and kernels: this venv's bin first on PATH.

    nbgrader runs `alembic` as a subprocess, so the venv's bin must be on PATH
    even when the tool was started by absolute path.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(env_bin()), env.get("PATH", "")])
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def run_in_env(cmd: list[str], cwd: Path, check: bool = True, quiet: bool = False):
    proc = subprocess.run(
        cmd, cwd=cwd, env=tool_env(), text=True,
        stdout=subprocess.PIPE if quiet else None, stderr=subprocess.STDOUT if quiet else None,
    )
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout or "").splitlines()[-30:]) if quiet else ""
        raise CourseError(f"{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))} "
                          f"failed with exit code {proc.returncode}\n{tail}".rstrip())
    return proc
