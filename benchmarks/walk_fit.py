"""How often ``RNNClassifier().fit(X, y)`` on a ragged list changes file: issue 20's walk.

What a reader following the code meets: every call of a Python function (``sys.setprofile``
'call' events; resumed generators included, C functions not) in a file of sknnedu, in
order. Calls into numpy, scikit-learn or the standard library are left out, so their time
counts for the sknnedu file that called them. Consecutive calls in one file collapse into
one entry ``file:function`` (the function by which the walk entered the file); a change
is a step from one entry to the next. "Before the first batch" stops at the first call of
``Network.loss_grad`` (sknnedu/nn/network.py), the entry into the first batch included.

One fit on 20 sequences of 5 to 15 steps of 2 features, ``max_iter=1``, after a warm-up
fit, so that no import or first-use cache is in the walk; the estimator is built before
tracing starts (only ``fit`` is traced), in the main thread.

    python benchmarks/walk_fit.py            # both counts and the walk
    python benchmarks/walk_fit.py --files    # and the files visited, with their counts
    python benchmarks/walk_fit.py --no-comprehensions

Python 3.11 runs every comprehension and generator expression as a function of its own
(``<listcomp>``, ``<genexpr>``), so each is a 'call' too, and shows the walk coming back
to the file that holds it; 3.12 inlines list, dict and set comprehensions (PEP 709).
``--no-comprehensions`` leaves those frames out, for a count that does not depend on the
version.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

import sknnedu
from sknnedu import RNNClassifier

PACKAGE = Path(sknnedu.__file__).resolve().parent
FIRST_BATCH = ("nn/network.py", "loss_grad")
COMPREHENSIONS = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>")


def ragged_data(seed: int = 0):
    """20 sequences of 5-15 steps of 2 features, and two classes."""
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((int(T), 2)) for T in rng.integers(5, 16, 20)]
    y = np.array([int(x[:, 0].mean() > 0) for x in X])
    return X, y


def trace_fit(X, y, comprehensions: bool = True) -> list[tuple[str, str]]:
    """``(file, function)`` of every call into sknnedu during one ``fit``, in order."""
    estimator = RNNClassifier(max_iter=1, random_state=0)
    calls: list[tuple[str, str]] = []
    files: dict[str, str | None] = {}

    def profile(frame, event, arg):
        if event != "call" or (not comprehensions
                                and frame.f_code.co_name in COMPREHENSIONS):
            return
        filename = frame.f_code.co_filename
        relative = files.get(filename, "")
        if relative == "":
            path = Path(filename).resolve()
            relative = files[filename] = (str(path.relative_to(PACKAGE))
                                          if path.is_relative_to(PACKAGE) else None)
        if relative is not None:
            calls.append((relative, frame.f_code.co_name))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=1 does not converge; the call still counts
        sys.setprofile(profile)
        try:
            estimator.fit(X, y)
        finally:
            sys.setprofile(None)
    return calls


def walk(calls: list[tuple[str, str]]) -> tuple[list[str], int | None]:
    """The collapsed walk, and the index of the entry that holds the first batch."""
    entries: list[str] = []
    first_batch = None
    last_file = None
    for file, function in calls:
        if file != last_file:
            entries.append(f"{file}:{function}")
            last_file = file
        if first_batch is None and (file, function) == FIRST_BATCH:
            first_batch = len(entries) - 1
    return entries, first_batch


def main(argv: list[str]) -> None:
    X, y = ragged_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        RNNClassifier(max_iter=1, random_state=0).fit(X, y)  # warm-up: imports, caches
    calls = trace_fit(X, y, comprehensions="--no-comprehensions" not in argv)
    entries, first_batch = walk(calls)
    print(f"calls into sknnedu: {len(calls)}, in {len({f for f, _ in calls})} files")
    if first_batch is None:
        print("no call of Network.loss_grad: the walk never reached a batch")
    else:
        print(f"changes of file before the first batch: {first_batch}")
    print(f"changes of file in all: {len(entries) - 1}")
    print("walk:")
    for i, entry in enumerate(entries):
        mark = "   <- first batch" if i == first_batch else ""
        print(f"  {i:3d} {entry}{mark}")
    if "--files" in argv:
        print("calls per file:")
        for file, n in Counter(f for f, _ in calls).most_common():
            print(f"  {n:6d} {file}")


if __name__ == "__main__":
    main(sys.argv[1:])
