"""Instructor tooling for the logistic-regression nbgrader course."""

import os
import sys

# nbgrader's Gradebook runs `alembic` as a subprocess when it creates a database, and
# finds it on PATH: make this environment's bin the first place it looks, even when
# the tool was started by absolute path (.venv/bin/lrcourse) without activating it.
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_BIN, os.environ.get("PATH", "")])
