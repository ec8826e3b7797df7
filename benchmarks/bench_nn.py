"""Seconds per epoch of NNClassifier and NNRegressor against the floor of bare matrix products.

60,000 x 784 float32 from make_classification with 10 classes, hidden (256, 128), adam,
batch 200. Contenders take turns, one epoch each per round, in the same process, so that a
busy moment of the machine slows every contender alike; the best epoch of each is kept:

floor
    only the float32 matrix products of one epoch, into preallocated buffers: per batch
    the forward ``a[l-1] W[l]`` and the backward ``a[l-1]^T dz[l]``, ``dz[l] W[l]^T``
    (none into the input). Nothing else a network must do (activations and their
    derivatives, the loss, the optimiser step, picking the batch's rows) is in it, so no
    implementation on this BLAS can be faster.
NNClassifier, NNRegressor
    one epoch each (``warm_start=True, max_iter=1``): softmax + log-loss on the labels,
    squared error on the one-hot targets as floats (10 outputs both).
MLPClassifier
    scikit-learn, the same network.
torch
    the same MLP in PyTorch, when it is installed.

    python benchmarks/bench_nn.py [--samples 60000] [--rounds 7] [--quick] [--threads 1]

Target (issue 8): NNClassifier and NNRegressor at most 1.3 x the floor. What the floor
leaves out runs single-threaded in numpy, per batch (measured on a 2-core AMD EPYC): the
Adam step over the 235k parameters, a dozen whole-vector passes (0.4-0.7 ms; numpy's float32
sqrt alone is ~0.15 ms), gathering the batch's rows of X (0.1-0.4 ms), the L2 term
(~0.13 ms) and a dozen small operations on (200, n) arrays (~0.4 ms together). On one BLAS
thread that is ~1.4 x the floor; on two, where the products take half as long, ~2 x.

On a busy machine multi-threaded BLAS can stall for whole time slices, and an epoch that
takes 0.4 s may take seconds: ``--threads 1`` gives steadier numbers there.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from sknnedu import NNClassifier, NNRegressor

HIDDEN = (256, 128)
BATCH = 200
TARGET = 1.3


def floor_epoch(X: np.ndarray, n_outputs: int):
    """A callable that runs only the matrix products of one epoch of the same network."""
    rng = np.random.default_rng(0)
    units = [X.shape[1], *HIDDEN, n_outputs]
    W = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(X.dtype)
         for a, b in zip(units, units[1:])]
    dW = [np.empty_like(w) for w in W]
    Z = [np.empty((BATCH, b), dtype=X.dtype) for b in units[1:]]  # z[l], reused as dz[l]
    dA = [np.empty((BATCH, a), dtype=X.dtype) for a in units[1:-1]]  # da[l], l = 1..L-1

    def epoch():
        for start in range(0, X.shape[0] - BATCH + 1, BATCH):
            a = X[start:start + BATCH]
            acts = [a]
            for w, z in zip(W, Z):  # forward: z[l] = a[l-1] W[l]
                a = np.matmul(a, w, out=z)
                acts.append(a)
            dz = Z[-1]
            for l in range(len(W) - 1, -1, -1):  # backward: dW[l], da[l-1]
                np.matmul(acts[l].T, dz, out=dW[l])
                if l:
                    dz = np.matmul(dz, W[l].T, out=dA[l - 1])

    return epoch


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
        for i in range(0, X.shape[0], BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    return epoch


def best_of_rounds(epochs: dict, rounds: int) -> dict:
    """Best seconds per epoch of each contender, run in turns (one epoch each per round)."""
    times = {name: [] for name in epochs}
    for _ in range(rounds):
        for name, epoch in epochs.items():
            start = time.perf_counter()
            epoch()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=None, help="rows (default 60000)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds, one epoch of each contender per round (default 7)")
    parser.add_argument("--quick", action="store_true",
                        help="10,000 rows and 3 rounds (a smoke test; ratios are noisier)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS (and torch) threads for every contender (default: as "
                             "installed); 1 gives steadier numbers on a busy machine")
    parser.add_argument("--no-torch", action="store_true", help="leave torch out")
    args = parser.parse_args()
    if args.threads:
        threadpool_limits(args.threads)
        with contextlib.suppress(ImportError):
            import torch
            torch.set_num_threads(args.threads)
    samples = args.samples or (10_000 if args.quick else 60_000)
    rounds = args.rounds or (3 if args.quick else 7)

    X, y = make_classification(n_samples=samples, n_features=784, n_informative=50,
                               n_classes=10, random_state=0)
    X = X.astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[y]  # one-hot targets for the regressor
    print(f"X {X.shape} {X.dtype}, hidden {HIDDEN}, 10 outputs, adam, batch {BATCH}, "
          f"best of {rounds} rounds, BLAS threads {args.threads or 'default'}")
    params = dict(hidden_layer_sizes=HIDDEN, solver="adam", batch_size=BATCH, random_state=0)
    epochs = {
        "floor": floor_epoch(X, 10),
        "NNClassifier": sklearn_like_epoch(NNClassifier(**params), X, y),
        "NNRegressor": sklearn_like_epoch(NNRegressor(**params), X, Y),
        "MLPClassifier": sklearn_like_epoch(MLPClassifier(**params), X, y),
    }
    if not args.no_torch and (epoch := torch_epoch(X, y)) is not None:
        epochs["torch"] = epoch
    for epoch in epochs.values():  # warm up: first fit initialises, buffers get allocated
        epoch()
    best = best_of_rounds(epochs, rounds)

    floor = best["floor"]
    print(f"{'':15} {'s/epoch':>8} {'x floor':>8}")
    for name, seconds in best.items():
        print(f"{name:15} {seconds:8.3f} {seconds / floor:8.2f}")
    for name in ("NNClassifier", "NNRegressor"):
        ratio = best[name] / floor
        print(f"{name} / floor = {ratio:.2f}  (target <= {TARGET}: "
              f"{'met' if ratio <= TARGET else 'NOT met'})")
    print(f"NNClassifier / MLPClassifier = {best['NNClassifier'] / best['MLPClassifier']:.2f}")
    if "torch" in best:
        print(f"NNClassifier / torch         = {best['NNClassifier'] / best['torch']:.2f}")


if __name__ == "__main__":
    main()
