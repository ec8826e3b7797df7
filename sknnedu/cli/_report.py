"""How the commands talk: result tables on stdout, one-line errors and warnings on stderr."""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

PROG = "sknnedu"
#: Exit status of every expected failure (as argparse's usage errors).
EXIT_ERROR = 2


def format_confusion(cm: np.ndarray, names: Sequence[str]) -> str:
    """A confusion matrix as a text table, true classes down, predictions across."""
    names = [str(n) for n in names]
    width = max(max(len(n) for n in names), len(str(int(cm.max()))), 4)
    lines = ["confusion matrix (rows: true class, columns: predicted class)"]
    lines.append(" " * width + "".join(f"  {n:>{width}}" for n in names))
    for name, row in zip(names, cm):
        lines.append(f"{name:<{width}}" + "".join(f"  {int(v):>{width}}" for v in row))
    return "\n".join(lines)


def short_params(params: dict) -> str:
    """``{'nn__activation': 'relu'}`` -> ``'activation=relu'``."""
    return ", ".join(f"{k.rpartition('__')[2]}={v}" for k, v in params.items())


def format_ranking(search: GridSearchCV) -> str:
    """The candidates of a fitted grid search, best first."""
    res = search.cv_results_
    order = np.argsort(res["rank_test_score"], kind="stable")
    lines = [f"{'rank':>4}  {'mean acc':>8}  {'std':>6}  {'fit (s)':>7}  parameters"]
    for i in order:
        lines.append(
            f"{res['rank_test_score'][i]:>4}  {res['mean_test_score'][i]:>8.4f}  "
            f"{res['std_test_score'][i]:>6.4f}  {res['mean_fit_time'][i]:>7.2f}  "
            f"{short_params(res['params'][i])}"
        )
    return "\n".join(lines)


def grid_search(title: str, estimator, grid: dict, X, y, *, cv, n_jobs: int,
                verbose: int = 2) -> GridSearchCV:
    """Fit a GridSearchCV (progress on stdout) and print its ranked candidates."""
    n_candidates = int(np.prod([len(v) for v in grid.values()]))
    print(f"\n== {title}: {n_candidates} candidates x {cv.get_n_splits()} folds", flush=True)
    search = GridSearchCV(estimator, grid, cv=cv, n_jobs=n_jobs, verbose=verbose)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    print(f"done in {time.perf_counter() - start:.1f} s\n{format_ranking(search)}")
    print(f"best parameters: {short_params(search.best_params_)} "
          f"(mean CV accuracy {search.best_score_:.4f})", flush=True)
    return search


def describe(exc: BaseException) -> str:
    """One line for an expected error."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = f"{exc.strerror}: '{exc.filename}'"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def warn(message: str) -> None:
    """``sknnedu: warning: message`` on stderr, one line."""
    print(f"{PROG}: warning: {' '.join(message.split())}", file=sys.stderr, flush=True)


_HIDDEN_WARNINGS = (ConvergenceWarning, DeprecationWarning, PendingDeprecationWarning,
                    FutureWarning, ImportWarning, ResourceWarning)


@contextmanager
def warnings_as_lines(limit: int = 10) -> Iterator[None]:
    """Print the warnings raised inside as ``sknnedu: warning: ...`` lines, each message once.

    Python would print each with its source file and line, and once per fold.
    Left out: a ConvergenceWarning (the epoch budget is what the user chose), and
    what speaks to developers (deprecations, a library's unclosed file). Past
    ``limit`` lines, one more line counts the rest. They are printed when the
    block ends, also when it raises.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:  # also before an error: "No images found" after the files it skipped
            messages = list(dict.fromkeys(str(w.message) for w in caught
                                          if not issubclass(w.category, _HIDDEN_WARNINGS)))
            for message in messages[:limit]:
                warn(message)
            if len(messages) > limit:
                warn(f"... and {len(messages) - limit} more like these")
