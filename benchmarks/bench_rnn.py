"""Speed and memory of one training epoch of RNNClassifier, beside torch's nn.LSTM / nn.GRU.

2,000 float32 sequences of 100 steps of 8 features (and a ragged variant, lengths 50 to
150, torch with packed sequences), 64 units, a linear head, batch 32, adam. The two take
turns in one process, best of ``--repeat``; both run single-threaded (sknnedu's engine
keeps BLAS on one thread for products this small; torch.set_num_threads(1)).

    python benchmarks/bench_rnn.py            # needs torch for the ratio; runs without it
    python benchmarks/bench_rnn.py --memory   # peak memory of an epoch at n and 2n

Each side runs 3 epochs per timed call (ours: a warm-started ``fit`` with ``max_iter=3``,
after an untimed first fit, as torch's model is reused), reported per epoch.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sknnedu import RNNClassifier


def data(n: int, ragged: bool, seed: int = 0):
    rng = np.random.RandomState(seed)
    if ragged:
        X = [rng.randn(rng.randint(50, 151), 8).astype(np.float32) for _ in range(n)]
    else:
        X = rng.randn(n, 100, 8).astype(np.float32)
    y = rng.randint(0, 4, n)
    return X, y


EPOCHS = 3  # per timed call, both sides: a fit's set-up is shared by its epochs


def ours(cell: str, X, y):
    clf = RNNClassifier((64,), cell=cell, bidirectional=False, batch_size=32, solver="adam",
                        max_iter=1, clip_norm=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    clf.set_params(warm_start=True, max_iter=EPOCHS)

    def epochs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    return epochs


def theirs(cell: str, X, y):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(8, 64, batch_first=True)
    head = torch.nn.Linear(64, 4)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    ragged = isinstance(X, list)
    if ragged:
        seqs = [torch.from_numpy(s) for s in X]
        lengths = torch.tensor([len(s) for s in X])
    else:
        Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    rng = np.random.RandomState(0)

    def epochs():
        for _ in range(EPOCHS):
            epoch()

    def epoch():
        order = rng.permutation(len(y))
        for start in range(0, len(y), 32):
            rows = order[start:start + 32]
            if ragged:
                pad = torch.nn.utils.rnn.pad_sequence([seqs[i] for i in rows], batch_first=True)
                inp = torch.nn.utils.rnn.pack_padded_sequence(
                    pad, lengths[rows], batch_first=True, enforce_sorted=False)
            else:
                inp = Xt[rows]
            out = rnn(inp)[1]
            h = out[0] if cell == "lstm" else out
            loss = torch.nn.functional.cross_entropy(head(h[-1]), yt[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return epochs


def best_of(fns: dict, repeat: int) -> dict:
    times = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():  # taking turns
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: min(v) for k, v in times.items()}


def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def epochs_beside_torch(description: str, n: int, data, ours, theirs, labels: dict,
                        epochs: int) -> None:
    """The command line of a benchmark that times an epoch of ours beside torch's: for
    equal lengths and ragged ones (``labels``: ragged -> label), best of ``--repeat``
    taking turns, each library's default threads (``--threads`` sets both), and with
    ``--memory`` the peak traced memory of a warm epoch at n and 2n."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--n", type=int, default=n)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    try:
        import torch
        have_torch = True
        if args.threads:
            torch.set_num_threads(args.threads)
    except ImportError:
        have_torch = False
        print("torch is not installed: sknnedu's times only")
    if args.threads:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)
    for ragged, label in labels.items():
        X, y = data(args.n, ragged)
        fns = {"sknnedu": ours(X, y)}
        if have_torch:
            fns["torch"] = theirs(X, y)
        t = {k: v / epochs for k, v in best_of(fns, args.repeat).items()}
        ratio = f"  ratio {t['sknnedu'] / t['torch']:.2f}x" if have_torch else ""
        print(f"{label:16s} sknnedu {t['sknnedu']:.2f} s/epoch"
              + (f", torch {t['torch']:.2f} s/epoch" if have_torch else "") + ratio, flush=True)
        if args.memory:
            X2, y2 = data(2 * args.n, ragged, seed=1)
            m1, m2 = peak_mib(ours(X, y)), peak_mib(ours(X2, y2))
            print(f"{'':16s} peak traced memory of a warm epoch: n={args.n} {m1:.0f} MiB, "
                  f"n={2 * args.n} {m2:.0f} MiB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        print("torch is not installed: sknnedu's times only")
    for cell, ragged in (("lstm", False), ("gru", False), ("lstm", True), ("gru", True)):
        X, y = data(args.n, ragged)
        label = f"{cell} {'ragged 50-150' if ragged else 'length 100'}"
        fns = {"sknnedu": ours(cell, X, y)}
        if have_torch:
            fns["torch"] = theirs(cell, X, y)
        t = {k: v / EPOCHS for k, v in best_of(fns, args.repeat).items()}
        ratio = f"  ratio {t['sknnedu'] / t['torch']:.2f}x" if have_torch else ""
        print(f"{label:22s} sknnedu {t['sknnedu']:.2f} s/epoch"
              + (f", torch {t['torch']:.2f} s/epoch" if have_torch else "") + ratio, flush=True)
        if args.memory:
            X2, y2 = data(2 * args.n, ragged, seed=1)
            e1, e2 = ours(cell, X, y), ours(cell, X2, y2)
            m1, m2 = peak_mib(e1), peak_mib(e2)
            data_mib = (sum(s.nbytes for s in X) if ragged else X.nbytes) / 2**20
            print(f"{'':22s} peak traced memory of a warm fit: n={args.n} "
                  f"{m1:.0f} MiB, n={2 * args.n} {m2:.0f} MiB (the data: {data_mib:.0f} MiB "
                  "at n)", flush=True)


if __name__ == "__main__":
    main()
