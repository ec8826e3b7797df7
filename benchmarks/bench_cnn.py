"""Seconds per epoch of CNNClassifier beside the same network in torch (CPU), taking turns.

10,000 float32 images 28x28x1 (random, 10 classes); conv 32@3x3 same + relu + 2x2 max
pool, conv 64@3x3 same + relu + 2x2 max pool, dense 128 relu, 10 outputs; adam,
batch 128. Each round times one epoch of every contender in turn (CNNClassifier,
torch channels_last, torch NCHW when torch is installed); the best of the rounds is
reported, with the ratios. Then the peak extra memory of one epoch of CNNClassifier
(tracemalloc, beyond the input) for growing numbers of images.

    python benchmarks/bench_cnn.py [--rounds 3] [--n 10000] [--quick]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sknnedu import CNNClassifier

warnings.simplefilter("ignore", ConvergenceWarning)


def data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n)
    return X, y


def cnn() -> CNNClassifier:
    return CNNClassifier(((32, 3), (64, 3)), (128,), padding="same", pooling="max",
                         pool_size=2, solver="adam", learning_rate_init=1e-3, batch_size=128,
                         max_iter=1, random_state=0)


def sknnedu_contender():
    """One more epoch of a warm-started CNNClassifier per call (as torch's model is reused)."""
    model = cnn().set_params(warm_start=True)

    def run(X, y) -> float:
        if not hasattr(model, "conv_kernels_"):
            model.fit(X[:256], y[:256])  # initialise once, untimed
        t = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - t

    return run


def torch_contender(channels_last: bool):
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def run(X, y) -> float:
        Xt = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))
        Xt = Xt.contiguous(memory_format=fmt)
        yt = torch.from_numpy(y)
        t = time.perf_counter()
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), 128):
            idx = order[start:start + 128]
            xb = Xt[idx].contiguous(memory_format=fmt)
            opt.zero_grad()
            loss = loss_fn(model(xb), yt[idx])
            loss.backward()
            opt.step()
        return time.perf_counter() - t

    return run


def peak_extra_mib(n: int) -> float:
    X, y = data(n)
    tracemalloc.start()
    cnn().fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="2,000 images, 2 rounds")
    args = parser.parse_args()
    n, rounds = (2000, 2) if args.quick else (args.n, args.rounds)
    X, y = data(n)
    contenders = {"CNNClassifier": sknnedu_contender()}
    try:
        import torch

        torch.set_num_threads(max(1, torch.get_num_threads()))
        contenders["torch channels_last"] = torch_contender(True)
        contenders["torch NCHW"] = torch_contender(False)
    except ImportError:
        print("torch is not installed: timing CNNClassifier alone")
    best = {name: np.inf for name in contenders}
    for r in range(rounds):
        for name, run in contenders.items():
            best[name] = min(best[name], run(X, y))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in best.items()),
              flush=True)
    print(f"\n{n} images 28x28x1, one epoch, best of {rounds} rounds:")
    for name, t in best.items():
        print(f"  {name:22s} {t:7.2f} s/epoch")
    ours = best["CNNClassifier"]
    for name in contenders:
        if name != "CNNClassifier":
            print(f"  CNNClassifier / {name}: {ours / best[name]:.2f}x")
    sizes = (500, 1000, 2000) if args.quick else (2500, 5000, 10_000)
    print("\npeak extra memory of one epoch (tracemalloc, input excluded):")
    for size in sizes:
        print(f"  n={size:6d}: {peak_extra_mib(size):7.1f} MiB "
              f"(input {size * 28 * 28 * 4 / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
