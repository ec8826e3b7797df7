"""Accuracy of the sequence estimators on the UCR/UEA archive files that the sktime wheel ships.

The archive's own train/test split, the estimator at its defaults, the mean of 3 seeds,
side by side with 1-nearest-neighbour on the padded series, MLPClassifier on the
flattened padded series and, when torch is installed, a torch LSTM of the same size
trained as a user would (adam 1e-3, 200 epochs, full batch for these small sets... see
``torch_lstm``; last state).

    python benchmarks/bench_sequences.py                 # the three tuning sets
    python benchmarks/bench_sequences.py --unseen        # sets kept out of the tuning
    python benchmarks/bench_sequences.py --variants      # the defaults search
    python benchmarks/bench_sequences.py --model cnn --all          # SequenceCNNClassifier()
    python benchmarks/bench_sequences.py --model transformer --all  # TransformerClassifier()
    python benchmarks/bench_sequences.py --model cnn --variants --only ...

Needs ``sktime`` installed (the test extra) for its data files only; sktime is never
imported.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

from sknnedu import RNNClassifier, SequenceCNNClassifier, TransformerClassifier
from sknnedu.datasets import load_ts, sktime_ts_path

TUNING = ("GunPoint", "ItalyPowerDemand", "JapaneseVowels")
UNSEEN = ("ArrowHead", "BasicMotions", "OSULeaf")
MODELS = {"rnn": RNNClassifier, "cnn": SequenceCNNClassifier,
          "transformer": TransformerClassifier}
#: published accuracies (Fawaz et al. 2019, means of 10 runs; 1-NN from the archive)
PUBLISHED = {
    "ArrowHead": {"FCN": 0.843, "ResNet": 0.845},
    "OSULeaf": {"FCN": 0.977, "ResNet": 0.979},
    "GunPoint": {"1-NN (published)": 0.913, "MLP (published)": 0.927, "FCN": 1.000,
                 "ResNet": 0.991},
    "ItalyPowerDemand": {"1-NN (published)": 0.955, "MLP (published)": 0.954, "FCN": 0.961,
                         "ResNet": 0.963},
    "JapaneseVowels": {"MLP (published)": 0.976, "FCN": 0.993, "ResNet": 0.992},
}


def load(name: str):
    Xtr, ytr = load_ts(sktime_ts_path(name, "train"))
    Xte, yte = load_ts(sktime_ts_path(name, "test"))
    return Xtr, ytr, Xte, yte


def padded(X, T: int) -> np.ndarray:
    """Sequences as one (n, T * f) table, zero-padded at the end (for the tabular peers)."""
    seqs = list(X)
    f = seqs[0].shape[1]
    out = np.zeros((len(seqs), T, f))
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s[:T]
    return out.reshape(len(seqs), -1)


def torch_lstm(Xtr, ytr, Xte, units: int, seed: int) -> np.ndarray | None:
    """A torch LSTM of ``units`` (last state of packed sequences, linear head), adam 1e-3,
    200 epochs of minibatches of 32: predictions on Xte, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    classes, y = np.unique(ytr, return_inverse=True)
    f = Xtr[0].shape[1]
    lstm = torch.nn.LSTM(f, units, batch_first=True)
    head = torch.nn.Linear(units, len(classes))
    opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=1e-3)

    def forward(seqs):
        lengths = torch.tensor([len(s) for s in seqs])
        pad = torch.nn.utils.rnn.pad_sequence([torch.tensor(s, dtype=torch.float32)
                                               for s in seqs], batch_first=True)
        packed = torch.nn.utils.rnn.pack_padded_sequence(pad, lengths, batch_first=True,
                                                         enforce_sorted=False)
        _, (h, _) = lstm(packed)
        return head(h[-1])

    seqs = list(Xtr)
    yt = torch.tensor(y)
    rng = np.random.RandomState(seed)
    for _ in range(200):
        order = rng.permutation(len(seqs))
        for start in range(0, len(seqs), 32):
            rows = order[start:start + 32]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(forward([seqs[i] for i in rows]), yt[rows])
            loss.backward()
            opt.step()
    with torch.no_grad():
        return classes[forward(list(Xte)).argmax(1).numpy()]


def torch_fcn(Xtr, ytr, Xte, seed: int, epochs: int = 300) -> np.ndarray | None:
    """Wang et al.'s FCN in torch (Conv1d 128/8, 256/5, 128/3 'same', BatchNorm1d, ReLU,
    global average pooling, linear), adam 1e-3, minibatches of 32; padded steps are zero
    and enter torch's batch statistics and pooling (torch has no masks for them).
    Predictions on Xte, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(seed)
    classes, y = np.unique(ytr, return_inverse=True)
    f = Xtr[0].shape[1]
    layers, c = [], f
    for filters, k in ((128, 8), (256, 5), (128, 3)):
        layers += [torch.nn.Conv1d(c, filters, k, padding="same"),
                   torch.nn.BatchNorm1d(filters), torch.nn.ReLU()]
        c = filters
    net = torch.nn.Sequential(*layers)
    head = torch.nn.Linear(c, len(classes))
    opt = torch.optim.Adam(list(net.parameters()) + list(head.parameters()), lr=1e-3)
    allx = list(Xtr) + list(Xte)
    mu = np.concatenate(allx[:len(Xtr)]).mean(0)
    sd = np.concatenate(allx[:len(Xtr)]).std(0) + 1e-8

    def batch(seqs):
        T = max(len(s) for s in seqs)
        out = np.zeros((len(seqs), f, T), np.float32)
        for i, s in enumerate(seqs):
            out[i, :, :len(s)] = ((s - mu) / sd).T
        return torch.tensor(out)

    def forward(seqs):
        return head(net(batch(seqs)).mean(dim=2))

    seqs, yt, rng = list(Xtr), torch.tensor(y), np.random.RandomState(seed)
    net.train()
    for _ in range(epochs):
        order = rng.permutation(len(seqs))
        for start in range(0, len(seqs), 32):
            rows = order[start:start + 32]
            if len(rows) < 2:
                continue
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(forward([seqs[i] for i in rows]), yt[rows])
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        return classes[forward(list(Xte)).argmax(1).numpy()]


def run(name: str, make, seeds=(0, 1, 2)) -> tuple[float, float]:
    """Mean test accuracy of ``make(seed)`` over seeds, and the mean fit time."""
    Xtr, ytr, Xte, yte = load(name)
    scores, times = [], []
    for seed in seeds:
        est = make(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t = time.perf_counter()
            est.fit(Xtr, ytr)
            times.append(time.perf_counter() - t)
        scores.append(np.mean(est.predict(Xte) == yte))
    return float(np.mean(scores)), float(np.mean(times))


def peers(name: str, fcn: bool = False) -> dict[str, float]:
    Xtr, ytr, Xte, yte = load(name)
    T = max(len(s) for s in list(Xtr) + list(Xte))
    Ptr, Pte = padded(Xtr, T), padded(Xte, T)
    out = {"1-NN": np.mean(KNeighborsClassifier(1).fit(Ptr, ytr).predict(Pte) == yte)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out["MLPClassifier"] = np.mean([
            np.mean(MLPClassifier(random_state=s, max_iter=1000).fit(Ptr, ytr).predict(Pte)
                    == yte) for s in (0, 1, 2)])
    if fcn:
        pred = [torch_fcn(Xtr, ytr, Xte, s) for s in (0, 1, 2)]
        if pred[0] is not None:
            out["torch FCN"] = np.mean([np.mean(p == yte) for p in pred])
        return out
    lstm = [torch_lstm(Xtr, ytr, Xte, 64, s) for s in (0, 1, 2)]
    if lstm[0] is not None:
        out["torch LSTM(64)"] = np.mean([np.mean(p == yte) for p in lstm])
    return out


VARIANTS = {
    # round 1 (every variant of gru64 last lr5e-3 batch 32 clip 1, 200 epochs)
    "gru64 last lr5e-3 b32 clip1": dict(recurrent_layers=(64,)),
    "lstm64": dict(recurrent_layers=(64,), cell="lstm"),
    "rnn64": dict(recurrent_layers=(64,), cell="rnn"),
    "gru64 mean": dict(recurrent_layers=(64,), readout="mean"),
    "gru64 bidir": dict(recurrent_layers=(64,), bidirectional=True),
    "gru32": dict(recurrent_layers=(32,)),
    "gru64 lr1e-3": dict(recurrent_layers=(64,), learning_rate_init=1e-3),
    "gru64 lr1e-2": dict(recurrent_layers=(64,), learning_rate_init=1e-2),
    "gru64 b16": dict(recurrent_layers=(64,), batch_size=16),
    "gru64 auto batch": dict(recurrent_layers=(64,), batch_size="auto"),
    # round 2: smaller
    "gru16": dict(recurrent_layers=(16,)),
    "gru32 mean": dict(recurrent_layers=(32,), readout="mean"),
    "gru32 bidir": dict(recurrent_layers=(32,), bidirectional=True),
    "lstm32": dict(recurrent_layers=(32,), cell="lstm"),
    "gru32 no clip": dict(recurrent_layers=(32,), clip_norm=None),
    "gru32 400 epochs": dict(recurrent_layers=(32,), max_iter=400),
    "gru32 alpha1e-2": dict(recurrent_layers=(32,), alpha=1e-2),
    # round 3: the runs above stop early on a noisy training loss: patience 50, 500 epochs
    "gru32 p50": dict(recurrent_layers=(32,), n_iter_no_change=50, max_iter=500),
    "gru64 p50": dict(recurrent_layers=(64,), n_iter_no_change=50, max_iter=500),
    "lstm32 p50": dict(recurrent_layers=(32,), cell="lstm", n_iter_no_change=50, max_iter=500),
    "gru32 bidir p50": dict(recurrent_layers=(32,), bidirectional=True, n_iter_no_change=50,
                            max_iter=500),
    "gru32 p50 lr2e-3": dict(recurrent_layers=(32,), n_iter_no_change=50, max_iter=500,
                             learning_rate_init=2e-3),
}

#: SequenceCNNClassifier variants (the defaults are Wang et al.'s FCN)
CNN_VARIANTS = {
    "fcn 128-256-128": dict(),
    "fcn 64-128-64": dict(conv_layers=((64, 8), (128, 5), (64, 3))),
    "resnet 64-128-128 x3": dict(conv_layers=((64, 8), (64, 5), (64, 3), (128, 8), (128, 5),
                                              (128, 3), (128, 8), (128, 5), (128, 3)),
                                 residual=True),
    "fcn no batch norm": dict(batch_norm=False),
    "fcn max readout": dict(readout="max"),
    "fcn lr 3e-3": dict(learning_rate_init=3e-3),
}

#: TransformerClassifier variants
TRANSFORMER_VARIANTS = {
    "d64 h4 l2 pre-norm drop0.1": dict(),
    "post-norm": dict(norm_first=False),
    "cls readout": dict(readout="cls"),
    "learned positions": dict(positional="learned"),
    "dropout 0": dict(dropout=0.0),
    "d32 h4 l1": dict(model_dim=32, n_layers=1, feedforward_dim=64),
    "lr 3e-4": dict(learning_rate_init=3e-4),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unseen", action="store_true", help="the sets kept out of tuning")
    parser.add_argument("--variants", action="store_true", help="the defaults search")
    parser.add_argument("--only", nargs="*", help="variant names to run")
    parser.add_argument("--model", choices=sorted(MODELS), default="rnn")
    parser.add_argument("--all", action="store_true", help="the tuning and the unseen sets")
    parser.add_argument("--sets", nargs="*", help="data sets to run")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    names = UNSEEN if args.unseen else TUNING
    names = TUNING + UNSEEN if args.all else names
    names = tuple(args.sets) if args.sets else names
    model = MODELS[args.model]
    if args.variants:
        table = {"rnn": VARIANTS, "cnn": CNN_VARIANTS, "transformer": TRANSFORMER_VARIANTS}
        chosen = {k: v for k, v in table[args.model].items() if not args.only or k in args.only}
        print(f"{'variant':28s} " + " ".join(f"{n:>18s}" for n in names) + "   mean   fit s")
        for label, kw in chosen.items():
            res = [run(n, lambda s, kw=kw: model(random_state=s, **kw),
                       tuple(range(args.seeds))) for n in names]
            print(f"{label:28s} " + " ".join(f"{a:18.4f}" for a, _ in res)
                  + f" {np.mean([a for a, _ in res]):6.4f} {np.mean([t for _, t in res]):7.1f}",
                  flush=True)
        return
    seeds = tuple(range(args.seeds))
    if args.model == "rnn" and args.unseen:
        seeds = (0,)  # the unseen sets once (OSULeaf is long)
    label = f"{model.__name__}()"
    for n in names:
        acc, secs = run(n, lambda s: model(random_state=s), seeds)
        row = {label: acc, **peers(n, fcn=args.model == "cnn"), **PUBLISHED.get(n, {})}
        print(f"{n}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items())
              + f"  ({label} fit {secs:.1f} s, {len(seeds)} seeds)", flush=True)


if __name__ == "__main__":
    main()
