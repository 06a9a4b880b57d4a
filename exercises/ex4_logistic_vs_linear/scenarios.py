"""Exercise 4 scenarios: true/false statements about logistic vs linear regression.

The key (a-h): T F | T T | T F | F F, one theme per pair (loss, assumptions, residuals,
diagnostics). Each theme is one hidden test cell, so a wrong answer costs only its theme.
"""

from lrcourse.scenarios import correct, mistake

KEY = dict(zip("abcdefgh", [True, False, True, True, True, False, False, False], strict=True))


def answers(**changes: object) -> str:
    """The correct dict literal with some letters changed (value None drops the letter)."""
    merged = {**KEY, **changes}
    return "statements = {" + ", ".join(f"{k!r}: {v!r}" for k, v in merged.items() if v is not None) + "}"


def flip(letter: str) -> str:
    return answers(**{letter: not KEY[letter]})


SCENARIOS = [
    correct("solution"),
    correct("upper-case-keys", ex4_statements="""
        statements = {'A': True, 'B': False, 'C': True, 'D': True,
                      'E': True, 'F': False, 'G': False, 'H': False}
    """),
    correct("numpy-bools-from-an-array", ex4_statements="""
        truth = np.array([1, 0, 1, 1, 1, 0, 0, 0]) == 1
        statements = dict(zip('abcdefgh', truth))
    """),
    correct("built-in-a-loop-mixed-case", ex4_statements="""
        statements = {}
        for letter, answer in zip('aBcDeFgH', 'TFTTTFFF'):
            statements[letter] = answer == 'T'
    """),
    mistake("wrong-loss-statement", ["ex4_statements_tests_loss"], ex4_statements=flip("b")),
    mistake("wrong-assumptions-statement", ["ex4_statements_tests_assumptions"], ex4_statements=flip("d")),
    mistake("wrong-residuals-statement", ["ex4_statements_tests_residuals"], ex4_statements=flip("f")),
    mistake("wrong-diagnostics-statement", ["ex4_statements_tests_diagnostics"], ex4_statements=flip("g")),
    mistake("both-residuals-statements-wrong", ["ex4_statements_tests_residuals"],
            ex4_statements=answers(e=False, f=True)),
    mistake("one-wrong-in-two-themes", ["ex4_statements_tests_loss", "ex4_statements_tests_diagnostics"],
            ex4_statements=answers(a=False, h=True)),
    mistake(
        "all-true",
        ["ex4_statements_tests_loss", "ex4_statements_tests_residuals", "ex4_statements_tests_diagnostics"],
        ex4_statements="statements = {letter: True for letter in 'abcdefgh'}",
    ),
    mistake(
        "all-false",
        ["ex4_statements_tests_loss", "ex4_statements_tests_assumptions", "ex4_statements_tests_residuals"],
        ex4_statements="statements = {letter: False for letter in 'abcdefgh'}",
    ),
    # Right answers in the wrong form lose only the form test.
    mistake("strings-instead-of-booleans", ["ex4_statements_tests"], ex4_statements="""
        statements = {'a': 'True', 'b': 'False', 'c': 'True', 'd': 'True',
                      'e': 'True', 'f': 'False', 'g': 'False', 'h': 'False'}
    """),
    mistake("numbers-instead-of-booleans", ["ex4_statements_tests"], ex4_statements="""
        statements = dict(zip('abcdefgh', [1, 0, 1, 1, 1, 0, 0, 0]))
    """),
    # A missing letter fails the form test and the theme it belongs to.
    mistake("missing-letter", ["ex4_statements_tests", "ex4_statements_tests_diagnostics"],
            ex4_statements=answers(h=None)),
    # A list is not a dict: nothing can be read from it.
    mistake(
        "list-instead-of-dict",
        ["ex4_statements_tests", "ex4_statements_tests_loss", "ex4_statements_tests_assumptions",
         "ex4_statements_tests_residuals", "ex4_statements_tests_diagnostics"],
        ex4_statements="statements = [True, False, True, True, True, False, False, False]",
    ),
]
