"""What every Python check script here shares: `step` runs one named step of the walk-through,
printing `ok   <name>`, or `FAIL <name>: …` and ending the run on the first failure; `check`
fails the step it is called in unless a condition holds.

The scripts import it by name: Python puts a script's own folder first on `sys.path`.
"""

import sys


def step(name, fn):
    try:
        result = fn()
    except Exception as e:  # noqa: BLE001 - any failure ends the run with one line
        msg = " ".join(str(e).split())[:400]
        print(f"FAIL {name}: {type(e).__name__}: {msg}")
        sys.exit(1)
    print(f"ok   {name}")
    return result


def check(cond, what):
    if not cond:
        raise AssertionError(what)
