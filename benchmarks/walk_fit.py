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
    python benchmarks/walk_fit.py --peeks    # a leaf helper's call is a peek, not two changes

Python 3.11 runs every comprehension and generator expression as a function of its own
(``<listcomp>``, ``<genexpr>``), so each is a 'call' too, and shows the walk coming back
to the file that holds it; 3.12 inlines list, dict and set comprehensions (PEP 709).
``--no-comprehensions`` leaves those frames out, for a count that does not depend on the
version.

``--peeks`` counts as a reader who reads a helper's name, or glances at it, and reads on:
a call to a small *leaf* (a function that, with whatever it calls, holds at most
:data:`PEEK_LINES` lines of code and stays in its own file, such as ``Layer.buffer``,
``SequenceBatch.__init__`` or an activation) from a function in another file is left
out of the walk, with the calls it makes,, so that it costs no change of file
there and back. Every other call counts as before. Both counts are reported by the
closing notes; the default one is the strict one.
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


#: a peek is a call of a helper of at most this many lines of code, with what it calls
PEEK_LINES = 8


def _lines(code) -> int:
    """Lines of a function that hold code (its ``def`` line and docstring not counted)."""
    lines = {line for _, _, line in code.co_lines() if line is not None}
    lines.discard(code.co_firstlineno)
    doc = code.co_consts[:1] and isinstance(code.co_consts[0], str)
    return len(lines) - bool(doc)


def _small(codes: set) -> bool:
    """Whether the functions a call ran have :data:`PEEK_LINES` lines of code or fewer in
    all: a helper read at a glance."""
    return sum(_lines(code) for code in codes) <= PEEK_LINES


def trace_fit(X, y, comprehensions: bool = True,
              peeks: bool = False) -> list[tuple[str, str]]:
    """``(file, function)`` of every call into sknnedu during one ``fit``, in order."""
    estimator = RNNClassifier(max_iter=1, random_state=0)
    calls: list[tuple[str, str]] = []
    files: dict[str, str | None] = {}
    # per open sknnedu frame: [file, index in calls, leaf so far, frame, codes it ran]
    stack: list[list] = []

    def profile(frame, event, arg):
        if event == "return" and peeks and stack and stack[-1][3] is frame:
            file, index, leaf, _, codes = stack.pop()
            caller = stack[-1][0] if stack else None
            if stack:
                stack[-1][4] |= codes
            if leaf and caller is not None and caller != file and _small(codes):
                calls[index:] = [None] * (len(calls) - index)  # a peek, with its calls:
                # the reader stays in the caller's file
            if not leaf and stack:
                stack[-1][2] = False  # its calls left its file: so do the caller's
            return
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
            if stack and stack[-1][0] != relative:
                stack[-1][2] = False  # the caller calls into another file: not a leaf
            stack.append([relative, len(calls), True, frame, {frame.f_code}])
            calls.append((relative, frame.f_code.co_name))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=1 does not converge; the call still counts
        sys.setprofile(profile)
        try:
            estimator.fit(X, y)
        finally:
            sys.setprofile(None)
    return [c for c in calls if c is not None]


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
    calls = trace_fit(X, y, comprehensions="--no-comprehensions" not in argv,
                      peeks="--peeks" in argv)
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
