"""Review flags: what in a submission looks like tampering, for a person to look at.

Grading never trusts a submission (nbgrader restores read-only and test cells, the
sandbox locks the kernel in, hardened tests check their tools); these flags say *why*
a submission deserves a look, so that exports and the grading status can show it.
Each flag is one line. Three sources, one function each:

  structure_flags  the submitted notebook against the release: read-only or test
                   cells edited, deleted, retyped, duplicated; nbgrader metadata edited;
                   unknown grade ids; another kernel
  code_flags       answer cells that reach for the grader's machinery (IPython's
                   internals, builtins, numpy's functions, the process, files, network)
  handover_flags   answers the student's kernel could not hand over to the verifier
                   (lrcourse.verify): the tests that read them scored zero
"""

from __future__ import annotations

import ast
import builtins
import json
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from .declarations import VERIFIER_NOTE

METADATA_KEYS = ("grade", "grade_id", "locked", "points", "solution", "task")

# Names whose mere use in an answer cell merits a look (a statistics answer needs none).
SUSPICIOUS_NAMES = {
    "get_ipython": "uses IPython's internals (get_ipython)",
    "__builtins__": "touches __builtins__",
    "builtins": "touches the builtins module",
    "exec": "runs generated code (exec)",
    "eval": "runs generated code (eval)",
    "compile": "compiles code (compile)",
    "__import__": "imports by name (__import__)",
    "setattr": "sets attributes by name (setattr)",
    "globals": "edits the namespace (globals)",
    "vars": "edits a namespace (vars)",
}
SUSPICIOUS_MODULES = {
    "ctypes", "gc", "inspect", "importlib", "signal", "socket", "subprocess", "sqlite3", "urllib", "http",
    "requests", "shutil", "pty", "multiprocessing", "threading", "sys", "os", "pathlib", "io", "builtins",
    "IPython", "ipykernel", "nbformat", "nbgrader",
}
# (In an imported module `__builtins__` is a dict, so `dir(__builtins__)` lists dict methods,
# not the builtins: the names come from the builtins module itself.)
BUILTIN_NAMES = frozenset(name for name in vars(builtins) if not name.startswith("_"))
DUNDER_LIES = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__",
               "__abs__", "__array__", "__len__", "__getattr__", "__instancecheck__"}


def _meta(cell) -> dict:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def _by_id(nb: NotebookNode) -> dict[str, list]:
    cells: dict[str, list] = {}
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id")
        if gid:
            cells.setdefault(gid, []).append(cell)
    return cells


def read_submission(path: Path) -> tuple[NotebookNode | None, list[str]]:
    """The notebook, or None and the reason it cannot be read as one."""
    try:
        return nbformat.read(str(path), as_version=4), []
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as err:
        return None, [f"{path.name}: not a notebook (not JSON: {str(err)[:80]})"]
    except Exception as err:  # nbformat raises several kinds for broken structure
        return None, [f"{path.name}: not a notebook ({type(err).__name__}: {str(err)[:80]})"]


def structure_flags(submitted: NotebookNode, release: NotebookNode) -> list[str]:
    """Read-only/test cells edited, deleted, retyped, duplicated; metadata edited; unknown ids."""
    flags = []
    mine, theirs = _by_id(submitted), _by_id(release)
    for gid, (ref, *_) in theirs.items():
        meta = _meta(ref)
        kind = "test" if meta.get("grade") and ref.cell_type == "code" else (
            "read-only" if meta.get("locked") else "answer")
        got = mine.get(gid, [])
        if not got:
            flags.append(f"{kind} cell {gid} deleted")
            continue
        if len(got) > 1:
            flags.append(f"cell {gid} duplicated ({len(got)} copies)")
        cell = got[0]
        if cell.cell_type != ref.cell_type:
            flags.append(f"{kind} cell {gid} changed from {ref.cell_type} to {cell.cell_type}")
        if meta.get("locked") and cell.source != ref.source:
            flags.append(f"{kind} cell {gid} edited")
        changed = [k for k in METADATA_KEYS if _meta(cell).get(k) != meta.get(k)]
        if changed:
            detail = ", ".join(f"{k} {meta.get(k)!r} -> {_meta(cell).get(k)!r}" for k in changed)
            flags.append(f"nbgrader metadata of {gid} edited ({detail})")
    for gid in sorted(set(mine) - set(theirs)):
        flags.append(f"unknown cell id {gid} (renamed or added with nbgrader metadata)")
    order = [gid for gid in (_meta(c).get("grade_id") for c in submitted.cells) if gid in theirs]
    expected = [gid for gid in (_meta(c).get("grade_id") for c in release.cells) if gid in mine]
    first_moved = next((gid for gid, want in zip(dict.fromkeys(order), expected, strict=False) if gid != want), None)
    if first_moved:
        flags.append(f"cells moved, from {first_moved} on (grading runs them in the release's order)")
    kernel = submitted.metadata.get("kernelspec", {}).get("name")
    if kernel != release.metadata.get("kernelspec", {}).get("name"):
        flags.append(f"notebook claims kernel {kernel!r} (grading ignores it)")
    return flags


class _Scan(ast.NodeVisitor):
    def __init__(self):
        self.found: list[str] = []
        self.modules: set[str] = set()

    def visit_Import(self, node):
        for alias in node.names:
            self._module(alias.name)
            self.modules.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node):
        self._module(node.module or "")

    def _module(self, name: str):
        if name.split(".")[0] in SUSPICIOUS_MODULES:
            self.found.append(f"imports {name}")

    def visit_Name(self, node):
        if node.id in SUSPICIOUS_NAMES:
            self.found.append(SUSPICIOUS_NAMES[node.id])
        if isinstance(node.ctx, ast.Store) and node.id in BUILTIN_NAMES:
            self.found.append(f"redefines the builtin {node.id}")

    def visit_Assign(self, node):
        for target in node.targets:
            if isinstance(target, ast.Attribute):
                base = target.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in self.modules | {"np", "pd", "numpy", "pandas"}:
                    self.found.append(f"replaces {ast.unparse(target)}")
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        if node.name in DUNDER_LIES:
            self.found.append(f"defines {node.name}")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr in ("_exit", "settrace", "setprofile", "input_transformers_cleanup", "run_cell",
                         "showtraceback", "kernel", "modules", "_ip", "ast_transformers", "events",
                         "displayhook", "display_pub"):
            self.found.append(f"uses .{node.attr}")
        self.generic_visit(node)


def code_flags(submitted: NotebookNode) -> list[str]:
    """Answer cells that reach for the grader's machinery rather than compute an answer."""
    flags = []
    for cell in submitted.cells:
        meta = _meta(cell)
        if cell.cell_type != "code" or meta.get("locked"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue  # IPython magics or broken code: the tests will say
        scan = _Scan()
        scan.visit(tree)
        where = meta.get("grade_id") or "an added cell"
        flags += [f"{where}: {f}" for f in dict.fromkeys(scan.found)]
    return flags


def handover_flags(autograded: NotebookNode) -> list[str]:
    """Answers a test could not receive from the student's kernel (its check scored zero)."""
    flags = []
    for cell in autograded.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                for line in output.get("text", "").splitlines():
                    if line.startswith(VERIFIER_NOTE):
                        flags.append(f"{_meta(cell).get('grade_id')}: {line[len(VERIFIER_NOTE):].strip()}")
    return flags


def review_flags(submitted_path: Path, release: NotebookNode, autograded_path: Path | None = None) -> list[str]:
    """Every reason to look at one submitted notebook; [] when nothing looks tampered with."""
    nb, flags = read_submission(submitted_path)
    if nb is None:
        return flags
    flags = structure_flags(nb, release) + code_flags(nb)
    if autograded_path is not None and autograded_path.is_file():
        flags += handover_flags(nbformat.read(str(autograded_path), as_version=4))
    return flags
