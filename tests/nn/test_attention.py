"""sknnedu.nn.attention: attention against plain loops over the queries, gradients against
finite differences, masks (padding, causal, length 0), and float32."""

import numpy as np
import pytest
from references import numerical_gradient, padded_batch, rel_error

from sknnedu.nn.attention import (
    ENCODER_PARAMS,
    MultiHeadSelfAttention,
    attention_backward,
    attention_forward,
    encoder_layer,
    init_attention,
    init_encoder_layer,
)
from sknnedu.nn.sequences import SequenceBatch

LENGTHS = [6, 3, 1]








# ----------------------------------------------------------------- the function pair

def reference_attention(Q, K, V, lengths, causal):
    """One query at a time: scores, softmax over the allowed keys, weighted sum of values."""
    m, H, T, d_k = Q.shape
    out = np.zeros_like(Q)
    for i in range(m):
        for h in range(H):
            for t in range(T):
                keys = [u for u in range(lengths[i]) if not causal or u <= t]
                if not keys:
                    continue
                s = np.array([Q[i, h, t] @ K[i, h, u] / np.sqrt(d_k) for u in keys])
                p = np.exp(s - s.max())
                p /= p.sum()
                out[i, h, t] = sum(p_u * V[i, h, u] for p_u, u in zip(p, keys))
    return out


def _qkv(rng, m=3, H=2, T=6, d_k=3):
    return [rng.standard_normal((m, H, T, d_k)) for _ in range(3)]


def _key_mask(lengths, T):
    return np.arange(T)[None, :] < np.asarray(lengths)[:, None]


@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_a_loop_over_the_queries(causal):
    rng = np.random.default_rng(0)
    Q, K, V = _qkv(rng)
    lengths = [6, 3, 0]
    out, _ = attention_forward(Q, K, V, _key_mask(lengths, 6), causal=causal)
    np.testing.assert_allclose(out, reference_attention(Q, K, V, lengths, causal),
                               rtol=1e-12, atol=1e-12)
    assert not out[2].any()  # a sequence of length 0 reads nothing


def test_attention_without_a_mask_reads_every_key_and_survives_huge_scores():
    rng = np.random.default_rng(1)
    Q, K, V = _qkv(rng)
    out, _ = attention_forward(Q, K, V, None)
    np.testing.assert_allclose(out, reference_attention(Q, K, V, [6, 6, 6], False), atol=1e-12)
    out, _ = attention_forward(1e4 * Q, K, V, None)  # exp would overflow without the max
    assert np.isfinite(out).all()


def _attention_loss(Q, K, V, mask, causal, R, dropout=0.0, seed=None):
    rng = None if seed is None else np.random.default_rng(seed)
    out, cache = attention_forward(Q, K, V, mask, causal=causal, dropout=dropout, rng=rng)
    return float(np.sum(out * R)), cache


@pytest.mark.parametrize("causal, dropout", [(False, 0.0), (True, 0.0), (False, 0.3)])
def test_attention_backward_matches_finite_differences(causal, dropout):
    rng = np.random.default_rng(2)
    Q, K, V = _qkv(rng)
    R = rng.standard_normal(Q.shape)
    mask = _key_mask([6, 3, 1], 6)
    # the same seed draws the same dropout mask at every evaluation
    _, cache = _attention_loss(Q, K, V, mask, causal, R, dropout, seed=3)
    dQ, dK, dV = attention_backward(R, cache)
    for x, dx in ((Q, dQ), (K, dK), (V, dV)):
        num = numerical_gradient(lambda: _attention_loss(Q, K, V, mask, causal, R,
                                                         dropout, seed=3)[0], x)
        assert rel_error(dx, num) < 1e-6
    # padded keys get no gradient
    assert not dK[1, :, 3:].any() and not dV[2, :, 1:].any()


def test_a_softmax_backward_without_its_jacobian_term_is_caught():
    rng = np.random.default_rng(4)
    Q, K, V = _qkv(rng)
    R = rng.standard_normal(Q.shape)
    _, cache = _attention_loss(Q, K, V, None, False, R)
    dQ, _, _ = attention_backward(R, cache)
    # dS = P * dP, the row sum left out, is the usual slip
    dQ_wrong = (cache["P"] * (R @ V.swapaxes(-1, -2))) @ K / np.sqrt(3)
    num = numerical_gradient(lambda: _attention_loss(Q, K, V, None, False, R)[0], Q)
    assert rel_error(dQ, num) < 1e-6
    assert rel_error(dQ_wrong, num) > 1e-2


def test_attention_dropout_is_inverted_and_drawn_in_float64():
    rng = np.random.default_rng(5)
    Q, K, V = _qkv(rng, m=2, H=1, T=5, d_k=2)
    V1 = np.ones_like(V)
    out64, c64 = attention_forward(Q, K, V1, None, dropout=0.5, rng=np.random.default_rng(0))
    out32, c32 = attention_forward(*(a.astype(np.float32) for a in (Q, K, V1)), None,
                                   dropout=0.5, rng=np.random.default_rng(0))
    assert set(np.unique(c64["keep"])) <= {0.0, 2.0}
    np.testing.assert_array_equal(c64["keep"] > 0, c32["keep"] > 0)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out64, c64["P_drop"].sum(-1)[..., None] * np.ones(2))


# ---------------------------------------------------------- the multi-head layer

def _layer_params(d, rng):
    """init_attention's arrays, with non-zero biases so that their gradients are tested."""
    return [p + 0.3 * rng.standard_normal(p.shape) for p in init_attention(d, rng, np.float64)]


def reference_mhsa(x, W_qkv, b_qkv, W_o, b_o, H, causal):
    """One sequence (T, d): projections, each head by the loop above, heads concatenated."""
    T, d = x.shape
    d_k = d // H
    Z = x @ W_qkv + b_qkv
    heads = []
    for h in range(H):
        q, k, v = (Z[:, j * d + h * d_k: j * d + (h + 1) * d_k][None, None] for j in range(3))
        heads.append(reference_attention(q, k, v, [T], causal)[0, 0])
    return np.concatenate(heads, axis=1) @ W_o + b_o


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_self_attention_matches_the_reference_per_sequence(causal):
    rng = np.random.default_rng(6)
    params = _layer_params(8, rng)
    batch = padded_batch(LENGTHS, 8, rng)
    Y = MultiHeadSelfAttention(*params, n_heads=2, causal=causal).forward(batch).data
    for i, L in enumerate(LENGTHS):
        ref = reference_mhsa(batch.data[:L, i], *params, 2, causal)
        np.testing.assert_allclose(Y[:L, i], ref, rtol=1e-12, atol=1e-12)
        assert not Y[L:, i].any()


def _layer_loss(layer, batch, R, training=False, seed=None):
    if seed is not None:
        layer.rng = np.random.default_rng(seed)
    return float(np.sum(layer.forward(batch, training).data * R))


@pytest.mark.parametrize("causal, dropout", [(False, 0.0), (True, 0.0), (False, 0.2)])
def test_multi_head_self_attention_gradients(causal, dropout):
    rng = np.random.default_rng(7)
    d = 4
    params = _layer_params(d, rng)
    layer = MultiHeadSelfAttention(*params, n_heads=2, causal=causal, dropout=dropout,
                                   rng=np.random.default_rng(0))
    batch = padded_batch(LENGTHS, d, rng)
    R = rng.standard_normal(batch.data.shape)  # non-zero at padded steps too: ignored
    _layer_loss(layer, batch, R, training=True, seed=1)
    dX = layer.backward(R.copy()).copy()
    grads = [g.copy() for g in layer.grads]

    def loss():
        return _layer_loss(layer, batch, R, training=True, seed=1)

    for p, g in zip(params, grads):
        assert rel_error(g, numerical_gradient(loss, p)) < 1e-6
    assert rel_error(dX, numerical_gradient(loss, batch.data)) < 1e-6
    assert not dX[~batch.mask].any()


def test_dropout_acts_only_in_training():
    rng = np.random.default_rng(8)
    layer = MultiHeadSelfAttention(*_layer_params(4, rng), n_heads=1, dropout=0.5,
                                   rng=np.random.default_rng(0))
    batch = padded_batch(LENGTHS, 4, rng)
    a = layer.forward(batch).data.copy()
    b = layer.forward(batch).data.copy()
    c = layer.forward(batch, training=True).data.copy()
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_padding_changes_nothing():
    rng = np.random.default_rng(9)
    d = 4
    params = _layer_params(d, rng)
    batch = padded_batch([3, 6, 5], d, rng)
    alone = SequenceBatch(batch.data[:3, :1].copy(), np.array([3]))
    results = []
    for b in (alone, batch):
        layer = MultiHeadSelfAttention(*params, n_heads=2)
        Y = layer.forward(b).data
        R = np.zeros_like(Y)
        R[:3, 0] = np.arange(3 * d).reshape(3, d) / 10  # only sequence 0 counts
        dX = layer.backward(R)
        results.append((Y[:3, 0].copy(), dX[:3, 0].copy(), [g.copy() for g in layer.grads]))
    (Y1, dX1, g1), (Y2, dX2, g2) = results
    np.testing.assert_allclose(Y1, Y2, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dX1, dX2, rtol=1e-12, atol=1e-13)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_a_sequence_of_length_zero_gives_no_nan():
    rng = np.random.default_rng(10)
    layer = MultiHeadSelfAttention(*_layer_params(4, rng), n_heads=2, causal=True)
    batch = padded_batch([4, 0, 2], 4, rng)
    Y = layer.forward(batch).data
    dX = layer.backward(rng.standard_normal(Y.shape))
    assert np.isfinite(Y).all() and np.isfinite(dX).all()
    assert all(np.isfinite(g).all() for g in layer.grads)
    assert not Y[:, 1].any() and not dX[:, 1].any()


def test_float32_stays_float32():
    rng = np.random.default_rng(11)
    params = init_attention(8, rng, np.float32)
    assert all(p.dtype == np.float32 for p in params)
    layer = MultiHeadSelfAttention(*params, n_heads=4, dropout=0.1, rng=rng)
    batch = padded_batch(LENGTHS, 8, rng, np.float32)
    Y = layer.forward(batch, training=True).data
    dX = layer.backward(np.ones_like(Y))
    assert Y.dtype == dX.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads)


def test_init_attention_follows_torch():
    rng = np.random.default_rng(12)
    W_qkv, b_qkv, W_o, b_o = init_attention(16, rng, np.float64)
    assert W_qkv.shape == (16, 48) and W_o.shape == (16, 16)
    assert np.abs(W_qkv).max() <= np.sqrt(6 / 64) and np.abs(W_o).max() <= 1 / 4
    assert not b_qkv.any() and not b_o.any()


def test_bad_shapes_and_heads_are_refused():
    rng = np.random.default_rng(13)
    params = init_attention(6, rng, np.float64)
    with pytest.raises(ValueError, match="n_heads must divide the model width 6"):
        MultiHeadSelfAttention(*params, n_heads=4)
    with pytest.raises(ValueError, match="W_qkv must be"):
        MultiHeadSelfAttention(params[0][:, :12], *params[1:], n_heads=2)
    with pytest.raises(ValueError, match="needs rng"):
        MultiHeadSelfAttention(*params, n_heads=2, dropout=0.1)


# ---------------------------------------------------------------- the encoder layer

def _layer_norm(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * gamma + beta


def reference_encoder(x, params, H, norm_first):
    """One sequence (T, d), written from the formulas of encoder_layer's docstring."""
    W_qkv, b_qkv, W_o, b_o, W_1, b_1, W_2, b_2, g_1, be_1, g_2, be_2 = params

    def mhsa(y):
        return reference_mhsa(y, W_qkv, b_qkv, W_o, b_o, H, False)

    def ff(y):
        return np.maximum(y @ W_1[0] + b_1, 0) @ W_2[0] + b_2

    if norm_first:
        x = x + mhsa(_layer_norm(x, g_1, be_1))
        return x + ff(_layer_norm(x, g_2, be_2))
    x = _layer_norm(x + mhsa(x), g_1, be_1)
    return _layer_norm(x + ff(x), g_2, be_2)


def _encoder_params(d, d_ff, rng, dtype=np.float64):
    """init_encoder_layer's arrays, every one moved off its start (gamma off 1, biases off 0)."""
    return [(p + 0.3 * rng.standard_normal(p.shape)).astype(dtype)
            for p in init_encoder_layer(d, d_ff, rng, dtype)]


def run_forward(layers, a, training=False):
    for layer in layers:
        a = layer.forward(a, training)
    return a


def run_backward(layers, da):
    for layer in reversed(layers):
        da = layer.backward(da)
    return da


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_the_reference_per_sequence(norm_first):
    rng = np.random.default_rng(14)
    params = _encoder_params(8, 12, rng)
    batch = padded_batch(LENGTHS, 8, rng)
    Y = run_forward(encoder_layer(params, 2, norm_first=norm_first), batch).data
    for i, L in enumerate(LENGTHS):
        ref = reference_encoder(batch.data[:L, i], params, 2, norm_first)
        np.testing.assert_allclose(Y[:L, i], ref, rtol=1e-10, atol=1e-12)
        assert not Y[L:, i].any()


@pytest.mark.parametrize("norm_first, dropout", [(False, 0.0), (True, 0.0), (False, 0.2),
                                                 (True, 0.2)])
def test_encoder_layer_gradients(norm_first, dropout):
    rng = np.random.default_rng(15)
    d = 4
    params = _encoder_params(d, 6, rng)
    batch = padded_batch(LENGTHS, d, rng)
    R = rng.standard_normal(batch.data.shape)

    def build():  # the same seed: the same dropout masks at every evaluation
        return encoder_layer(params, 2, norm_first=norm_first, dropout=dropout,
                             rng=np.random.default_rng(3))

    def loss():
        return float(np.sum(run_forward(build(), batch, training=True).data * R))

    layers = build()
    run_forward(layers, batch, training=True)
    dX = run_backward(layers, R.copy()).copy()
    grads = [g.copy() for layer in layers for g in layer.grads]
    assert len(grads) == 12
    for p, g in zip([p for layer in layers for p in layer.params], grads):
        assert rel_error(g, numerical_gradient(loss, p)) < 1e-6
    assert rel_error(dX, numerical_gradient(loss, batch.data)) < 1e-6
    assert not dX[~batch.mask].any()


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_padding_changes_nothing_and_length_zero_gives_no_nan(norm_first):
    rng = np.random.default_rng(16)
    d = 4
    params = _encoder_params(d, 6, rng)
    batch = padded_batch([3, 6, 0], d, rng)
    alone = SequenceBatch(batch.data[:3, :1].copy(), np.array([3]))
    results = []
    for b in (alone, batch):
        layers = encoder_layer(params, 2, norm_first=norm_first)
        Y = run_forward(layers, b).data
        assert np.isfinite(Y).all()
        R = np.zeros_like(Y)
        R[:3, 0] = np.arange(3 * d).reshape(3, d) / 10
        if b is batch:
            R[:, 2] = 1.0  # the empty sequence's gradient: ignored
        dX = run_backward(layers, R)
        assert np.isfinite(dX).all()
        grads = [g.copy() for layer in layers for g in layer.grads]
        results.append((Y[:3, 0].copy(), dX[:3, 0].copy(), grads))
    assert not Y[:, 2].any() and not dX[:, 2].any()
    (Y1, dX1, g1), (Y2, dX2, g2) = results
    np.testing.assert_allclose(Y1, Y2, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dX1, dX2, rtol=1e-12, atol=1e-13)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_encoder_layer_float32_and_params_by_name():
    rng = np.random.default_rng(17)
    params = init_encoder_layer(8, 16, rng, np.float32)
    assert all(p.dtype == np.float32 for p in params)
    batch = padded_batch(LENGTHS, 8, rng, np.float32)
    layers = encoder_layer(dict(zip(ENCODER_PARAMS, params)), 2, norm_first=True,
                           dropout=0.1, rng=np.random.default_rng(0))
    Y = run_forward(layers, batch, training=True).data
    dX = run_backward(layers, np.ones_like(Y))
    assert Y.dtype == dX.dtype == np.float32
    assert all(g.dtype == np.float32 for layer in layers for g in layer.grads)
    # a dict names the arrays; the layers hold them, in ENCODER_PARAMS order
    held = [p for layer in layers for p in layer.params]
    assert sorted(map(id, held)) == sorted(map(id, params))
    with pytest.raises(ValueError, match="params lacks \\['W_2'\\]"):
        encoder_layer({k: v for k, v in zip(ENCODER_PARAMS, params) if k != "W_2"}, 2)


def test_init_encoder_layer_follows_torch():
    rng = np.random.default_rng(18)
    params = dict(zip(ENCODER_PARAMS, init_encoder_layer(16, 64, rng, np.float64)))
    shapes = {k: v.shape for k, v in params.items()}
    assert shapes == {"W_qkv": (16, 48), "b_qkv": (48,), "W_o": (16, 16), "b_o": (16,),
                      "W_1": (1, 16, 64), "b_1": (64,), "W_2": (1, 64, 16), "b_2": (16,),
                      "gamma_1": (16,), "beta_1": (16,), "gamma_2": (16,), "beta_2": (16,)}
    assert np.abs(params["W_1"]).max() <= 1 / 4 and np.abs(params["b_1"]).max() <= 1 / 4
    assert np.abs(params["W_2"]).max() <= 1 / 8 and params["b_2"].any()
    assert (params["gamma_1"] == 1).all() and not params["beta_2"].any()
