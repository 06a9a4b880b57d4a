"""Benchmark: what judging tests in a second kernel costs per notebook.

Runs each exercise's filled-in solution through nbgrader's plain `Execute` (tests in the
student's kernel) and through `lrcourse.verify.VerifiedExecute` (tests in a fresh
verifier kernel), both with the course's configured (sandboxed) kernel, `--repeat`
times each, alternating, and prints the median seconds per notebook and the difference.
It also checks that both ways give every test cell the same pass/fail.

    .venv/bin/python benchmarks/verifier_cost.py --repeat 3

It measures and prints; it asserts nothing about speed (no timed tests).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "grader_tests"))

from helpers import release_nb, source_nb  # noqa: E402
from nbgrader.preprocessors import Execute  # noqa: E402
from nbgrader.utils import determine_grade  # noqa: E402

from lrcourse.course import Course  # noqa: E402
from lrcourse.execute import autograde_env, load_config  # noqa: E402
from lrcourse.notebooks import fill_answers, solution_answers  # noqa: E402
from lrcourse.verify import VerifiedExecute  # noqa: E402


def passes(nb) -> dict[str, bool]:
    return {c.metadata.nbgrader["grade_id"]: determine_grade(c)[0] == determine_grade(c)[1]
            for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


def run(step, nb) -> tuple[float, dict[str, bool]]:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, autograde_env():
        out, _ = step.preprocess(nb, {"metadata": {"path": folder}})
    return time.perf_counter() - start, passes(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = load_config(str(ROOT))
    stems = Course(ROOT).notebooks()
    print(f"{'notebook':<26}{'Execute s':>11}{'verified s':>12}{'extra s':>9}  same verdicts")
    extra = []
    for stem in stems:
        src = source_nb(stem)
        plain_t, verified_t, same = [], [], True
        for _ in range(args.repeat):
            nb = fill_answers(release_nb(stem), solution_answers(src))
            t, plain = run(Execute(config=config), nb)
            plain_t.append(t)
            nb = fill_answers(release_nb(stem), solution_answers(src))
            t, verified = run(VerifiedExecute(config=config, reference=src), nb)
            verified_t.append(t)
            same = same and plain == verified
        p, v = statistics.median(plain_t), statistics.median(verified_t)
        extra.append(v - p)
        print(f"{stem:<26}{p:>11.2f}{v:>12.2f}{v - p:>9.2f}  {'yes' if same else 'NO'}")
    print(f"mean extra seconds per notebook: {statistics.mean(extra):.2f}")


if __name__ == "__main__":
    main()
