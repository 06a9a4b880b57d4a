"""What each test cell reads: its declaration, and the build's check of it against the code.

A test cell's first line declares the answers it reads (the build writes it from the
`reads=` of the authoring header, lrcourse.notebooks):

    # Answers read by this test: files_grid, p_fail

The verifier (lrcourse.verify) hands over exactly these names from the student's kernel,
so a declaration that misses a name would make the test fail for everyone; the build
refuses it (`check_declarations`).
"""

from __future__ import annotations

import ast
import builtins
import re

from nbformat.notebooknode import NotebookNode

# How the verifier begins a line it adds to a test cell's output (lrcourse.tamper flags them).
VERIFIER_NOTE = "Note from the grader: "
READS_PREFIX = "# Answers read by this test: "
READS_LINE = re.compile(r"^# Answers read by this test: ([A-Za-z_][A-Za-z0-9_]*(?:, [A-Za-z_][A-Za-z0-9_]*)*)\s*$")


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def kind(cell) -> str:
    """`test`, `given` (read-only code), `answer`, or `other` (markdown, added cells)."""
    meta = nbgrader_meta(cell)
    if cell.get("cell_type") != "code" or not meta.get("grade_id"):
        return "other"
    if meta.get("grade") and not meta.get("solution"):
        return "test"
    if meta.get("solution"):
        return "answer"
    return "given" if meta.get("locked") else "other"


def declared_reads(source: str) -> list[str] | None:
    """The names a test cell's first line declares, or None without a declaration."""
    m = READS_LINE.match(source.split("\n", 1)[0])
    return m.group(1).split(", ") if m else None


def reads_line(names: list[str]) -> str:
    return READS_PREFIX + ", ".join(names)


# --- the build's check of the declarations ---------------------------------------------------

def _scoped_stores(tree: ast.AST) -> set[str]:
    """Names a cell binds in the notebook's namespace (not inside its functions or classes)."""
    stores: set[str] = set()
    todo = list(ast.iter_child_nodes(tree))
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            stores.add(node.name)
            continue
        if isinstance(node, ast.Lambda | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            stores.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            stores.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            stores.add(node.name)
        todo.extend(ast.iter_child_nodes(node))
    return stores


def _free_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(names a cell reads that it does not bind anywhere itself, identifier strings it names)."""
    loads, bound, strings = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
            strings.add(node.value)
    return loads - bound - set(dir(builtins)), strings


def check_declarations(nb: NotebookNode, answer_sources: dict[str, str] | None = None) -> list[str]:
    """What is wrong with the test cells' declarations of what they read (empty: all right).

    Walks the cells in order and remembers which kind of cell last bound each name
    (given, answer, test). A test must declare exactly the names it reads whose last
    binder is an answer cell (a name it only mentions as a string, as in
    `'model' in dir()`, may be declared too); it may read no name that nothing binds.
    A read-only cell must not read answers: the verifier runs it without them.
    `answer_sources` replaces the answer cells' code (the solutions, for a release notebook).
    """
    problems, origin = [], {}
    for cell in nb.cells:
        what, gid = kind(cell), nbgrader_meta(cell).get("grade_id")
        source = (answer_sources or {}).get(gid, cell.source) if what == "answer" else cell.source
        if what == "other":
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError as err:
            if what != "answer":
                problems.append(f"{gid}: not valid Python ({err.msg}, line {err.lineno})")
            continue
        free, strings = _free_names(tree)
        if what == "given":
            answers = sorted(n for n in free if origin.get(n) == "answer")
            if answers:
                problems.append(f"{gid}: a read-only cell reads answers {answers} (the verifier runs it without them)")
        if what == "test":
            declared = declared_reads(source)
            needed = {n for n in free if origin.get(n) == "answer"}
            mentioned = {n for n in strings if origin.get(n) == "answer"}
            unknown = sorted(n for n in free if n not in origin)
            if unknown:
                problems.append(f"{gid}: reads {unknown}, which no earlier cell defines")
            if declared is None:
                problems.append(f"{gid}: no first line `{READS_PREFIX}...`")
            else:
                if needed - set(declared):
                    problems.append(f"{gid}: reads {sorted(needed - set(declared))} without declaring them")
                if set(declared) - needed - mentioned:
                    problems.append(f"{gid}: declares {sorted(set(declared) - needed - mentioned)}, which it does "
                                    "not read (or which no answer cell defines)")
        for name in _scoped_stores(tree):
            origin[name] = what
    return problems


