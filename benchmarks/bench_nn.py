"""Seconds per epoch: NNClassifier vs scikit-learn's MLPClassifier (vs torch, if installed).

60,000 x 784 float32 from make_classification, hidden (256, 128), adam, batch 200,
each model run for a few epochs in the same process; prints s/epoch and ratios.

    python benchmarks/bench_nn.py [--samples 60000] [--epochs 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sknnedu import NNClassifier

HIDDEN = (256, 128)


def per_epoch_sklearn_like(est, X, y, epochs: int) -> float:
    """Best seconds per epoch over ``epochs`` single-epoch fits with warm start."""
    est.set_params(max_iter=1, warm_start=True)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(epochs):
            start = time.perf_counter()
            est.fit(X, y)
            times.append(time.perf_counter() - start)
    return min(times)


def per_epoch_torch(X, y, epochs: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    layers, n_in = [], X.shape[1]
    for n_out in HIDDEN:
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
        n_in = n_out
    model = torch.nn.Sequential(*layers, torch.nn.Linear(n_in, int(y.max()) + 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(X.shape[0])
        for i in range(0, X.shape[0], 200):
            idx = perm[i:i + 200]
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    X, y = make_classification(n_samples=args.samples, n_features=784, n_informative=50,
                               n_classes=2, random_state=0)
    X = X.astype(np.float32)
    print(f"X {X.shape} {X.dtype}, hidden {HIDDEN}, adam, batch 200, best of {args.epochs}")
    params = dict(hidden_layer_sizes=HIDDEN, solver="adam", batch_size=200, random_state=0)
    ours = per_epoch_sklearn_like(NNClassifier(**params), X, y, args.epochs)
    sk = per_epoch_sklearn_like(MLPClassifier(**params), X, y, args.epochs)
    th = per_epoch_torch(X, y, args.epochs)
    print(f"NNClassifier   {ours:7.3f} s/epoch")
    print(f"MLPClassifier  {sk:7.3f} s/epoch")
    if th is not None:
        print(f"torch MLP      {th:7.3f} s/epoch")
    print(f"ratio NNClassifier / MLPClassifier = {ours / sk:.2f}  (target <= 0.6)")
    if th is not None:
        print(f"ratio NNClassifier / torch         = {ours / th:.2f}  (target <= 1.0)")


if __name__ == "__main__":
    main()
