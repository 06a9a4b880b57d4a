"""Instructor tooling for the logistic-regression nbgrader course."""

import os
import sys

# nbgrader's Gradebook runs `alembic` as a subprocess when it creates a database, and
# finds it on PATH: make this environment's bin the first place it looks, even when
# the tool was started by absolute path (.venv/bin/lrcourse) without activating it.
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([_BIN, os.environ.get("PATH", "")])

# jsonschema (under nbformat and nbgrader) registers an optional check of the "iri" formats by
# importing rfc3987_syntax, which builds a Lark grammar as it is imported: 0.74 s of CPU at the
# start of every lrcourse process that reads a notebook (`lrcourse grade`, each of its workers).
# No schema these processes validate names those formats (nbformat's and nbgrader's: test_units),
# so they go without it, as jsonschema does where the package is not installed.
sys.modules.setdefault("rfc3987_syntax", None)
