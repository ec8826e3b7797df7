"""Speed and memory of one training epoch of SequenceCNNClassifier, beside torch's FCN.

1,000 float32 series of 250 steps (and a ragged variant, lengths 150 to 250), one
channel, the default network (Wang et al.'s FCN: convolutions of 128/8, 256/5, 128/3
with batch norm and ReLU, global average pooling, a linear head), batch 32, adam. torch's
FCN is the same network in ``nn.Conv1d(padding='same')``/``nn.BatchNorm1d`` on zero-padded
batches (it has no masks: its padding enters the statistics and the pooling, so it
computes less than ours on ragged batches). The two take turns in one process, best of
``--repeat``, each with its library's default threads (``--threads`` sets both).

    python benchmarks/bench_seqcnn.py            # needs torch for the ratio; runs without it
    python benchmarks/bench_seqcnn.py --memory   # peak memory of an epoch at n and 2n
"""

from __future__ import annotations

import warnings

import numpy as np
from bench_rnn import epochs_beside_torch
from sklearn.exceptions import ConvergenceWarning

from sknnedu import SequenceCNNClassifier

EPOCHS = 3  # per timed call, both sides: a fit's set-up (its reference loss) is shared


def data(n: int, ragged: bool, seed: int = 0):
    rng = np.random.RandomState(seed)
    if ragged:
        X = [rng.randn(rng.randint(150, 251), 1).astype(np.float32) for _ in range(n)]
    else:
        X = rng.randn(n, 250, 1).astype(np.float32)
    return X, rng.randint(0, 4, n)


def ours(X, y):
    clf = SequenceCNNClassifier(batch_size=32, max_iter=1, random_state=0)
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
    layers, c = [], 1
    for filters, k in ((128, 8), (256, 5), (128, 3)):
        layers += [torch.nn.Conv1d(c, filters, k, padding="same"),
                   torch.nn.BatchNorm1d(filters), torch.nn.ReLU()]
        c = filters
    net, head = torch.nn.Sequential(*layers), torch.nn.Linear(c, 4)
    opt = torch.optim.Adam(list(net.parameters()) + list(head.parameters()), lr=1e-3)
    ragged = isinstance(X, list)
    seqs = [torch.from_numpy(s.T.copy()) for s in X] if ragged else None
    Xt = None if ragged else torch.from_numpy(X.transpose(0, 2, 1).copy())
    yt, rng = torch.from_numpy(y), np.random.RandomState(0)

    def epochs():
        for _ in range(EPOCHS):
            order = rng.permutation(len(y))
            for start in range(0, len(y), 32):
                rows = order[start:start + 32]
                if ragged:
                    T = max(seqs[i].shape[1] for i in rows)
                    inp = torch.zeros(len(rows), 1, T)
                    for j, i in enumerate(rows):
                        inp[j, :, :seqs[i].shape[1]] = seqs[i]
                else:
                    inp = Xt[rows]
                loss = torch.nn.functional.cross_entropy(head(net(inp).mean(2)), yt[rows])
                opt.zero_grad()
                loss.backward()
                opt.step()
    return epochs


def main() -> None:
    epochs_beside_torch(__doc__.splitlines()[0], 1000, data, ours, theirs,
                        {False: "length 250", True: "ragged 150-250"}, EPOCHS)


if __name__ == "__main__":
    main()
