"""The new layers against torch's, given the same weights: the documented layouts, checked.

For each layer, random weights are set on both sides through the layout the docstrings give,
the same ragged batch goes through both, and the largest absolute difference is printed
(float64; forward outputs, and for the training modes the input gradient of a random
upstream gradient). Padded steps are compared at valid steps only: torch has no masks, so
the sequences go through torch one at a time (or with its key padding mask).

    python benchmarks/bench_torch_layers.py     # needs torch; prints one line per check

- ``Conv1D`` against ``nn.Conv1d(padding='same', dilation=d)``: ``W = weight.permute(2, 1, 0)``;
- ``BatchNorm`` (training: batch statistics over the valid steps, and the running ones
  after the step; prediction: the running statistics) against ``nn.BatchNorm1d`` on the
  concatenated valid steps;
- ``LayerNorm`` against ``nn.LayerNorm``;
- ``MultiHeadSelfAttention`` against ``nn.MultiheadAttention(batch_first=True)`` with a key
  padding mask: ``in_proj_weight = W_qkv.T``, ``out_proj.weight = W_o.T``;
- ``encoder_layer`` (post- and pre-norm) against ``nn.TransformerEncoderLayer``.
"""

from __future__ import annotations

import numpy as np

from sknnedu.nn.attention import MultiHeadSelfAttention, encoder_layer, init_encoder_layer
from sknnedu.nn.normalization import BatchNorm, LayerNorm
from sknnedu.nn.sequence_conv import Conv1D
from sknnedu.nn.sequences import SequenceBatch

LENGTHS = np.array([9, 6, 3])


def batch(c: int, rng) -> SequenceBatch:
    T = LENGTHS.max()
    data = rng.randn(T, len(LENGTHS), c)
    data[np.arange(T)[:, None] >= LENGTHS[None, :]] = 0
    return SequenceBatch(data, LENGTHS)


def report(name: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    print(f"{name:46s} max |difference| {np.abs(ours - theirs).max():.2e}")


def per_sequence(x: SequenceBatch, fn) -> np.ndarray:
    """torch's output of each valid sequence alone, back in our (T, m, c) layout."""
    import torch
    out = None
    for i, n in enumerate(x.lengths):
        y = fn(torch.tensor(x.data[:n, i][None])).detach().numpy()[0]   # (n, c)
        if out is None:
            out = np.zeros(x.data.shape[:2] + (y.shape[-1],))
        out[:n, i] = y
    return out


def main() -> None:
    try:
        import torch
    except ImportError:
        print("torch is not installed: nothing to compare")
        return
    torch.set_default_dtype(torch.float64)
    rng = np.random.RandomState(0)

    for k, d in ((3, 1), (4, 1), (3, 2)):
        conv = torch.nn.Conv1d(4, 5, k, padding="same", dilation=d)
        W = conv.weight.detach().numpy().transpose(2, 1, 0).copy()
        ours = Conv1D(W, conv.bias.detach().numpy().copy(), dilation=d)
        x = batch(4, rng)
        theirs = per_sequence(x, lambda s, conv=conv: conv(s.transpose(1, 2)).transpose(1, 2))
        report(f"Conv1D k={k} dilation={d}", ours.forward(x).data, theirs)

    bn = torch.nn.BatchNorm1d(4)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
    gamma, beta = (bn.weight.detach().numpy().copy(), bn.bias.detach().numpy().copy())
    mean, var = bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()
    ours = BatchNorm(gamma, beta, mean, var)
    x = batch(4, rng)
    valid = np.concatenate([x.data[:n, i] for i, n in enumerate(x.lengths)])
    bn.train()
    xt = torch.tensor(valid, requires_grad=True)
    yt = bn(xt)
    a = ours.forward(x, training=True).data
    report("BatchNorm training (valid steps)",
           np.concatenate([a[:n, i] for i, n in enumerate(x.lengths)]), yt.detach().numpy())
    report("BatchNorm running mean and variance after it",
           np.concatenate([mean, var]),
           np.concatenate([bn.running_mean.numpy(), bn.running_var.numpy()]))
    upstream = rng.randn(*valid.shape)
    yt.backward(torch.tensor(upstream))
    da = np.zeros_like(a)
    start = 0
    for i, n in enumerate(x.lengths):
        da[:n, i] = upstream[start:start + n]
        start += n
    dx = ours.backward(da)
    report("BatchNorm training, input gradient",
           np.concatenate([dx[:n, i] for i, n in enumerate(x.lengths)]), xt.grad.numpy())
    bn.eval()
    a = ours.forward(x, training=False).data
    report("BatchNorm prediction (running statistics)",
           np.concatenate([a[:n, i] for i, n in enumerate(x.lengths)]),
           bn(torch.tensor(valid)).detach().numpy())

    ln = torch.nn.LayerNorm(4)
    with torch.no_grad():
        ln.weight.uniform_(0.5, 2)
        ln.bias.uniform_(-1, 1)
    ours = LayerNorm(ln.weight.detach().numpy().copy(), ln.bias.detach().numpy().copy())
    x = batch(4, rng)
    report("LayerNorm", ours.forward(x).data, per_sequence(x, ln))

    d, heads = 8, 2
    mha = torch.nn.MultiheadAttention(d, heads, batch_first=True)
    with torch.no_grad():
        mha.in_proj_bias.uniform_(-0.5, 0.5)
        mha.out_proj.bias.uniform_(-0.5, 0.5)
    ours = MultiHeadSelfAttention(mha.in_proj_weight.detach().numpy().T.copy(),
                                  mha.in_proj_bias.detach().numpy().copy(),
                                  mha.out_proj.weight.detach().numpy().T.copy(),
                                  mha.out_proj.bias.detach().numpy().copy(), heads)
    x = batch(d, rng)
    xt = torch.tensor(x.data.transpose(1, 0, 2))
    pad = torch.tensor(~x.mask.T)
    y = mha(xt, xt, xt, key_padding_mask=pad, need_weights=False)[0].detach().numpy()
    y = y.transpose(1, 0, 2) * x.mask[:, :, None]
    report("MultiHeadSelfAttention, key padding mask", ours.forward(x).data, y)

    for norm_first in (False, True):
        layer = torch.nn.TransformerEncoderLayer(d, heads, 16, dropout=0.0, batch_first=True,
                                                 norm_first=norm_first)
        layer.eval()
        arrays = init_encoder_layer(d, 16, rng, np.float64)
        names = dict(zip(("W_qkv", "b_qkv", "W_o", "b_o", "W_1", "b_1", "W_2", "b_2",
                          "gamma_1", "beta_1", "gamma_2", "beta_2"), arrays))
        t = {k: v.detach().numpy() for k, v in layer.state_dict().items()}
        names["W_qkv"][...] = t["self_attn.in_proj_weight"].T
        names["b_qkv"][...] = t["self_attn.in_proj_bias"] + rng.uniform(-.5, .5, 3 * d)
        names["W_o"][...] = t["self_attn.out_proj.weight"].T
        names["W_1"][0] = t["linear1.weight"].T
        names["b_1"][...] = t["linear1.bias"]
        names["W_2"][0] = t["linear2.weight"].T
        names["b_2"][...] = t["linear2.bias"]
        with torch.no_grad():
            layer.self_attn.in_proj_bias.copy_(torch.tensor(names["b_qkv"]))
            layer.self_attn.out_proj.bias.copy_(torch.tensor(names["b_o"]))
        a = x
        for sub in encoder_layer(names, heads, norm_first=norm_first):
            a = sub.forward(a)
        y = layer(xt, src_key_padding_mask=pad).detach().numpy().transpose(1, 0, 2)
        report(f"encoder layer, norm_first={norm_first}", a.data,
               y * x.mask[:, :, None])


if __name__ == "__main__":
    main()
