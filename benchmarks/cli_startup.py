"""Benchmark: how long the `lrcourse` command takes when it has (almost) nothing to do.

Times, as wall-clock seconds of the whole process, `--runs` times each:

  help         `lrcourse --help`
  grade fresh  `lrcourse grade` in a fresh scratch course with nothing submitted (a new
               copy every run: no gradebook, nothing graded before)
  grade again  `lrcourse grade` once more in the same scratch course
  nbgrader     `python -c "import nbgrader"`: the floor of any verb that asks nbgrader's
               CourseDirectory where the course's folders are

and prints the median, the fastest and the slowest run, with the machine's load average
(other work on the machine slows every number). The scratch course is a copy of this
repository's nbgrader_config.py, source/ and release/.

    .venv/bin/python benchmarks/cli_startup.py --runs 5

It measures and prints; it asserts nothing about speed (no timed tests). For where the
time goes: `.venv/bin/python -X importtime -c "import lrcourse.grade"`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("nbgrader_config.py", "source", "release")


def scratch_course(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in COPIED:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, folder / name)
    return folder


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each command (default: 5)")
    parser.add_argument("--lrcourse", default=str(Path(sys.executable).with_name("lrcourse")),
                        help="the lrcourse executable (default: the one beside this Python)")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"help": [], "grade fresh": [], "grade again": [], "nbgrader": []}
    python = str(Path(args.lrcourse).with_name("python"))
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="lrcourse-startup-") as tmp:
        for run in range(args.runs):
            course = scratch_course(Path(tmp) / f"course-{run}")
            times["help"].append(timed([args.lrcourse, "--help"], course))
            times["grade fresh"].append(timed([args.lrcourse, "grade", "--no-progress"], course))
            times["grade again"].append(timed([args.lrcourse, "grade", "--no-progress"], course))
            times["nbgrader"].append(timed([python, "-c", "import nbgrader"], course))
            load.append(os.getloadavg()[0])
    print(f"{args.runs} runs each; 1-minute load average {min(load):.2f} to {max(load):.2f} "
          f"on {os.cpu_count()} cores")
    print(f"{'command':<14}{'median s':>10}{'min s':>8}{'max s':>8}")
    for name, values in times.items():
        print(f"{name:<14}{statistics.median(values):>10.2f}{min(values):>8.2f}{max(values):>8.2f}")


if __name__ == "__main__":
    main()
