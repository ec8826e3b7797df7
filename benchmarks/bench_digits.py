"""Hold-out accuracy on digits: NNClassifier, CNNClassifier, the conv pipeline, MLPClassifier, SVC.

Three stratified 75/25 splits (random_state 0, 1, 2); prints each model's accuracy per
split, the mean, and the fit time. "conv defaults" is what a new user writes,
``make_pipeline(ConvFeatureTransformer(image_shape=(8, 8)), NNClassifier())`` (seeded):
it must score at least as well as the recommended "conv pipeline". "CNNClassifier" is
``CNNClassifier()`` at its defaults (seeded): target a mean of at least 0.99.

    python benchmarks/bench_digits.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from sknnedu import CNNClassifier, ConvFeatureTransformer, NNClassifier
from sknnedu.cli import conv_pipeline


def kmeans_pipeline():
    """Filters learned by k-means on patches (Coates & Ng 2011) instead of named ones."""
    return make_pipeline(
        ConvFeatureTransformer(filters="kmeans", n_filters=16, kernel_size=3,
                               image_shape=(8, 8), random_state=0),
        NNClassifier((128,), alpha=1e-3, max_iter=300, random_state=0),
    )


def default_pipeline():
    """ConvFeatureTransformer's and NNClassifier's defaults, only seeded."""
    return make_pipeline(ConvFeatureTransformer(image_shape=(8, 8)),
                         NNClassifier(random_state=0))


MODELS = {
    "NNClassifier": lambda: NNClassifier((128,), alpha=1e-3, max_iter=300, random_state=0),
    "conv defaults": default_pipeline,
    "CNNClassifier": lambda: CNNClassifier(random_state=0),
    "conv pipeline": lambda: conv_pipeline((8, 8)),  # the recommended one (README, demo)
    "conv sigmoid": lambda: conv_pipeline((8, 8), hidden_layer_sizes=(256,),
                                          activation="sigmoid"),
    "conv kmeans": kmeans_pipeline,
    "MLPClassifier": lambda: MLPClassifier((128,), alpha=1e-3, max_iter=300, random_state=0),
    "SVC (rbf)": lambda: SVC(gamma="scale", C=10),
}


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    scores = {name: [] for name in MODELS}
    times = {name: [] for name in MODELS}
    for split in range(3):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y,
                                              random_state=split)
        for name, make in MODELS.items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = make().fit(Xtr, ytr)
            times[name].append(time.perf_counter() - start)
            scores[name].append(model.score(Xte, yte))
            print(f"split {split}  {name:<14} {scores[name][-1]:.4f}", flush=True)
    print(f"\n{'model':<14} {'split 0':>8} {'split 1':>8} {'split 2':>8} {'mean':>8} {'fit s':>7}")
    for name in MODELS:
        s = scores[name]
        print(f"{name:<14} {s[0]:8.4f} {s[1]:8.4f} {s[2]:8.4f} {np.mean(s):8.4f} "
              f"{np.mean(times[name]):7.2f}")
    print("\ntarget: conv pipeline mean >= 0.985; conv defaults mean >= 0.9896 (README's "
          "conv pipeline row); CNNClassifier mean >= 0.99")


if __name__ == "__main__":
    main()
