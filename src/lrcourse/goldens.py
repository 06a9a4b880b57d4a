"""Tolerant comparison of committed generated files ("goldens") with a fresh rebuild.

On another CPU or BLAS library floating-point results differ in their last digits, so a
rebuild prints slightly different numbers. This module compares what matters, and
`keep_if_equivalent` puts the committed bytes back when a rebuild is equivalent, so
`make build` / `make demo` leave no noise diffs.

  * notebooks (.ipynb): the kernelspec; the same cells in order (id, cell type, source,
    cell metadata: nbgrader's and the lock flags, execution count); per cell the same
    outputs (output type, stream name, execution count, error name, the set of mime
    types) and, as text (below), stream text, error value and every mime type's data but
    image/png (renderer-dependent). Tracebacks and notebook metadata other than the
    kernelspec (language_info holds the Python patch version) are not compared.
  * UTF-8 files (.csv, .json, .html, .md, ...): as text (below); other files byte for byte.

The text rule: both texts are split into number tokens (optional minus, digits, optional
fraction and exponent) and the text between them, which must be equal. Two numbers agree when
  1. they are the same string; or
  2. neither is an integer (integers are counts, indices, grades such as "3" or execution
     counts, and must be equal) and |a - b| <= max(REL_TOL * max(|a|, |b|), ABS_TOL); or
  3. both are printed with the same number d >= 2 of decimals (of the mantissa, if with an
     exponent) and differ by at most one unit in that last place: a value near a rounding
     boundary flips its last printed digit under noise (0.1234 vs 0.1235, 0.042 vs 0.043).
     With one decimal a one-unit step is a change of 10% or more (0.5 vs 0.6, a grade 2.5
     vs 2.6) and counts as a real difference.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

REL_TOL = 1e-6
ABS_TOL = 1e-9
NUMBER = re.compile(r"(-?\d+(?:\.(\d+))?(?:[eE]([-+]?\d+))?)")
SHOWN = 5  # differences reported per file


def numbers_agree(a: str, b: str) -> bool:
    """Whether two printed number tokens agree under the rule in the module docstring."""
    if a == b:
        return True
    ma, mb = NUMBER.fullmatch(a), NUMBER.fullmatch(b)
    if not ma or not mb or not (ma[2] or ma[3]) or not (mb[2] or mb[3]):
        return False  # an integer on either side must be equal
    x, y = float(a), float(b)
    if abs(x - y) <= max(REL_TOL * max(abs(x), abs(y)), ABS_TOL):
        return True
    decimals = len(ma[2] or "")
    if decimals < 2 or decimals != len(mb[2] or ""):
        return False
    unit = 10.0 ** (max(int(ma[3] or 0), int(mb[3] or 0)) - decimals)
    return abs(x - y) <= unit * (1 + 1e-9)


def _snippet(line: str, at: int) -> str:
    """Up to 80 characters of `line` around position `at`, for a message."""
    start = max(0, at - 30)
    return ("…" if start else "") + line[start:start + 80] + ("…" if len(line) > start + 80 else "")


def text_differences(expected: str, actual: str, where: str) -> list[str]:
    """The first differing line of two texts under the text rule, or [] when they agree."""
    old, new = expected.split("\n"), actual.split("\n")
    if len(old) != len(new):
        return [f"{where}: {len(old)} lines expected, {len(new)} found"]
    for number, (a, b) in enumerate(zip(old, new, strict=True), 1):
        if a == b:
            continue
        pa, pb = NUMBER.split(a), NUMBER.split(b)  # text, number, fraction, exponent, text, ...
        if pa[0::4] == pb[0::4] and all(numbers_agree(x, y) for x, y in zip(pa[1::4], pb[1::4], strict=True)):
            continue
        at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        return [f"{where}, line {number}: expected {_snippet(a, at)!r}, found {_snippet(b, at)!r}"]
    return []


def _text(value: Any) -> str:
    """A notebook field (string, list of lines or JSON data) as one string."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _output_differences(old: dict, new: dict, where: str) -> list[str]:
    """Differences between two outputs of one cell."""
    found = []
    for key in ("output_type", "name", "ename", "execution_count"):
        if old.get(key) != new.get(key):
            found.append(f"{where}: {key} {old.get(key)!r} expected, {new.get(key)!r} found")
    if found:
        return found
    if sorted(old.get("data", {})) != sorted(new.get("data", {})):
        return [f"{where}: mime types {sorted(old.get('data', {}))} expected, {sorted(new.get('data', {}))} found"]
    pairs = [(k, old["data"][k], new["data"][k]) for k in sorted(old.get("data", {})) if k != "image/png"]
    pairs += [(k, old.get(k, ""), new.get(k, "")) for k in ("text", "evalue") if k in old or k in new]
    for key, a, b in pairs:
        found += text_differences(_text(a), _text(b), f"{where} {key}")
    return found


def _merged_streams(outputs: list[dict]) -> list[dict]:
    """Outputs with consecutive prints to the same stream joined: how a print is split into
    messages depends on timing, not on the code (Jupyter shows them as one block)."""
    merged: list[dict] = []
    for out in outputs:
        last = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and last is not None and last.get("output_type") == "stream"
                and last.get("name") == out.get("name")):
            merged[-1] = dict(last, text=_text(last.get("text", "")) + _text(out.get("text", "")))
        else:
            merged.append(out)
    return merged


def notebook_differences(expected: dict, actual: dict, name: str = "notebook") -> list[str]:
    """Differences between two notebooks (parsed JSON) that matter, see the module docstring."""
    found = []
    if expected.get("metadata", {}).get("kernelspec") != actual.get("metadata", {}).get("kernelspec"):
        found.append(f"{name}: kernelspec differs")
    old, new = expected.get("cells", []), actual.get("cells", [])
    if len(old) != len(new):
        return found + [f"{name}: {len(old)} cells expected, {len(new)} found"]
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        where = f"{name} cell {i} ({a.get('id')})"
        for key in ("id", "cell_type", "metadata", "execution_count"):
            if a.get(key) != b.get(key):
                found.append(f"{where}: {key} {a.get(key)!r} expected, {b.get(key)!r} found")
        if _text(a.get("source", "")) != _text(b.get("source", "")):
            found.append(f"{where}: source differs")
        outs_a, outs_b = _merged_streams(a.get("outputs", [])), _merged_streams(b.get("outputs", []))
        if len(outs_a) != len(outs_b):
            found.append(f"{where}: {len(outs_a)} outputs expected, {len(outs_b)} found")
            continue
        for j, (oa, ob) in enumerate(zip(outs_a, outs_b, strict=True)):
            found += _output_differences(oa, ob, f"{where} output {j}")
    return found


def differences(expected: bytes, actual: bytes, name: str) -> list[str]:
    """The first few differences that matter between two versions of the file `name`; [] if equivalent."""
    if expected == actual:
        return []
    if name.endswith(".ipynb"):
        try:
            old, new = json.loads(expected), json.loads(actual)
        except ValueError as err:
            return [f"{name}: not a notebook: {err}"]
        return notebook_differences(old, new, name)[:SHOWN]
    try:
        old_text, new_text = expected.decode(), actual.decode()
    except UnicodeDecodeError:
        return [f"{name}: the bytes differ"]
    return text_differences(old_text, new_text, name)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, by path relative to it (POSIX), with its bytes."""
    files = sorted(folder.rglob("*")) if folder.is_dir() else []
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files if p.is_file()}


def tree_differences(expected: Path, actual: Path) -> list[str]:
    """Differences between two folders of generated files: the same file names, equivalent contents."""
    old, new = snapshot(expected), snapshot(actual)
    if sorted(old) != sorted(new):
        return [f"files only in {expected}: {sorted(set(old) - set(new))}, "
                f"only in {actual}: {sorted(set(new) - set(old))}"]
    return [d for rel in old for d in differences(old[rel], new[rel], rel)]


def keep_if_equivalent(old: dict[str, bytes], folder: Path) -> list[str]:
    """Put back the old bytes (a `snapshot` of `folder`) of every regenerated file that is
    equivalent to them; a notebook's .html beside it follows the notebook. Returns the
    relative paths restored."""
    restored: list[str] = []
    follow: dict[str, bool] = {}  # .html beside a notebook -> whether the notebook was kept
    for rel in sorted(old, key=lambda r: not r.endswith(".ipynb")):
        path = folder / rel
        if not path.is_file():
            continue
        new = path.read_bytes()
        if rel in follow:
            keep = follow[rel]
        else:
            keep = not differences(old[rel], new, rel)
            if rel.endswith(".ipynb"):
                follow[rel[: -len(".ipynb")] + ".html"] = keep
        if keep and new != old[rel]:
            mode = path.stat().st_mode  # nbgrader leaves its output read-only (444)
            path.unlink()
            path.write_bytes(old[rel])
            path.chmod(mode)
            restored.append(rel)
    return restored
