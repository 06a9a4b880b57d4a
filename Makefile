# One task runner for people and CI. Works on a machine with only python3 (>= 3.11),
# git and make: uv is bootstrapped into .tools/ when it is not on PATH.
PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
VENV_BIN := .venv/bin
# Compile bytecode at install time: this machine sets PYTHONDONTWRITEBYTECODE=1, and
# without it every kernel start would recompile scikit-learn.
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup demo test quick lint build examples template clean

setup: .venv/.installed .venv/.sandbox

# The grading sandbox: its user (root only) and kernelspec; see docs/sandbox.md.
.venv/.sandbox: .venv/.installed src/lrcourse/sandbox/setup.py src/lrcourse/sandbox/__init__.py
	$(VENV_BIN)/lrcourse sandbox
	touch $@

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet uv

# The course's own package is installed editable (src/): it is compiled too, or where
# PYTHONDONTWRITEBYTECODE is set every sandbox launcher (two a graded notebook) compiles
# its modules again (7 ms of CPU a kernel).
.venv/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	$(VENV_BIN)/python -m compileall -q src/lrcourse
	$(VENV_BIN)/lrcourse kernel
	touch $@

## demo: grade the bundled example submissions (autograde, feedback, grades.csv)
demo: setup
	$(VENV_BIN)/lrcourse demo

## test: lint, then the tests of the course (grader_tests/)
test: setup lint
	$(VENV_BIN)/pytest

## quick: the fast lane while editing one exercise (after `make build`): make quick EX=ex2
quick: setup
	LRCOURSE_EXERCISE=$(EX) LRCOURSE_FAST_GRADING=1 $(VENV_BIN)/pytest -m "not slow"

lint: setup
	$(VENV_BIN)/ruff check src grader_tests exercises benchmarks nbgrader_config.py jupyter_server_config.py

## build: regenerate source/, release/, solutions/ from exercises/<stem>/<stem>.py
build: setup
	$(VENV_BIN)/lrcourse build

## examples: regenerate the bundled example submissions from the scenarios
examples: setup
	$(VENV_BIN)/lrcourse examples

## template: regenerate student-template/ (the repository students get) from release/
template: setup
	$(VENV_BIN)/lrcourse template

clean:
	rm -rf .venv .tools submitted gradebook.db .pytest_cache .ruff_cache
