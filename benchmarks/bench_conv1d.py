"""Time Conv1D forward + backward on one float32 batch of sequences.

T = 250 steps, m = 32 sequences (lengths from 150 to 250, so the mask is used),
64 -> 128 channels, kernel 5, ReLU; best of 5 calls after one warm-up. Run with
``python benchmarks/bench_conv1d.py``; set ``OPENBLAS_NUM_THREADS`` to choose BLAS threads.
"""

from __future__ import annotations

import time

import numpy as np

from sknnedu.nn.sequence_conv import Conv1D, init_conv1d
from sknnedu.nn.sequences import SequenceBatch


def main(T: int = 250, m: int = 32, c_in: int = 64, c_out: int = 128, k: int = 5,
         repeats: int = 5) -> float:
    rng = np.random.RandomState(0)
    lengths = rng.randint(150, T + 1, size=m)
    lengths[0] = T
    X = rng.standard_normal((T, m, c_in)).astype(np.float32)
    batch = SequenceBatch(X, lengths)
    conv = Conv1D(*init_conv1d(k, c_in, c_out, rng, np.float32), activation="relu")
    da = rng.standard_normal((T, m, c_out)).astype(np.float32)
    best = np.inf
    for _ in range(repeats + 1):  # the first call allocates the buffers
        start = time.perf_counter()
        conv.forward(batch, training=True)
        conv.backward(da.copy())
        best = min(best, time.perf_counter() - start)
    print(f"Conv1D T={T} m={m} {c_in}->{c_out} k={k} float32: "
          f"forward + backward {best * 1e3:.1f} ms (best of {repeats})")
    return best


if __name__ == "__main__":
    main()
