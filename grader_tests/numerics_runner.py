"""Score every scenario of the course in one Python process, as nbgrader would score it.

    python grader_tests/numerics_runner.py --out scores.json [--perturb MODE[,MODE]] STEM [STEM ...]

The numerics matrix (test_numerics.py) runs this script once per BLAS configuration
(OPENBLAS_CORETYPE, thread count: set in its environment, read when numpy loads) and once
per perturbation, and compares the scores. One process grades every notebook: the
libraries load once, each notebook gets a fresh namespace (IPython's own `reset`), which
makes a configuration cost seconds per notebook instead of a kernel start.

What runs is what nbgrader's autograde runs: the source notebook (given cells and test
cells with their hidden tests) with the student's answer cells in it. A test cell scores
its points unless it raised or wrote to stderr, as nbgrader's `determine_grade` scores a
code cell. test_numerics.py checks that these scores equal real `nbgrader autograde`
scores, so the matrix measures the course and not this script.

Perturbations (CPU-independent): every fitted model's numbers are moved after fitting,
as another machine's last digits would move them, before anything reads them:
  coef+REL / coef-REL  scikit-learn coef_/intercept_ and statsmodels params times (1 +/- REL)
  proba+N / proba-N    scikit-learn predict_proba moved N ulps up / down (clipped to [0, 1])
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
ROOT = Path(__file__).resolve().parents[1]


def perturb(modes: str) -> None:
    """Move every fitted model's numbers as each comma-separated mode says (module docstring)."""
    for mode in modes.split(","):
        perturb_one(mode.strip())


def perturb_one(mode: str) -> None:
    """Move every fitted model's numbers as `mode` says."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from statsmodels.discrete.discrete_model import Logit

    kind, _, amount = mode.partition("+") if "+" in mode else mode.partition("-")
    sign = 1.0 if "+" in mode else -1.0
    if kind == "coef":
        factor = 1.0 + sign * float(amount)
        sk_fit, sm_fit = LogisticRegression.fit, Logit.fit

        def fit_sklearn(self, *args, **kwargs):
            result = sk_fit(self, *args, **kwargs)
            self.coef_, self.intercept_ = self.coef_ * factor, self.intercept_ * factor
            return result

        def fit_statsmodels(self, *args, **kwargs):
            result = sm_fit(self, *args, **kwargs)
            result._results.params = result._results.params * factor
            return result

        LogisticRegression.fit, Logit.fit = fit_sklearn, fit_statsmodels
    elif kind == "proba":
        steps = int(amount)
        sk_proba = LogisticRegression.predict_proba

        def predict_proba(self, X):
            p = sk_proba(self, X)
            for _ in range(steps):
                p = np.nextafter(p, sign * np.inf)
            return np.clip(p, 0.0, 1.0)

        LogisticRegression.predict_proba = predict_proba
    else:
        raise SystemExit(f"unknown perturbation {mode!r}")


def graded_notebooks(stem: str):
    """(student, notebook as autograde runs it) for the blank release and every scenario."""
    from lrcourse.course import ASSIGNMENT, Course
    from lrcourse.notebooks import fill_answers, grade_id, read, solution_answers
    from lrcourse.scenarios import scenarios_for

    src = read(ROOT / "source" / ASSIGNMENT / f"{stem}.ipynb")
    rel = read(ROOT / "release" / ASSIGNMENT / f"{stem}.ipynb")
    blank = {grade_id(c): c.source for c in rel.cells if c.metadata.get("nbgrader", {}).get("solution")}
    yield "blank-release", fill_answers(src, blank)
    for scenario in scenarios_for(stem, Course(ROOT)):
        yield scenario.name, fill_answers(src, {**solution_answers(src), **scenario.answers})


def score(shell, nb) -> tuple[dict[str, float], dict[str, str]]:
    """Run a notebook's code cells in a fresh namespace; the points of each test cell, and why any failed."""
    import matplotlib.pyplot as plt
    from IPython.utils.capture import capture_output

    shell.reset(new_session=False)
    plt.close("all")
    warnings._filters_mutated()  # warnings show again, as in a fresh kernel
    scores, why = {}, {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        with capture_output() as captured:
            result = shell.run_cell(cell.source, store_history=False)
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            error = result.error_in_exec or result.error_before_exec
            failed = error is not None or bool(captured.stderr)
            scores[meta["grade_id"]] = 0.0 if failed else float(meta["points"])
            if failed:
                why[meta["grade_id"]] = (f"{type(error).__name__}: {error}" if error else captured.stderr)[:300]
    return scores, why


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--perturb", default="")
    parser.add_argument("stems", nargs="+")
    args = parser.parse_args(argv)

    import threadpoolctl
    from IPython.core.interactiveshell import InteractiveShell

    if args.perturb:
        perturb(args.perturb)
    shell = InteractiveShell.instance()
    results: dict[str, dict] = {"scores": {}, "why": {}}
    start = time.perf_counter()
    os.chdir(tempfile.mkdtemp(prefix="lrcourse-numerics-"))
    for stem in args.stems:
        for student, nb in graded_notebooks(stem):
            scores, why = score(shell, nb)
            results["scores"].setdefault(stem, {})[student] = scores
            if why:
                results["why"].setdefault(stem, {})[student] = why
    results["blas"] = [{k: i.get(k) for k in ("internal_api", "architecture", "num_threads")}
                       for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
    results["seconds"] = round(time.perf_counter() - start, 1)
    Path(args.out).write_text(json.dumps(results, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
