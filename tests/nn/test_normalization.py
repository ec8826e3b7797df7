"""sknnedu.nn.normalization: LayerNorm and BatchNorm against plain loops over their
formulas, their backward passes against finite differences (both modes of batch norm),
running statistics against torch's update rule, and padding."""

import numpy as np
import pytest
from references import numerical_gradient, rel_error

from sknnedu.nn.normalization import BatchNorm, LayerNorm, init_norm, init_running
from sknnedu.nn.sequences import SequenceBatch

EPS = 1e-5
LENGTHS = [5, 3, 1]


def _sequence_batch(rng, c, lengths=LENGTHS, dtype=np.float64, T=None):
    T = max(lengths) if T is None else T
    data = rng.randn(T, len(lengths), c).astype(dtype)
    lengths = np.asarray(lengths)
    data[np.arange(T)[:, None] >= lengths[None, :]] = 0
    return SequenceBatch(data, lengths)


def _inputs(rng, c):
    """An (m, c) array, (m, h, w, c) images and a ragged sequence batch (T, m, c)."""
    return {"dense": rng.randn(5, c), "images": rng.randn(2, 3, 3, c),
            "sequences": _sequence_batch(rng, c)}


def _params(rng, c, dtype=np.float64):
    gamma, beta = init_norm(c, dtype)
    gamma += rng.uniform(0.5, 1.5, c).astype(dtype)
    beta += rng.randn(c).astype(dtype)
    return gamma, beta


def _data(a):
    return a.data if isinstance(a, SequenceBatch) else a


def _with_data(a, data):
    return SequenceBatch(data, a.lengths) if isinstance(a, SequenceBatch) else data




def _gradcheck(layer, x, training, rng, h=1e-6):
    """``J = sum(R * a)``: analytic gradients of x and every parameter against centred
    differences. R is nonzero at padded steps too: the layer must ignore it there."""
    R = rng.randn(*_data(x).shape)

    def J():
        return float(np.sum(R * _data(layer.forward(x, training))))

    layer.forward(x, training)
    dx = layer.backward(R.copy()).copy()
    grads = [g.copy() for g in layer.grads]
    arrays = [_data(x)] + layer.params
    for array, analytic in zip(arrays, [dx] + grads):
        numeric = numerical_gradient(J, array, h)
        assert rel_error(analytic, numeric) < 1e-6, rel_error(analytic, numeric)
    return dx


def _rows(x):
    """The valid rows of x as a list of (c,) vectors, by plain loops."""
    if isinstance(x, SequenceBatch):
        return [x.data[t, i] for i in range(len(x.lengths)) for t in range(x.lengths[i])]
    return list(np.asarray(x).reshape(-1, np.asarray(x).shape[-1]))


# ------------------------------------------------------------------ LayerNorm


def reference_layer_norm(x, gamma, beta):
    """Each row over its channels, one value at a time."""
    out = np.zeros_like(_data(x))
    flat = out.reshape(-1, out.shape[-1])
    src = _data(x).reshape(-1, out.shape[-1])
    valid = (np.ones(len(src), bool) if not isinstance(x, SequenceBatch)
             else x.mask.reshape(-1))
    for r in range(len(src)):
        if not valid[r]:
            continue
        c = len(src[r])
        mu = sum(src[r][j] for j in range(c)) / c
        var = sum((src[r][j] - mu) ** 2 for j in range(c)) / c
        for j in range(c):
            flat[r, j] = gamma[j] * (src[r][j] - mu) / np.sqrt(var + EPS) + beta[j]
    return out


@pytest.mark.parametrize("kind", ["dense", "images", "sequences"])
def test_layer_norm_follows_its_formula(kind):
    rng = np.random.RandomState(0)
    x = _inputs(rng, 4)[kind]
    gamma, beta = _params(rng, 4)
    a = LayerNorm(gamma, beta).forward(x)
    assert type(a) is type(x)
    np.testing.assert_allclose(_data(a), reference_layer_norm(x, gamma, beta),
                               rtol=1e-12, atol=1e-12)
    if kind == "sequences":
        assert np.all(a.data[~x.mask] == 0)


@pytest.mark.parametrize("kind", ["dense", "images", "sequences"])
def test_layer_norm_gradients(kind):
    rng = np.random.RandomState(1)
    x = _inputs(rng, 4)[kind]
    layer = LayerNorm(*_params(rng, 4))
    dx = _gradcheck(layer, x, True, rng)
    if kind == "sequences":
        assert np.all(dx[~x.mask] == 0)


def test_layer_norm_a_sequence_alone_equals_it_in_a_batch():
    rng = np.random.RandomState(2)
    batch = _sequence_batch(rng, 4, [5, 3, 1])
    layer = LayerNorm(*_params(rng, 4))
    together = layer.forward(batch).data.copy()
    R = rng.randn(*batch.data.shape)
    dx_together = layer.backward(R.copy()).copy()
    for i, T_i in enumerate(batch.lengths):
        alone = SequenceBatch(batch.data[:T_i, i:i + 1].copy(), np.array([T_i]))
        np.testing.assert_allclose(layer.forward(alone).data[:, 0], together[:T_i, i],
                                   rtol=1e-13, atol=1e-13)
        dx = layer.backward(R[:T_i, i:i + 1].copy())
        np.testing.assert_allclose(dx[:, 0], dx_together[:T_i, i], rtol=1e-13, atol=1e-13)


# ------------------------------------------------------------------ BatchNorm


def reference_batch_norm(x, gamma, beta, mean=None, var=None):
    """Per channel, over the valid values of the batch (or the given statistics)."""
    rows = _rows(x)
    c = len(gamma)
    if mean is None:
        n = len(rows)
        mean = [sum(r[j] for r in rows) / n for j in range(c)]
        var = [sum((r[j] - mean[j]) ** 2 for r in rows) / n for j in range(c)]
    out = np.zeros_like(_data(x))
    flat, src = out.reshape(-1, c), _data(x).reshape(-1, c)
    valid = (np.ones(len(src), bool) if not isinstance(x, SequenceBatch)
             else x.mask.reshape(-1))
    for r in range(len(src)):
        for j in range(c):
            if valid[r]:
                flat[r, j] = gamma[j] * (src[r, j] - mean[j]) / np.sqrt(var[j] + EPS) + beta[j]
    return out


def _batch_norm(rng, c, dtype=np.float64):
    running_mean = rng.randn(c).astype(dtype)
    running_var = rng.uniform(0.5, 2.0, c).astype(dtype)
    return BatchNorm(*_params(rng, c, dtype), running_mean, running_var)


@pytest.mark.parametrize("kind", ["dense", "images", "sequences"])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_follows_its_formula(kind, training):
    rng = np.random.RandomState(3)
    x = _inputs(rng, 4)[kind]
    layer = _batch_norm(rng, 4)
    gamma, beta = layer.params
    stats = {} if training else {"mean": layer.state[0].copy(), "var": layer.state[1].copy()}
    a = layer.forward(x, training)
    assert type(a) is type(x)
    np.testing.assert_allclose(_data(a), reference_batch_norm(x, gamma, beta, **stats),
                               rtol=1e-12, atol=1e-12)
    if kind == "sequences":
        assert np.all(a.data[~x.mask] == 0)


@pytest.mark.parametrize("kind", ["dense", "images", "sequences"])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradients(kind, training):
    rng = np.random.RandomState(4)
    x = _inputs(rng, 3)[kind]
    dx = _gradcheck(_batch_norm(rng, 3), x, training, rng)
    if kind == "sequences":
        assert np.all(dx[~x.mask] == 0)


@pytest.mark.parametrize("kind", ["dense", "images", "sequences"])
def test_running_statistics_follow_torchs_update(kind):
    """torch: running = (1 - momentum) running + momentum stat, momentum 0.1, the
    variance unbiased; updated in place in the estimator's arrays; prediction leaves them."""
    rng = np.random.RandomState(5)
    x = _inputs(rng, 4)[kind]
    layer = _batch_norm(rng, 4)
    running_mean, running_var = layer.state
    before_mean, before_var = running_mean.copy(), running_var.copy()
    rows = _rows(x)
    n = len(rows)
    mean = [sum(r[j] for r in rows) / n for j in range(4)]
    unbiased = [sum((r[j] - mean[j]) ** 2 for r in rows) / (n - 1) for j in range(4)]
    layer.forward(x, training=True)
    assert layer.state[0] is running_mean and layer.state[1] is running_var
    np.testing.assert_allclose(running_mean, 0.9 * before_mean + 0.1 * np.array(mean),
                               rtol=1e-13)
    np.testing.assert_allclose(running_var, 0.9 * before_var + 0.1 * np.array(unbiased),
                               rtol=1e-13)
    after = running_mean.copy(), running_var.copy()
    layer.forward(x, training=False)
    np.testing.assert_array_equal(running_mean, after[0])
    np.testing.assert_array_equal(running_var, after[1])


def test_running_variance_of_a_single_value_per_channel():
    layer = BatchNorm(*init_norm(2, np.float64), *init_running(2, np.float64))
    layer.forward(np.array([[1.0, -2.0]]), training=True)
    np.testing.assert_allclose(layer.state[0], [0.1, -0.2])
    np.testing.assert_allclose(layer.state[1], [0.9, 0.9])   # 0.9 * 1 + 0.1 * 0


def test_state_is_not_learned():
    layer = _batch_norm(np.random.RandomState(6), 3)
    assert layer.state_names == ("running_mean", "running_var")
    assert layer.param_names == ("gamma", "beta") and layer.penalized == (False, False)
    assert not any(s is p for s in layer.state for p in layer.params)


def test_batch_norm_padding_never_enters_the_statistics():
    """Training: the statistics of a ragged batch are those of its valid steps, whatever
    sits in the padding and however long it is; padded steps come out 0."""
    rng = np.random.RandomState(7)
    batch = _sequence_batch(rng, 4, [5, 3, 1])
    layer = _batch_norm(rng, 4)
    start = [s.copy() for s in layer.state]
    out = layer.forward(batch, training=True).data.copy()
    stats = [s.copy() for s in layer.state]
    rows = batch.data[batch.mask]             # the valid steps, in the order of mask
    for s, s0 in zip(layer.state, start):
        s[...] = s0
    flat = layer.forward(rows, training=True)
    np.testing.assert_allclose(out[batch.mask], flat, rtol=1e-13, atol=1e-13)
    for s, s_batch in zip(layer.state, stats):
        np.testing.assert_allclose(s, s_batch, rtol=1e-13)

    longer = _sequence_batch(rng, 4, [5, 3, 1], T=8)
    longer.data[:5] = batch.data
    longer.data[~longer.mask] = 1e3           # garbage in the padding
    for s, s0 in zip(layer.state, start):
        s[...] = s0
    out_longer = layer.forward(longer, training=True).data
    np.testing.assert_allclose(out_longer[:5], out, rtol=1e-13, atol=1e-13)
    assert np.all(out_longer[~longer.mask] == 0)
    for s, s_batch in zip(layer.state, stats):
        np.testing.assert_allclose(s, s_batch, rtol=1e-13)


def test_batch_norm_prediction_a_sequence_alone_equals_it_in_a_batch():
    rng = np.random.RandomState(8)
    batch = _sequence_batch(rng, 4, [5, 3, 1])
    layer = _batch_norm(rng, 4)
    together = layer.forward(batch, training=False).data.copy()
    R = rng.randn(*batch.data.shape)
    dx_together = layer.backward(R.copy()).copy()
    for i, T_i in enumerate(batch.lengths):
        alone = SequenceBatch(batch.data[:T_i, i:i + 1].copy(), np.array([T_i]))
        np.testing.assert_allclose(layer.forward(alone).data[:, 0], together[:T_i, i],
                                   rtol=1e-13, atol=1e-13)
        dx = layer.backward(R[:T_i, i:i + 1].copy())
        np.testing.assert_allclose(dx[:, 0], dx_together[:T_i, i], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("kind", ["dense", "images", "sequences"])
@pytest.mark.parametrize("make", ["layer", "batch_train", "batch_predict"])
def test_float32_stays_float32(kind, make):
    rng = np.random.RandomState(9)
    x = _inputs(rng, 4)[kind]
    x = _with_data(x, _data(x).astype(np.float32))
    if make == "layer":
        layer, training = LayerNorm(*_params(rng, 4, np.float32)), True
    else:
        layer, training = _batch_norm(rng, 4, np.float32), make == "batch_train"
    a = layer.forward(x, training)
    dx = layer.backward(np.ones(_data(x).shape, np.float32))
    assert _data(a).dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads)
    assert all(s.dtype == np.float32 for s in getattr(layer, "state", []))
    reference = (reference_layer_norm(x, *layer.params) if make == "layer"
                 else _data(BatchNorm(*[p.astype(np.float64) for p in layer.params],
                                      *init_running(4, np.float64)).forward(
                     _with_data(x, _data(x).astype(np.float64)), training=True))
                 if make == "batch_train" else None)
    if reference is not None:
        np.testing.assert_allclose(_data(a), reference, rtol=1e-4, atol=1e-5)


def test_channel_mismatch_says_what_is_wrong():
    with pytest.raises(ValueError, match="LayerNorm has 3 channels"):
        LayerNorm(*init_norm(3, np.float64)).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="BatchNorm has 3 channels"):
        BatchNorm(*init_norm(3, np.float64), *init_running(3, np.float64)).forward(
            np.zeros((2, 4)), training=True)
