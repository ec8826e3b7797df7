"""Benchmark: forward + backward of the conv layers of a small CNN, per batch and per epoch.

The network (float32, channels-last, MNIST-sized)::

    28x28x1 -> Conv2D 32@3x3 same relu -> max pool 2 -> Conv2D 64@3x3 same relu
            -> max pool 2 -> Flatten -> Dense 128 relu -> Dense 10 softmax

* per batch: forward + backward of the four conv/pool layers on a batch of 128,
  milliseconds per layer (best of ``--rounds``) and in total (best and median);
* per epoch (``--epochs``): ``Network.loss_grad`` + an Adam step over 10,000 random
  images in batches of 128, under single-threaded BLAS as the engine runs it:
  wall seconds and CPU seconds (all threads) per epoch. On a loaded machine the
  CPU time over the number of cores estimates the wall time on an idle one.

The layers split each batch into one part per BLAS thread (see
:mod:`sknnedu.nn.conv_layers`); ``--no-parts`` runs one part with BLAS's own threads
instead. The machine's load matters a lot: compare numbers taken together.

Run::

    .venv/bin/python benchmarks/bench_conv_layers.py [--rounds 20] [--epochs 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import sknnedu.nn.conv as conv
from sknnedu import blas
from sknnedu.nn.conv_layers import Conv2D, Flatten, Pool2D
from sknnedu.nn.layers import Dense
from sknnedu.nn.network import Network
from sknnedu.nn.optimizers import Adam

F32 = np.float32


def glorot(rng, shape, fan_in, fan_out):
    return (rng.uniform(-1, 1, shape) * np.sqrt(6 / (fan_in + fan_out))).astype(F32)


def conv_layers(rng):
    k1, k2 = glorot(rng, (32, 3, 3, 1), 9, 288), glorot(rng, (64, 3, 3, 32), 288, 576)
    return [
        Conv2D(k1, np.zeros(32, F32), input_hw=(28, 28)),
        Pool2D("max", 2),
        Conv2D(k2, np.zeros(64, F32), input_hw=(14, 14)),
        Pool2D("max", 2),
        Flatten(),
    ]


def per_batch(rounds: int, batch: int = 128) -> None:
    rng = np.random.default_rng(0)
    layers = conv_layers(rng)
    x = rng.random((batch, 28, 28, 1), dtype=F32)
    dout = rng.standard_normal((batch, 7 * 7 * 64)).astype(F32)
    times = []
    for _ in range(rounds + 2):  # two rounds to allocate the buffers
        row, a = [], x
        for layer in layers:
            t0 = time.perf_counter()
            a = layer.forward(a, training=True)
            row.append(time.perf_counter() - t0)
        da = dout.copy()
        for i in reversed(range(len(layers))):
            t0 = time.perf_counter()
            da = layers[i].backward(da, need_input_grad=i > 0)
            row.append(time.perf_counter() - t0)
        times.append(row)
    times = np.array(times[2:]) * 1e3
    total = times.sum(axis=1)
    best, n = times.min(axis=0), len(layers)
    print(
        f"batch of {batch}: forward + backward {total.min():.1f} ms best, "
        f"{np.median(total):.1f} ms median"
    )
    for i, layer in enumerate(layers[:-1]):
        print(
            f"  {type(layer).__name__:7s} forward {best[i]:5.1f} ms  "
            f"backward {best[2 * n - 1 - i]:5.1f} ms"
        )


def per_epoch(epochs: int, n: int = 10_000, batch: int = 128) -> None:
    rng = np.random.default_rng(1)
    X = rng.random((n, 28, 28, 1), dtype=F32)
    Y = np.eye(10, dtype=F32)[rng.integers(0, 10, n)]
    layers = conv_layers(rng) + [
        Dense(glorot(rng, (3136, 128), 3136, 128), np.zeros(128, F32), "relu"),
        Dense(glorot(rng, (128, 10), 128, 10), np.zeros(10, F32), "softmax"),
    ]
    net = Network(layers, "log_loss")
    optimizer = Adam(net.params)
    with blas.single_threaded():  # the conv layers split batches over threads themselves
        for epoch in range(epochs):
            order = rng.permutation(n)
            t0, cpu0 = time.perf_counter(), time.process_time()
            for start in range(0, n, batch):
                rows = order[start : start + batch]
                net.loss_grad(X[rows], Y[rows])
                optimizer.update_params(net.params, net.grads, net.grad_vector)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            print(f"epoch {epoch}: {wall:.2f} s wall, {cpu:.2f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=0)
    parser.add_argument("--no-parts", action="store_true", help="one part, BLAS threads")
    args = parser.parse_args()
    if args.no_parts:
        conv.N_THREADS = 1
    per_batch(args.rounds)
    if args.epochs:
        per_epoch(args.epochs)


if __name__ == "__main__":
    main()
