"""Benchmark: one convolutional layer (conv 'same' -> relu -> 2x2 max pool) on RGB images.

Compares, on ``n`` random float32 32x32x3 images and 16 random 5x5x3 kernels:

* ``sknnedu.nn.conv.conv_pool2d`` (the functional core),
* ``ConvFeatureTransformer.transform`` on the flattened rows (what a Pipeline runs),
* PyTorch ``conv2d + relu + max_pool2d`` on CPU, if torch is importable, in its
  default NCHW layout and in channels-last (the faster one is the reference);
  inputs are converted before timing, so torch is timed on its own layout,
* a ``scipy.signal.correlate2d`` loop on a subset of the images, scaled to ``n``.

It checks that all results agree, and prints the best wall time of a few repeats,
the ratio to torch and the peak extra memory of our transform (tracemalloc; numpy
reports its allocations to it). Thread settings are left at their defaults.

Run::

    .venv/bin/python benchmarks/bench_conv.py [--n 2000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
from scipy.signal import correlate2d

from sknnedu.feature_extraction import ConvFeatureTransformer
from sknnedu.nn.conv import conv_pool2d

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # torch is optional
    torch = None

H = W = 32
C = 3
K = 16
F_SIZE = 5
POOL = 2


def time_round_robin(fns: dict, repeats: int) -> tuple[dict, dict, dict]:
    """Time every function ``repeats`` times, taking turns so that a burst of load on
    a shared machine hits all of them alike (after one warm-up call each).

    Returns the best and the median wall time of each, and its last result.
    """
    results = {name: fn() for name, fn in fns.items()}
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    best = {name: min(t) for name, t in times.items()}
    median = {name: float(np.median(t)) for name, t in times.items()}
    return best, median, results


def peak_extra_mib(fn) -> float:
    """Peak memory allocated during ``fn()`` beyond what was allocated before, in MiB."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - before) / 2**20


def scipy_layer(images: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """The layer with correlate2d: a loop over images, kernels and channels."""
    n = len(images)
    out = np.empty((n, H // POOL, W // POOL, K), dtype=np.float64)
    for i in range(n):
        for k in range(K):
            z = sum(
                correlate2d(images[i, :, :, c], kernels[k, :, :, c], mode="same", boundary="fill")
                for c in range(C)
            )
            z = np.maximum(z, 0)
            out[i, :, :, k] = z.reshape(H // POOL, POOL, W // POOL, POOL).max(axis=(1, 3))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="number of images")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats (best is kept)")
    parser.add_argument("--scipy-subset", type=int, default=100, help="images for the scipy loop")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    images = rng.random((args.n, H, W, C), dtype=np.float32)
    kernels = rng.standard_normal((K, F_SIZE, F_SIZE, C)).astype(np.float32)
    rows = images.reshape(args.n, -1)
    print(
        f"{args.n} RGB {H}x{W} float32 images, {K} kernels {F_SIZE}x{F_SIZE}x{C}, "
        f"padding='same', relu, {POOL}x{POOL} max pooling; {args.repeats} repeats"
    )

    def core():
        return conv_pool2d(images, kernels, padding="same", activation="relu", pooling="max")

    # the transformer's defaults differ (|z|, overlapping average pooling, standardised):
    # ask for the core's layer, so both compute the same features
    transformer = ConvFeatureTransformer(
        kernels, activation="relu", pooling="max", pool_stride=None, standardize=False,
        image_shape=(H, W, C)).fit(rows[:1])

    def pipeline_step():
        return transformer.transform(rows)

    fns = {"sknnedu conv_pool2d": core, "sknnedu ConvFeatureTransformer": pipeline_step}
    torch_names = []
    if torch is not None:
        x_nchw = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        x_nhwc = x_nchw.contiguous(memory_format=torch.channels_last)
        weight = torch.from_numpy(np.ascontiguousarray(kernels.transpose(0, 3, 1, 2)))

        def torch_layer(x):
            with torch.no_grad():
                return F.max_pool2d(F.relu(F.conv2d(x, weight, padding="same")), POOL)

        threads = torch.get_num_threads()
        for layout, x in [("NCHW", x_nchw), ("channels_last", x_nhwc)]:
            name = f"torch {torch.__version__} ({layout}, {threads} threads)"
            fns[name] = lambda x=x: torch_layer(x)
            torch_names.append(name)

    best, median, outputs = time_round_robin(fns, args.repeats)
    out_core = outputs["sknnedu conv_pool2d"]
    np.testing.assert_array_equal(
        outputs["sknnedu ConvFeatureTransformer"], out_core.reshape(args.n, -1)
    )
    for name in torch_names:
        out = outputs[name].permute(0, 2, 3, 1).numpy()
        np.testing.assert_allclose(out, out_core, rtol=1e-4, atol=1e-4)
    t_torch = min((best[name] for name in torch_names), default=None)

    subset = min(args.scipy_subset, args.n)
    start = time.perf_counter()
    out_scipy = scipy_layer(images[:subset].astype(np.float64), kernels.astype(np.float64))
    t_scipy = (time.perf_counter() - start) * args.n / subset
    scipy_name = f"scipy correlate2d loop ({subset} images, scaled)"
    best[scipy_name] = median[scipy_name] = t_scipy
    np.testing.assert_allclose(out_core[:subset], out_scipy, rtol=1e-4, atol=1e-4)

    width = max(map(len, best))
    print(f"{'method':<{width}}  best (s)  vs torch  median (s)")
    for name, t in best.items():
        ratio = f"{t / t_torch:6.2f}x" if t_torch else "     -"
        print(f"{name:<{width}}  {t:8.4f}  {ratio:>8}  {median[name]:10.4f}")
    print("all results agree (allclose, rtol=1e-4, atol=1e-4)")

    out_mib = out_core.nbytes / 2**20
    print(
        f"peak extra memory (tracemalloc): conv_pool2d {peak_extra_mib(core):.1f} MiB, "
        f"transform {peak_extra_mib(pipeline_step):.1f} MiB, of which the output "
        f"{out_mib:.1f} MiB; input {images.nbytes / 2**20:.1f} MiB"
    )
    if t_torch:
        t_trans = best["sknnedu ConvFeatureTransformer"]
        verdict = "meets" if t_trans <= 1.2 * t_torch else "misses"
        print(
            f"target <= 1.2x torch (its faster layout): transformer at "
            f"{t_trans / t_torch:.2f}x ({verdict})"
        )


if __name__ == "__main__":
    main()
