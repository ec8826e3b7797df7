"""Text as sequences against bags of characters: balanced brackets, and a real text task.

Three models, each at its defaults (LogisticRegression with ``max_iter=1000`` so that it
converges):

- ``bag``: ``CountVectorizer(analyzer='char')`` + ``LogisticRegression``, the counts of
  each character;
- ``tfidf 1-3``: ``TfidfVectorizer(analyzer='char', ngram_range=(1, 3))`` +
  ``LogisticRegression``, characters and their neighbours (local order);
- ``sequence``: ``make_pipeline(TextSequencer(analyzer='char'),
  RNNClassifier(embedding_dim=16))``, every other parameter at its default;
- ``attention``: ``TextSequencer(analyzer='char')`` and a ``TransformerClassifier`` (see
  :func:`models`).

**Balanced brackets** (:func:`sknnedu.text.make_brackets`): 1,000 training strings, tested
on fresh strings that fit never saw.

**Which language is this line of code?** Lines of Python (``.py``), Cython (``.pyx``,
``.pxd``) and C (``.c``, ``.h``) from the files that the numpy, SciPy, scikit-learn and
scikit-image wheels ship, which sknnedu depends on: nothing is downloaded. Why it is a fair
task:

- the labels are the files' languages, given by their extensions, not chosen by us;
- train and test are split **by file** (``GroupShuffleSplit``), so no file's names and
  idioms are learnt and then tested, and the same three splits serve the three models;
- a line written identically in two languages (``else:``, ``return x``) says nothing of its
  language and is left out, as are repeated lines; at most 20 lines of a file, and 3,000
  of a language, so that a few large generated files do not make the task;
- it needs both what the characters are (``{`` ``;`` ``->`` ``#define``) and their order
  (``cdef double x`` against ``x = 1.0``, ``# comment`` against ``#include``), so bags are
  strong baselines, not straw men.

The lines depend on the installed versions of those packages (printed), so the numbers
move a little from one environment to another.

    python benchmarks/bench_text.py            # 3 splits of the code lines (~15 min)
    python benchmarks/bench_text.py --splits 1
"""

from __future__ import annotations

import argparse
import importlib
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import make_pipeline

from sknnedu import RNNClassifier, TextSequencer, TransformerClassifier
from sknnedu.text import make_brackets

PACKAGES = ("numpy", "scipy", "sklearn", "skimage")
LANGUAGES = {".py": "Python", ".pyx": "Cython", ".pxd": "Cython", ".c": "C", ".h": "C"}


def models(task: str = "brackets") -> dict:
    """The models of a task. ``attention``: ``TransformerClassifier`` at its defaults with
    ``embedding_dim=64`` on brackets; on the lines of code, a narrower one for 15 epochs at
    3e-3 (``model_dim=32``, ``feedforward_dim=64``, ``embedding_dim=32``), so that a fit
    stays several times faster than the recurrent one's."""
    attention = (TransformerClassifier(embedding_dim=64, random_state=0) if task == "brackets"
                 else TransformerClassifier(32, 4, 2, 64, embedding_dim=32, max_iter=15,
                                            learning_rate_init=3e-3, random_state=0))
    return {
        "bag": make_pipeline(CountVectorizer(analyzer="char"),
                             LogisticRegression(max_iter=1000)),
        "tfidf 1-3": make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3)),
                                   LogisticRegression(max_iter=1000)),
        "sequence": make_pipeline(TextSequencer(analyzer="char"),
                                  RNNClassifier(embedding_dim=16, random_state=0)),
        "attention": make_pipeline(TextSequencer(analyzer="char"), attention),
    }


def chosen(task: str, names) -> dict:
    return {k: v for k, v in models(task).items() if not names or k in names}


def code_lines(min_length: int = 12, max_length: int = 100, per_file: int = 20,
               per_language: int = 3000, seed: int = 0):
    """Lines of code and their language, from the installed packages' source files.

    Returns
    -------
    X : list of str
        Stripped lines of ``min_length`` to ``max_length`` characters.
    y : ndarray of str
        ``'C'``, ``'Cython'`` or ``'Python'``.
    groups : ndarray of str
        The file of each line (split by it).
    """
    roots = [Path(importlib.import_module(name).__file__).parent for name in PACKAGES]
    files = sorted(p for root in roots for p in root.rglob("*")
                   if p.suffix in LANGUAGES and p.is_file())
    rows = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        rows += [(s, LANGUAGES[path.suffix], str(path)) for s in map(str.strip, text.splitlines())
                 if min_length <= len(s) <= max_length]
    languages: dict[str, set] = {}
    for s, lang, _ in rows:
        languages.setdefault(s, set()).add(lang)
    rng = np.random.RandomState(seed)
    by_file: dict[str, list] = {}
    used = set()
    for s, lang, f in rows:  # each line once, and only if one language writes it
        if len(languages[s]) == 1 and s not in used:
            used.add(s)
            by_file.setdefault(f, []).append((s, lang, f))
    kept = []
    for f in sorted(by_file):
        lines = by_file[f]
        kept += [lines[i] for i in sorted(rng.permutation(len(lines))[:per_file])]
    X, y, groups = [], [], []
    for lang in sorted({lang for _, lang, _ in kept}):
        idx = [i for i, r in enumerate(kept) if r[1] == lang]
        for i in rng.choice(idx, min(per_language, len(idx)), replace=False):
            X.append(kept[i][0])
            y.append(lang)
            groups.append(kept[i][2])
    return X, np.array(y), np.array(groups)


def fit_score(model, X, y, X_test, y_test) -> tuple[float, float]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return float(model.score(X_test, y_test)), time.perf_counter() - start


def brackets(names=None) -> dict:
    X, y = make_brackets(1000, random_state=0)
    X_new, y_new = make_brackets(2000, random_state=1)
    seen = set(X)
    keep = [i for i, s in enumerate(X_new) if s not in seen]
    X_test, y_test = [X_new[i] for i in keep], y_new[keep]
    print(f"\nBalanced brackets: 1000 training strings, {len(X_test)} held-out strings never "
          f"seen in fit (majority class {max(y_test.mean(), 1 - y_test.mean()):.3f})")
    out = {}
    for name, model in chosen("brackets", names).items():
        out[name] = fit_score(model, X, y, X_test, y_test)
        print(f"  {name:10s} {out[name][0]:.4f}   ({out[name][1]:.0f} s)")
    return out


def code(splits: int, names=None) -> dict:
    X, y, groups = code_lines()
    versions = ", ".join(f"{p} {importlib.import_module(p).__version__}" for p in PACKAGES)
    counts = {str(lang): int((y == lang).sum()) for lang in np.unique(y)}
    print(f"\nLanguage of a line of code: {len(X)} lines {counts} from "
          f"{len(set(groups))} files ({versions})")
    scores: dict[str, list] = {name: [] for name in chosen("code", names)}
    times: dict[str, list] = {name: [] for name in chosen("code", names)}
    for split in range(splits):
        train, test = next(GroupShuffleSplit(1, test_size=0.25, random_state=split)
                           .split(X, y, groups))
        X_tr, X_te = [X[i] for i in train], [X[i] for i in test]
        for name, model in chosen("code", names).items():
            score, seconds = fit_score(model, X_tr, y[train], X_te, y[test])
            scores[name].append(score)
            times[name].append(seconds)
        print(f"  split {split}: {len(train)} train / {len(test)} test lines: " + ", ".join(
            f"{name} {scores[name][-1]:.4f}" for name in scores), flush=True)
    print("\n| model | " + " | ".join(f"split {s}" for s in range(splits))
          + " | mean | time a fit |")
    print("|---|" + "---|" * (splits + 2))
    for name in scores:
        print(f"| {name} | " + " | ".join(f"{s:.4f}" for s in scores[name])
              + f" | **{np.mean(scores[name]):.4f}** | {np.mean(times[name]):.0f} s |")
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--skip-brackets", action="store_true")
    parser.add_argument("--models", nargs="*", help="bag, 'tfidf 1-3', sequence, attention")
    args = parser.parse_args()
    if not args.skip_brackets:
        brackets(args.models)
    code(args.splits, args.models)


if __name__ == "__main__":
    main()
