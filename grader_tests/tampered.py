"""Tampered submissions: students who try to get points they have not earned.

Each `Tamper` is exercise 1 submitted with the solution's answers except where it
says otherwise, then tampered with: answer cells replaced (`answers`), the notebook
edited (`edit`), or the file replaced by raw text (`raw`). The tamper suite
(grader_tests/test_tamper.py) grades them all in one batch and checks for each:

* no undeserved point: every test cell in `zero` scores 0 (None = the whole
  notebook); no cell scores more than its points in the source;
* the batch continues: an honest student graded after them gets full marks;
* a clear reason: `reason` (a regex) matches what grading reports for the student:
  the autograded notebook's outputs, nbgrader's log for it, or its review flags
  (lrcourse.tamper).

`__ROOT__` and `__PORT__` in answers are replaced by the scratch course's root and
the port of a server the suite runs on the grader's loopback, which answers with the
reference coefficient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import nbformat
from nbformat.notebooknode import NotebookNode

from lrcourse.scenarios import code

STEM = "ex1_probability_curve"
MODEL_TESTS = "ex1_model_tests"
WRONG_MODEL = "model = None\ncoef_files = 1.0"


@dataclass(frozen=True)
class Tamper:
    name: str
    reason: str
    zero: tuple[str, ...] | None = (MODEL_TESTS,)
    answers: dict[str, str] = field(default_factory=dict)
    edit: Callable[[NotebookNode], None] | None = None
    raw: str | None = None
    sandbox: bool = False  # closed by the sandbox (not by nbgrader or the hidden tests)


def tamper(name: str, reason: str, *, zero=(MODEL_TESTS,), edit=None, raw=None, sandbox=False, **answers) -> Tamper:
    parts = {k: v if isinstance(v, tuple) else (v,) for k, v in answers.items()}
    return Tamper(f"tampered-{name}", reason, zero, {k: code(*v) for k, v in parts.items()}, edit, raw, sandbox)


def cell(nb: NotebookNode, grade_id: str) -> NotebookNode:
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _edit_test(nb):
    cell(nb, MODEL_TESTS).source = "# Checks model and coef_files: a fitted model and its files_changed coefficient.\npass"


def _delete_test(nb):
    nb.cells.remove(cell(nb, MODEL_TESTS))


def _test_to_markdown(nb):
    old = cell(nb, MODEL_TESTS)
    new = nbformat.v4.new_markdown_cell("Tests? What tests?", id=old.id)
    new.metadata = old.metadata
    nb.cells[nb.cells.index(old)] = new


def _points(nb):
    for c in nb.cells:
        meta = c.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            meta["points"] = 100


def _grade_id(nb):
    c = cell(nb, MODEL_TESTS)
    c.metadata.nbgrader["grade_id"] = "ex1_model_tests_mine"
    c.id = "ex1_model_tests_mine"
    c.source = "pass"


def _not_graded(nb):
    c = cell(nb, MODEL_TESTS)
    c.metadata.nbgrader.update(grade=False, locked=False, solution=True)
    c.metadata.nbgrader.pop("points", None)
    c.source = "pass"


def _duplicate(nb):
    original = cell(nb, MODEL_TESTS)
    copy = nbformat.from_dict(original)
    copy.id = "ex1_model_tests-copy"
    copy.source = "pass"
    nb.cells.insert(nb.cells.index(original), copy)
    original.source = "pass"


def _cells_removed(nb):
    keep = {"ex1_intro", "ex1_setup", "ex1_data", "ex1_data_tests"}
    nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in keep]


def _kernel(nb):
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "Nope", "language": "python"}


def _move_test(nb):
    """The data test moved after the read-only cell that re-creates the chapter's data."""
    test = cell(nb, "ex1_data_tests")
    nb.cells.remove(test)
    nb.cells.insert(nb.cells.index(cell(nb, "ex1_data_checkpoint")) + 1, test)


WRONG_DATA = """
    rng = np.random.default_rng(0)
    deploy_data = pd.DataFrame({c: rng.integers(0, 2, 500) for c in
        ['files_changed', 'hours_since_last_deploy', 'is_friday', 'test_coverage_pct', 'failed']})
"""
# An IPython AST transformer that wraps every later cell in try/except (reached without
# naming get_ipython), and a hook that emits a non-numeric execute_result before each cell.
SWALLOW_ERRORS = """
    import ast
    class _Swallow(ast.NodeTransformer):
        def visit_Module(self, node):
            handler = ast.ExceptHandler(type=ast.Name('BaseException', ast.Load()), name=None, body=[ast.Pass()])
            node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
            return ast.fix_missing_locations(node)
    exit._ip.ast_transformers.append(_Swallow())
"""
FAKE_RESULT = """
    _ip = exit._ip
    _ip.events.register('pre_run_cell', lambda *args: _ip.displayhook('full marks'))
"""
READ_TESTS = """
    _seen = []
    exit._ip.events.register('pre_run_cell', lambda info: _seen.append(info.raw_cell))
"""
# What the hook recorded, in one line: the cells it saw, how many were hand-overs, how many held test code.
SEEN_SUMMARY = """
    _before = _seen[:-1]  # the cells before this one (which names what it looks for)
    _test_code = [c for c in _before if '_REF_' in c or 'BEGIN HIDDEN TESTS' in c or 'assert ' in c]
    print(f"SEEN: {len(_before)} cells, {sum('_lrc_hand_over(' in c for c in _before)} hand-overs, "
          f"{len(_test_code)} with test code")
"""
SOLUTION_CROSSING = """
    params = model.params
    others = deploy_data[feature_names].mean()
    files_at_half = float(-(params['const'] + sum(params[k] * others[k] for k in feature_names[1:]))
                          / params['files_changed'])
"""

READ_REF = """
    import re
    model = None
    coef_files = float(re.search(r'_REF_COEF = ([-0-9.e]+)', {}).group(1))
"""

TAMPERS = [
    # --- nbgrader's robustness: cells and metadata (closed by OverwriteCells; flagged by lrcourse.tamper)
    tamper("edited-test-cell", r"test cell ex1_model_tests edited", edit=_edit_test, ex1_model=WRONG_MODEL),
    tamper("deleted-test-cell", r"test cell ex1_model_tests deleted", edit=_delete_test, ex1_model=WRONG_MODEL),
    tamper("test-cell-to-markdown", r"ex1_model_tests changed from code to markdown", edit=_test_to_markdown,
           ex1_model=WRONG_MODEL),
    tamper("metadata-points", r"metadata of ex1_model_tests edited \(points 1.5 -> 100\)", zero=(),
           edit=_points),
    tamper("metadata-grade-id", r"unknown cell id ex1_model_tests_mine", edit=_grade_id, ex1_model=WRONG_MODEL),
    tamper("metadata-not-graded", r"metadata of ex1_model_tests edited", edit=_not_graded,
           ex1_model=WRONG_MODEL),
    tamper("duplicated-cells", r"cell ex1_model_tests duplicated", edit=_duplicate, ex1_model=WRONG_MODEL),
    tamper("cells-removed", r"answer cell ex1_model deleted", zero=("ex1_model_tests", "ex1_curve_tests",
           "ex1_curve_tests_shape", "ex1_plot_tests", "ex1_crossing_tests"), edit=_cells_removed),
    tamper("unknown-kernel", r"claims kernel 'no-such-kernel'", zero=(), edit=_kernel),
    tamper("corrupt-notebook", r"not a notebook \(not JSON", zero=None,
           raw='{"cells": [{"cell_type": "code", "source": "coef_files = 1.0'),
    # --- lying objects and replaced tools (closed by hardened hidden tests)
    tamper("eq-always-true", r"AssertionError", zero=(MODEL_TESTS, "ex1_crossing_tests"),
           ex1_model="""
               class _Yes(float):
                   def __eq__(self, other): return True
                   __le__ = __ge__ = __lt__ = __gt__ = __eq__
                   def __abs__(self): return _Yes(0.0)
                   def __sub__(self, other): return _Yes(0.0)
               class _YesArray(np.ndarray):
                   def __eq__(self, other): return np.ones(np.shape(self), bool)
                   __le__ = __ge__ = __lt__ = __gt__ = __eq__
               model = None
               coef_files = _Yes(1.0)
           """,
           ex1_crossing="files_at_half = np.array([20.0]).view(_YesArray)"),
    tamper("monkeypatched-numpy", r"replaces np\.allclose", zero=("ex1_data_tests",),
           ex1_data="""
               rng = np.random.default_rng(0)
               deploy_data = pd.DataFrame({c: rng.integers(0, 2, 500) for c in
                   ['files_changed', 'hours_since_last_deploy', 'is_friday', 'test_coverage_pct', 'failed']})
               np.allclose = lambda *args, **kwargs: True
               np.isclose = lambda *args, **kwargs: np.ones(np.shape(args[0]), bool)
           """),
    tamper("monkeypatched-builtins", r"imports builtins", zero=(MODEL_TESTS, "ex1_crossing_tests"),
           ex1_model="""
               import builtins
               builtins.abs = lambda x: 0.0
               model = None
               coef_files = 1.0
           """,
           ex1_crossing="files_at_half = 20.0"),
    tamper("shadowed-builtins", r"AssertionError", zero=(MODEL_TESTS,),
           ex1_model="""
               def abs(x):
                   return 0.0
               model = None
               coef_files = 1.0
           """),
    # --- the student's kernel rewrites the verdict (closed by the verifier: tests never run there)
    tamper("ast-transformer-swallows-errors", r"uses \._ip", zero=("ex1_data_tests", MODEL_TESTS),
           ex1_data=SWALLOW_ERRORS, ex1_model=WRONG_MODEL),
    tamper("hook-fakes-execute-result", r"uses \.events", zero=("ex1_data_tests", MODEL_TESTS),
           ex1_data=FAKE_RESULT, ex1_model=WRONG_MODEL),
    tamper("vars-shadows-builtins", r"edits a namespace \(vars\)", zero=(MODEL_TESTS,), ex1_model="""
               vars()['getattr'] = lambda *args: None
               vars()['abs'] = lambda x: 0.0
               vars()['isinstance'] = lambda *args: True
               model = None
               coef_files = 1.0
           """),
    tamper("stand-in-numpy", r"AssertionError", zero=("ex1_data_tests",), ex1_data=(WRONG_DATA, """
               class _AgreeableNumpy:
                   def __getattr__(self, name):
                       return getattr(_real_np, name)
                   @staticmethod
                   def allclose(*args, **kwargs):
                       return True
               _real_np = np
               np = _AgreeableNumpy()
           """)),
    tamper("vars-patches-numpy", r"edits a namespace \(vars\)", zero=("ex1_data_tests",), ex1_data=(WRONG_DATA, """
               vars(np)['allclose'] = lambda *args, **kwargs: True
               vars(np)['array_equal'] = lambda *args, **kwargs: True
           """)),
    tamper("hook-reads-hidden-tests", r"uses \.events", zero=("ex1_data_tests",), ex1_data=READ_TESTS,
           ex1_crossing=(SOLUTION_CROSSING, SEEN_SUMMARY)),
    tamper("moved-test-cell", r"cells moved", zero=("ex1_data_tests",), ex1_data=WRONG_DATA, edit=_move_test),
    # --- the kernel's process (closed by nbgrader's timeout, the sandbox's limits; see the pipeline requests)
    tamper("sys-exit", r"SystemExit", ex1_model="import sys\nsys.exit(0)"),
    tamper("os-exit", r"Kernel died|DeadKernelError", zero=None, ex1_model="import os\nos._exit(0)"),
    tamper("infinite-loop", r"CellTimeoutError", ex1_model="while True:\n    pass"),
    tamper("infinite-loop-swallowing-interrupt", r"Timeout waiting for IOPub|CellTimeoutError", zero=None,
           ex1_model="""
               import time
               while True:
                   try:
                       time.sleep(0.05)
                   except BaseException:
                       pass
           """),
    tamper("memory-bomb", r"MemoryError", sandbox=True,
           ex1_model="_bomb = np.ones(5 * 2**30 // 8)  # 5 GiB, touched\nmodel = None\ncoef_files = 1.0"),
    tamper("huge-images", r"bytes of output removed|dropped by the grader", ex1_model="""
               from IPython.display import display
               for _ in range(3):
                   display({'image/png': 'iVBORw0KGgo' + 'A' * 10_000_000}, raw=True)
               model = None
               coef_files = 1.0
           """),
    tamper("print-100mb", r"dropped by the grader|bytes of output removed",
           ex1_model="print('x' * 100_000_000)\nmodel = None\ncoef_files = 1.0"),
    # --- the grader's files and network (closed by the sandbox)
    tamper("read-source", r"FileNotFoundError", sandbox=True,
           ex1_model=READ_REF.format("open('../../../source/logistic_regression/ex1_probability_curve.ipynb').read()")),
    tamper("read-source-absolute", r"FileNotFoundError", sandbox=True,
           ex1_model=READ_REF.format("open('__ROOT__/source/logistic_regression/ex1_probability_curve.ipynb').read()")),
    tamper("read-gradebook", r"OperationalError|unable to open", sandbox=True,
           ex1_model=READ_REF.format(
               "str(__import__('sqlite3').connect('file:__ROOT__/gradebook.db?mode=ro', uri=True)"
               ".execute(\"select source from source_cell where name = 'ex1_model_tests'\").fetchall())")),
    tamper("read-notebook", r"FileNotFoundError", sandbox=True,
           ex1_model=READ_REF.format("open('ex1_probability_curve.ipynb').read()")),
    tamper("network-request", r"ConnectionRefusedError|Network is unreachable|OSError", sandbox=True,
           ex1_model="""
               import socket
               model = None
               with socket.create_connection(('127.0.0.1', __PORT__), timeout=5) as _s:
                   coef_files = float(_s.recv(100).decode())
           """),
    tamper("write-outside-submission", r"Read-only file system|No such file or directory|Permission denied",
           sandbox=True,
           ex1_model="""
               _errors = []
               for _path in ['../../../PWNED-relative', '__ROOT__/PWNED-absolute', '__ROOT__/source/PWNED']:
                   try:
                       with open(_path, 'w') as _f:
                           _f.write('pwned')
                   except OSError as _e:
                       _errors.append(f'{type(_e).__name__}: {_e.strerror}')
               print(_errors)
               model = None
               coef_files = 1.0
           """),
]


def tampered_notebook(solution_filled: NotebookNode, t: Tamper, *, root: str, port: int) -> NotebookNode | str:
    """The notebook (or raw text) a tampering student submits, from the filled-in solution."""
    if t.raw is not None:
        return t.raw
    nb = nbformat.from_dict(solution_filled)
    for grade_id, source in t.answers.items():
        cell(nb, grade_id).source = source.replace("__ROOT__", root).replace("__PORT__", str(port))
    if t.edit:
        t.edit(nb)
    return nb
