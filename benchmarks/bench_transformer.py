"""Speed and memory of one training epoch of TransformerClassifier, beside torch's encoder.

2,000 float32 sequences of 100 steps of 8 features (and a ragged variant, lengths 50 to
150, torch with a key padding mask), width 64, 4 heads, 2 layers, feed-forward 128,
pre-norm, no dropout, mean readout, a linear head, batch 32, adam: the defaults of
TransformerClassifier and the same ``nn.TransformerEncoder`` in torch. The two take turns
in one process, best of ``--repeat``, each with its library's default threads
(``--threads`` sets both).

    python benchmarks/bench_transformer.py            # needs torch for the ratio
    python benchmarks/bench_transformer.py --memory   # peak memory of an epoch at n and 2n
"""

from __future__ import annotations

import warnings

import numpy as np
from bench_rnn import epochs_beside_torch
from sklearn.exceptions import ConvergenceWarning

from sknnedu import TransformerClassifier

EPOCHS = 3  # per timed call, both sides: a fit's set-up (its reference loss) is shared


def data(n: int, ragged: bool, seed: int = 0):
    rng = np.random.RandomState(seed)
    if ragged:
        X = [rng.randn(rng.randint(50, 151), 8).astype(np.float32) for _ in range(n)]
    else:
        X = rng.randn(n, 100, 8).astype(np.float32)
    return X, rng.randint(0, 4, n)


def ours(X, y):
    clf = TransformerClassifier(64, 4, 2, 128, batch_size=32, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    clf.set_params(warm_start=True, max_iter=EPOCHS)

    def epochs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    return epochs


def theirs(X, y):
    import torch
    torch.manual_seed(0)
    proj = torch.nn.Linear(8, 64)
    layer = torch.nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, norm_first=True,
                                             batch_first=True)
    enc = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(64),
                                      enable_nested_tensor=False)
    head = torch.nn.Linear(64, 4)
    params = list(proj.parameters()) + list(enc.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    ragged = isinstance(X, list)
    seqs = [torch.from_numpy(s) for s in X] if ragged else None
    Xt = None if ragged else torch.from_numpy(X)
    yt, rng = torch.from_numpy(y), np.random.RandomState(0)
    pe = None

    def positions(T):
        t = np.arange(T)[:, None]
        i = np.arange(0, 64, 2)[None]
        table = np.zeros((T, 64), np.float32)
        table[:, 0::2] = np.sin(t / 10000 ** (i / 64))
        table[:, 1::2] = np.cos(t / 10000 ** (i / 64))
        return torch.from_numpy(table)

    def epochs():
        nonlocal pe
        enc.train()
        for _ in range(EPOCHS):
            order = rng.permutation(len(y))
            for start in range(0, len(y), 32):
                rows = order[start:start + 32]
                if ragged:
                    inp = torch.nn.utils.rnn.pad_sequence([seqs[i] for i in rows],
                                                          batch_first=True)
                    lengths = torch.tensor([len(seqs[i]) for i in rows])
                    pad = torch.arange(inp.shape[1])[None] >= lengths[:, None]
                else:
                    inp, pad = Xt[rows], None
                T = inp.shape[1]
                if pe is None or pe.shape[0] < T:
                    pe = positions(max(T, 150))
                h = enc(proj(inp) + pe[:T], src_key_padding_mask=pad)
                if pad is None:
                    r = h.mean(1)
                else:
                    keep = (~pad).unsqueeze(2).float()
                    r = (h * keep).sum(1) / keep.sum(1)
                loss = torch.nn.functional.cross_entropy(head(r), yt[rows])
                opt.zero_grad()
                loss.backward()
                opt.step()
    return epochs


def main() -> None:
    epochs_beside_torch(__doc__.splitlines()[0], 2000, data, ours, theirs,
                        {False: "length 100", True: "ragged 50-150"}, EPOCHS)


if __name__ == "__main__":
    main()
