"""The defaults against scikit-learn's: NNClassifier() vs MLPClassifier(), NNRegressor() vs
MLPRegressor(), and CNNClassifier() vs its peers on the digits.

A user who swaps ``MLPClassifier`` for ``NNClassifier`` must lose nothing at the defaults.
Every set below is scikit-learn's, bundled or generated, and every model is
``make_pipeline(StandardScaler(), estimator)`` at its defaults except ``max_iter=1000`` and a
seed (split ``i`` seeds both estimators with ``random_state=i``, so the two are compared on the
same splits with the same draws). Classification: accuracy on 5 stratified 75/25 splits;
regression: R^2 on 3 shuffled 75/25 splits, targets standardised on the training part. The
table gives the mean over the splits, ours with its difference to scikit-learn's (``=``: a
tie, within ``--tie``), then how many sets each of ours lost, tied and won.

``--candidates init=he init=auto ...`` adds other settings of ours (``key=value``, applied to
NNClassifier and NNRegressor alike) as further columns, to see whether a different default
would beat the original on most sets without losing on any.

    python benchmarks/bench_defaults.py                      # ~3 min on one core
    python benchmarks/bench_defaults.py --candidates init=he init=lecun --no-cnn
"""

from __future__ import annotations

import argparse
import ast
import time
import warnings

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_linnerud,
    load_wine,
    make_circles,
    make_classification,
    make_friedman1,
    make_friedman2,
    make_friedman3,
    make_gaussian_quantiles,
    make_hastie_10_2,
    make_moons,
    make_regression,
    make_sparse_uncorrelated,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sknnedu import CNNClassifier, NNClassifier, NNRegressor

MAX_ITER = 1000

#: name -> (X, y); the issue's seven, then three more
CLASSIFICATION = {
    "iris": lambda: load_iris(return_X_y=True),
    "wine": lambda: load_wine(return_X_y=True),
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "digits": lambda: load_digits(return_X_y=True),
    "moons(400, noise=0.3)": lambda: make_moons(400, noise=0.3, random_state=0),
    "circles(400, noise=0.2)": lambda: make_circles(400, noise=0.2, factor=0.5,
                                                    random_state=0),
    "classification(1000, 20)": lambda: make_classification(1000, 20, n_informative=10,
                                                             random_state=0),
    "classification 3 classes": lambda: make_classification(
        1000, 20, n_informative=5, n_classes=3, random_state=1),
    "gaussian_quantiles(500, 4)": lambda: make_gaussian_quantiles(
        n_samples=500, n_features=4, n_classes=3, random_state=0),
    "hastie_10_2(1000)": lambda: make_hastie_10_2(1000, random_state=0),
}

#: name -> (X, y); the issue's five, then three more (two of several outputs)
REGRESSION = {
    "friedman1(500)": lambda: make_friedman1(500, random_state=0),
    "friedman2(500)": lambda: make_friedman2(500, random_state=0),
    "friedman3(500)": lambda: make_friedman3(500, random_state=0),
    "regression(500, 10)": lambda: make_regression(500, 10, random_state=0),
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "regression(500, 10, 3 outputs)": lambda: make_regression(500, 10, n_targets=3,
                                                              noise=10, random_state=0),
    "linnerud (20 samples, 3 outputs)": lambda: load_linnerud(return_X_y=True),
    "sparse_uncorrelated(500)": lambda: make_sparse_uncorrelated(500, random_state=0),
}


def classifier(est):
    return make_pipeline(StandardScaler(), est)


def regressor(est):
    return TransformedTargetRegressor(make_pipeline(StandardScaler(), est),
                                      transformer=StandardScaler())


def mean_score(wrap, cls, params: dict, X, y, splits) -> float:
    """Mean hold-out score of ``wrap(cls(max_iter=1000, random_state=i, **params))``
    over ``splits``, split i seeded with i."""
    scores = []
    for i, (tr, te) in enumerate(splits.split(X, y)):
        est = wrap(cls(max_iter=MAX_ITER, random_state=i, **params))
        scores.append(est.fit(X[tr], y[tr]).score(X[te], y[te]))
    return float(np.mean(scores))


def parse_candidate(text: str) -> dict:
    key, _, value = text.partition("=")
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass  # a bare word: a string
    return {key: value}


def verdict(diff: float, tie: float) -> str:
    return "tied" if abs(diff) <= tie else ("won" if diff > 0 else "lost")


def dense_suite(candidates: dict[str, dict], tie: float) -> None:
    """The table of mean scores, ours (defaults and candidates) against scikit-learn's."""
    names = ["NN()"] + list(candidates)
    header = "| data | MLP | " + " | ".join(names) + " |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    counts = {n: {"lost": 0, "tied": 0, "won": 0} for n in names}
    max_diff = {n: 0.0 for n in names}
    tasks = [(CLASSIFICATION, MLPClassifier, NNClassifier, classifier,
              StratifiedShuffleSplit(5, test_size=0.25, random_state=0)),
             (REGRESSION, MLPRegressor, NNRegressor, regressor,
              ShuffleSplit(3, test_size=0.25, random_state=0))]
    for sets, ref_cls, our_cls, wrap, splits in tasks:
        for data, load in sets.items():
            X, y = load()
            ref = mean_score(wrap, ref_cls, {}, X, y, splits)
            cells = []
            for name in names:
                ours = mean_score(wrap, our_cls, candidates.get(name, {}), X, y, splits)
                diff = ours - ref
                counts[name][verdict(diff, tie)] += 1
                max_diff[name] = max(max_diff[name], abs(diff))
                cells.append(f"{ours:.4f} (=)" if verdict(diff, tie) == "tied"
                             else f"{ours:.4f} ({diff:+.4f})")
            print(f"| {data} | {ref:.4f} | " + " | ".join(cells) + " |", flush=True)
    for name in names:
        c = counts[name]
        print(f"{name}: lost {c['lost']}, tied {c['tied']}, won {c['won']} "
              f"(ties within {tie}; largest |difference| {max_diff[name]:.2g})")


def cnn_on_digits(n_splits: int = 2) -> None:
    """CNNClassifier() on the 8x8 digits beside its peers, same splits."""
    X, y = load_digits(return_X_y=True)
    models = {
        "CNNClassifier()": lambda s: CNNClassifier(random_state=s),
        "MLPClassifier()": lambda s: classifier(MLPClassifier(max_iter=MAX_ITER, random_state=s)),
        "NNClassifier()": lambda s: classifier(NNClassifier(max_iter=MAX_ITER, random_state=s)),
        "SVC()": lambda s: classifier(SVC()),
    }
    splits = StratifiedShuffleSplit(n_splits, test_size=0.25, random_state=0)
    print(f"\n| digits, {n_splits} stratified 75/25 splits | "
          + " | ".join(f"split {i}" for i in range(n_splits)) + " | mean | s a fit |")
    print("|" + "---|" * (n_splits + 3))
    for name, make in models.items():
        scores, t0 = [], time.perf_counter()
        for i, (tr, te) in enumerate(splits.split(X, y)):
            scores.append(make(i).fit(X[tr], y[tr]).score(X[te], y[te]))
        seconds = (time.perf_counter() - t0) / n_splits
        print(f"| {name} | " + " | ".join(f"{s:.4f}" for s in scores)
              + f" | {np.mean(scores):.4f} | {seconds:.1f} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", nargs="*", default=[], metavar="KEY=VALUE",
                        help="other settings of ours to compare, e.g. init=he dropout=0.1")
    parser.add_argument("--tie", type=float, default=1e-9,
                        help="a mean difference within this is a tie (default 1e-9: the same "
                             "predictions, up to the round-off of the mean)")
    parser.add_argument("--no-cnn", action="store_true", help="skip CNNClassifier on digits")
    args = parser.parse_args(argv)
    candidates = {c: parse_candidate(c) for c in args.candidates}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense_suite(candidates, args.tie)
        if not args.no_cnn:
            cnn_on_digits()
    print(f"\n{time.perf_counter() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
