"""Where the course lives, which exercises it has, and how to call nbgrader on it.

Paths come from nbgrader's own CourseDirectory, configured by nbgrader_config.py
at the repository root; nbgrader itself always runs as its CLI, from that root.
The exercises are the folders of exercises/ (`exercises/<stem>/<stem>.py` and its
`scenarios.py`): `Course.exercises()` discovers them, and nothing else lists them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

ASSIGNMENT = "logistic_regression"
KERNEL_NAME = "lrcourse"
EXERCISES_DIR = "exercises"
SCENARIOS_FILE = "scenarios.py"
# The contract's notebook names: `ex<number>_<words>`, lower case (ex2_decision_thresholds).
STEM = re.compile(r"^ex([1-9][0-9]*)_[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


class CourseError(RuntimeError):
    """A problem the instructor must fix; the CLI prints it without a traceback."""


def exercise_order(stem: str) -> tuple[int, str]:
    """Sort key of a notebook stem: by exercise number (ex2 before ex10), then by name."""
    m = STEM.match(stem)
    return (int(m.group(1)) if m else 1 << 30, stem)


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` that holds nbgrader_config.py."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file():
            return folder
    raise CourseError(f"no nbgrader_config.py at or above {here}: run this inside the course")


def load_config(folder: Path | str):
    """The traitlets config of `folder`/nbgrader_config.py, as the nbgrader CLI loads it
    (the one place it is loaded; `Course.config` keeps it for the command)."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()


@dataclass(frozen=True)
class Course:
    root: Path

    @classmethod
    def here(cls, root: Path | str | None = None) -> Course:
        return cls(find_root(Path(root) if root else None))

    @classmethod
    def of(cls, course: Course | None = None, root: Path | str | None = None) -> Course:
        """The course a verb works on: `course` as given (the CLI builds one per command, so
        its config is loaded once), else the course at or above `root` (or the working folder)."""
        if course is not None and root is not None:
            raise TypeError("give a course or a root, not both")
        return course if course is not None else cls.here(root)

    @cached_property
    def config(self):
        """nbgrader_config.py, loaded once per Course: what the nbgrader CLI sees."""
        return load_config(self.root)

    @cached_property
    def coursedir(self):
        """nbgrader's CourseDirectory, configured exactly as the nbgrader CLI sees it."""
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config)

    def cell_timeout(self) -> int:
        """Seconds a cell may run when graded (nbgrader's Execute.timeout as configured)."""
        from nbgrader.preprocessors import Execute

        return Execute(config=self.config).timeout

    def step_dir(self, step: str, student: str = ".") -> Path:
        """An nbgrader step folder (source, release, submitted, ...) for the assignment,
        laid out as nbgrader lays it out (`CourseDirectory.format_path`, which honours
        `directory_structure`)."""
        return self.step_path(step, student).resolve()

    def step_path(self, step: str, student: str = ".") -> Path:
        """step_dir without resolving links (for code that must see a link as a link)."""
        return Path(self.coursedir.format_path(self.step_name(step), student, ASSIGNMENT))

    def step_name(self, step: str) -> str:
        """The configured folder name of an nbgrader step (`solutions` -> solution_directory)."""
        return {
            "source": self.coursedir.source_directory,
            "release": self.coursedir.release_directory,
            "submitted": self.coursedir.submitted_directory,
            "autograded": self.coursedir.autograded_directory,
            "feedback": self.coursedir.feedback_directory,
            "solutions": self.coursedir.solution_directory,
        }.get(step, step)

    def student_dirs(self, step: str) -> dict[str, Path]:
        """{student: assignment folder} for every student with the assignment in a per-student
        step (submitted, autograded, feedback), found as nbgrader finds them: by matching
        `directory_structure`. Links are not resolved."""
        name = self.step_name(step)
        pattern = re.compile(self.coursedir.format_path(name, "(?P<student_id>[^/]+)", re.escape(ASSIGNMENT),
                                                        escape=True) + "$")
        root = Path(self.coursedir.root)
        found = {}
        for path in root.glob(os.path.relpath(self.coursedir.format_path(name, "*", ASSIGNMENT), root)):
            m = pattern.match(str(path))
            if m and (path.is_dir() or path.is_symlink()):
                found[m.group("student_id")] = path
        return dict(sorted(found.items()))

    def exercises(self) -> list[str]:
        """The course's exercises: the folders of exercises/, in exercise order.

        Each folder `exercises/<stem>/` holds the notebook text `<stem>.py` and its
        `scenarios.py`; a folder that does not is an error naming it, never skipped.
        """
        base = self.root / EXERCISES_DIR
        if not base.is_dir():
            raise CourseError(f"no {EXERCISES_DIR}/ folder in {self.root}: the course has no exercises")
        problems = []
        for folder in sorted(base.iterdir()):
            if not folder.is_dir() or folder.name.startswith((".", "_")):
                continue  # __pycache__, .ipynb_checkpoints, a README
            if not STEM.match(folder.name):
                problems.append(f"{folder}: not an exercise name (ex<number>_<words>, lower case, "
                                f"e.g. ex6_roc_curve)")
            for needed in (f"{folder.name}.py", SCENARIOS_FILE):
                if not (folder / needed).is_file():
                    problems.append(f"{folder}: missing {needed}")
        if problems:
            raise CourseError("malformed exercise folder:\n  " + "\n  ".join(problems))
        return sorted((f.name for f in base.iterdir() if f.is_dir() and not f.name.startswith((".", "_"))),
                      key=exercise_order)

    def exercise_dir(self, stem: str) -> Path:
        """exercises/<stem>/: the notebook text, its scenarios and any assets."""
        return self.root / EXERCISES_DIR / stem

    def notebooks(self, step: str = "source") -> list[str]:
        """Stems of the assignment's notebooks in an nbgrader step folder (what nbgrader
        grades, hands out, ...), in exercise order."""
        return sorted((p.stem for p in self.step_dir(step).glob("*.ipynb")), key=exercise_order)

    def release_notebooks(self) -> list[str]:
        """Stems of the release notebooks present, in exercise order."""
        return self.notebooks("release")

    def graded_cells(self) -> list[tuple[str, str, float]]:
        """(notebook, cell, max points) for every graded cell of the source notebooks, in
        exercise and notebook order."""
        import nbformat

        cells = []
        for stem in self.notebooks():
            for cell in nbformat.read(str(self.step_dir("source") / f"{stem}.ipynb"), as_version=4).cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("grade"):
                    cells.append((stem, meta["grade_id"], float(meta["points"])))
        return cells

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

