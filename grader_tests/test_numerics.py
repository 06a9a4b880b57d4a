"""Grades do not depend on the grading machine: the numerics matrix.

Every scenario (the blank release, each correct approach, each mistake) is scored under
several BLAS configurations (OpenBLAS core types, one and two threads) and under
perturbations of every fitted model (coefficients moved by a relative 1e-12 and predicted
probabilities by 4 ulps, in both directions). Each run is numerics_runner.py in its
own process; a test proves its scores equal real `nbgrader autograde` scores.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import BLANK, COURSE, EXERCISES, FAST_GRADING, run_scores, scenario_problems

from lrcourse.scenarios import scenarios_for

pytestmark = pytest.mark.slow  # not in the fast lane: a dozen gradings of every scenario

# OpenBLAS kernels this matrix may force, with the CPU flags each one needs (SSE3 is "pni").
CORE_TYPES = {"Prescott": {"pni"}, "Nehalem": {"sse4_2"}, "Sandybridge": {"avx"}, "Haswell": {"avx2", "fma"}}
# The default kernel (Haswell on this course's machines) with one thread is what grading
# runs (one BLAS thread per kernel): the reference every other run is compared with.
BLAS_CONFIGS = {
    "default-1-thread": ("", 1),
    "Prescott-2-threads": ("Prescott", 2),
    "Nehalem-1-thread": ("Nehalem", 1),
    "Sandybridge-2-threads": ("Sandybridge", 2),
}
# What OpenBLAS (threadpoolctl) calls the kernel a core type selects.
KERNEL_NAMES = {"Prescott": {"prescott", "katmai"}}
# Each run moves every fitted model both ways at once: coefficients by a relative 1e-12,
# then predicted probabilities by 4 ulps, up in one run and down in the other.
PERTURBATIONS = ["coef+1e-12,proba+4", "coef-1e-12,proba-4"]
REFERENCE = "default-1-thread"


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return set(next((line.split(":", 1)[1] for line in text.splitlines() if line.startswith("flags")), "").split())


def why_not(config: str) -> str | None:
    """Why this machine cannot run a configuration, or None."""
    core, _ = BLAS_CONFIGS.get(config, ("", 1))
    if not core:
        return None
    if os.environ.get("OPENBLAS_CORETYPE"):
        # Set by the machine because other kernels crash or compute wrong results on its CPU.
        return f"this machine sets OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}; it is not overridden"
    missing = CORE_TYPES[core] - cpu_flags()
    return f"this CPU lacks {sorted(missing)} for the {core} kernel" if missing else None


def run(config: str, out: Path, stems: list[str] = EXERCISES) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_NUM", "OMP_NUM", "MKL_NUM"))}
    core, threads = BLAS_CONFIGS.get(config, ("", 1))
    env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if core:
        env["OPENBLAS_CORETYPE"] = core
    perturb = [] if config in BLAS_CONFIGS else ["--perturb", config]
    return run_scores(stems, out, perturb, env)


@pytest.fixture(scope="session")
def matrix(tmp_path_factory) -> dict[str, dict]:
    """{configuration or perturbation: the runner's result}, two runs at a time."""
    base = tmp_path_factory.mktemp("numerics")
    configs = [c for c in [*BLAS_CONFIGS, *PERTURBATIONS] if why_not(c) is None]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {c: pool.submit(run, c, base / f"{c}.json") for c in configs}
        results = {c: f.result() for c, f in futures.items()}
    summary = {c: {"seconds": r["seconds"], "blas": r["blas"]} for c, r in results.items()}
    (base / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"\nnumerics matrix: {json.dumps(summary)}")
    return results


def problems(scores: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Where a run's scores break the scenarios' promises: blank zero, correct full, mistakes exact."""
    found = []
    for stem in scores:
        promises = {BLANK: None, **{s.name: s.loses for s in scenarios_for(stem, COURSE)}}
        for student, loses in promises.items():
            got = scores[stem].get(student)
            broken = ["not scored"] if got is None else scenario_problems(stem, got, loses)
            found += [f"{stem}/{student}: {p}" for p in broken]
    return found


def test_the_runner_scores_like_nbgrader_autograde(graded, matrix):
    if FAST_GRADING:
        pytest.skip("LRCOURSE_FAST_GRADING=1: `graded` holds the runner's own scores")
    runner = matrix[REFERENCE]["scores"]
    differ = []
    for stem in EXERCISES:
        for student, rows in graded[stem].items():
            real = {r.cell: r.score for r in rows if r.auto}
            if real != runner[stem][student]:
                differ.append(f"{stem}/{student}: nbgrader {real} runner {runner[stem][student]}")
    assert not differ, "\n".join(differ)


@pytest.mark.parametrize("config", list(BLAS_CONFIGS))
def test_every_scenario_keeps_its_grade_under_blas_configuration(matrix, config):
    if why_not(config):
        pytest.skip(why_not(config))
    result = matrix[config]
    core, threads = BLAS_CONFIGS[config]
    openblas = [b for b in result["blas"] if b["internal_api"] == "openblas"]
    assert openblas, f"no OpenBLAS under {config}: {result['blas']}"
    for lib in openblas:
        assert lib["num_threads"] == threads, f"{config} ran {lib}"
        assert not core or lib["architecture"].lower() in KERNEL_NAMES.get(core, {core.lower()}), f"{config} ran {lib}"
    found = problems(result["scores"])
    assert not found, f"under {config}:\n" + "\n".join(found) + "\n" + json.dumps(result["why"])[:3000]
    assert result["scores"] == matrix[REFERENCE]["scores"]


@pytest.mark.parametrize("perturbation", PERTURBATIONS)
def test_every_scenario_keeps_its_grade_when_fitted_models_move_in_their_last_digits(matrix, perturbation):
    result = matrix[perturbation]
    found = problems(result["scores"])
    assert not found, f"under {perturbation}:\n" + "\n".join(found) + "\n" + json.dumps(result["why"])[:3000]
    assert result["scores"] == matrix[REFERENCE]["scores"]


def test_a_perturbation_large_enough_to_matter_is_caught(tmp_path):
    """The perturbations reach the grades: moving every model by 10% fails the correct solutions."""
    stems = [s for s in EXERCISES if not s.startswith("ex4")][:1]  # ex4 fits no model
    if not stems:
        pytest.skip("no exercise with a fitted model is selected")
    result = run("coef+0.1", tmp_path / "big.json", stems)
    assert problems(result["scores"]), "a 10% change in every fitted model changed no grade"


@pytest.mark.skipif("ex2_decision_thresholds" not in EXERCISES, reason="exercise 2 is not selected")
def test_a_threshold_chosen_for_p_greater_than_threshold_is_told_the_rule(matrix):
    why = matrix[REFERENCE]["why"]["ex2_decision_thresholds"]
    for cell in ("ex2_best_f1_tests_optimum", "ex2_recall90_tests_optimum"):
        assert "the rule here is p >= threshold" in why["strict-inequality-rule"][cell]
        assert "search every distinct predicted probability" in why["coarse-grid-0.05"][cell]
