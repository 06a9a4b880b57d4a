"""Reading the reasons out of a plain `nbgrader autograde` log (for runs outside `lrcourse grade`)."""

from __future__ import annotations

import re
from pathlib import Path

EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(Error|Exception|Interrupt|Died)[\w]*): ?(.*)$")
CURRENT_NOTEBOOK = re.compile(r"(?:Sanitizing|Converting notebook) (\S+\.ipynb)")


def failure_reasons(log: str, student: str) -> list[str]:
    """One line per failure nbgrader logged for this student: notebook and exception."""
    reasons, notebook, capturing, last = [], None, False, None
    mine = re.compile(rf"[/\\]{re.escape(student)}[/\\]")
    for line in log.splitlines() + ["[end]"]:
        m = CURRENT_NOTEBOOK.search(line)
        if line.startswith("[") and capturing and "Traceback" not in line:
            name = Path(notebook).name if notebook else "the submission"
            reasons.append(f"{name}: {last or 'nbgrader could not process it'}")
            capturing, last = False, None
        if m:
            notebook = m.group(1) if mine.search(m.group(1)) else None
        elif "There was an error processing" in line and mine.search(line):
            capturing = True
        elif capturing:
            e = EXCEPTION_LINE.match(line)
            if e:
                last = f"{e.group(1).rsplit('.', 1)[-1]}: {e.group(3)[:200]}".rstrip(": ")
    return reasons
