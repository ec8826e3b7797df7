"""Seconds per epoch: NNClassifier vs scikit-learn's MLPClassifier (vs torch, if installed).

60,000 x 784 float32 from make_classification, hidden (256, 128), adam, batch 200,
the models taking turns for a few epochs in the same process; prints the best s/epoch
of each and the ratios.

    python benchmarks/bench_nn.py [--samples 60000] [--epochs 5]
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


def sklearn_like_epoch(est, X, y):
    """A callable that trains ``est`` for one more epoch (warm start, max_iter=1)."""
    est.set_params(max_iter=1, warm_start=True)

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)

    return epoch


def torch_epoch(X, y):
    """A callable that trains the same MLP in torch for one epoch, or None without torch."""
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

    def epoch():
        perm = torch.randperm(X.shape[0])
        for i in range(0, X.shape[0], 200):
            idx = perm[i:i + 200]
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    return epoch


def best_of_rounds(epochs: dict, rounds: int) -> dict:
    """Best seconds per epoch of each contender, run in turns so that a busy moment
    of the machine slows every contender alike rather than one of them."""
    times = {name: [] for name in epochs}
    for _ in range(rounds):
        for name, epoch in epochs.items():
            start = time.perf_counter()
            epoch()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=5, help="rounds (one epoch each)")
    args = parser.parse_args()
    X, y = make_classification(n_samples=args.samples, n_features=784, n_informative=50,
                               n_classes=2, random_state=0)
    X = X.astype(np.float32)
    print(f"X {X.shape} {X.dtype}, hidden {HIDDEN}, adam, batch 200, best of {args.epochs}")
    params = dict(hidden_layer_sizes=HIDDEN, solver="adam", batch_size=200, random_state=0)
    epochs = {"ours": sklearn_like_epoch(NNClassifier(**params), X, y),
              "sklearn": sklearn_like_epoch(MLPClassifier(**params), X, y)}
    if (epoch := torch_epoch(X, y)) is not None:
        epochs["torch"] = epoch
    best = best_of_rounds(epochs, args.epochs)
    ours, sk, th = best["ours"], best["sklearn"], best.get("torch")
    print(f"NNClassifier   {ours:7.3f} s/epoch")
    print(f"MLPClassifier  {sk:7.3f} s/epoch")
    if th is not None:
        print(f"torch MLP      {th:7.3f} s/epoch")
    print(f"ratio NNClassifier / MLPClassifier = {ours / sk:.2f}  (target <= 0.6)")
    if th is not None:
        print(f"ratio NNClassifier / torch         = {ours / th:.2f}  (target <= 1.0)")


if __name__ == "__main__":
    main()
