"""Hidden-test scaffolding of exercise 4, put by the build at the top of the hidden tests of
each test cell whose header declares it (docs/authoring.md, "Shared hidden-test code")."""

# %% scaffold="read_statements"
import numpy as np

_given = {str(k).strip().lower(): v for k, v in dict(statements).items()}


def _read(letter):
    value = _given.get(letter)
    if isinstance(value, str):
        return {'true': True, 't': True, 'false': False, 'f': False}.get(value.strip().lower())
    if isinstance(value, (bool, np.bool_, int, np.integer)) and value in (0, 1):
        return bool(value)
    return None
