"""Hidden-test scaffolding of exercise 5, put by the build at the top of the hidden tests of
each test cell whose header declares it (docs/authoring.md, "Shared hidden-test code")."""

# %% scaffold="dist_to_polyline"
import numpy as np


def _dist_to_polyline(px, py, lx, ly):
    """Distance from each point (px, py) to the polyline through (lx, ly)."""
    if lx.size == 1:
        return np.hypot(px - lx[0], py - ly[0])
    ax, ay, dx, dy = lx[:-1], ly[:-1], np.diff(lx), np.diff(ly)
    length2 = dx * dx + dy * dy
    t = ((px[:, None] - ax) * dx + (py[:, None] - ay) * dy) / np.where(length2 > 0, length2, 1)
    t = np.clip(t, 0, 1)
    return np.min(np.hypot(px[:, None] - (ax + t * dx), py[:, None] - (ay + t * dy)), axis=1)

# %% scaffold="points_in"
import numpy as np


def _points_in(px, py, sx, sy, tol=1e-9):
    """Whether every point (px, py) is one of the points (sx, sy)."""
    return bool(np.all(np.min(np.maximum(np.abs(px[:, None] - sx), np.abs(py[:, None] - sy)), axis=1) <= tol))

# %% scaffold="step_area"
import numpy as np


def _step_area(r, p):
    """Average precision of a point set: sum over recall levels of the step times the best precision."""
    r = np.round(r, 9)
    levels = np.unique(r[r > 0])
    best = np.array([p[r == level].max() for level in levels])
    return float(np.sum(np.diff(np.r_[0.0, levels]) * best))
