"""sknnedu.nn.layers on sequence batches: the Activation layer (against
nn.activations.activation and finite differences) and Dropout on a SequenceBatch."""

import numpy as np
import pytest

from sknnedu.nn.activations import ACTIVATIONS, DERIVATIVES, activation
from sknnedu.nn.layers import Activation, Dropout
from sknnedu.nn.sequences import SequenceBatch

LENGTHS = [5, 3, 1]


def _sequence_batch(rng, c, lengths=LENGTHS, dtype=np.float64):
    lengths = np.asarray(lengths)
    T = lengths.max()
    data = rng.randn(T, len(lengths), c).astype(dtype)
    data[np.arange(T)[:, None] >= lengths[None, :]] = 0
    return SequenceBatch(data, lengths)


def _data(a):
    return a.data if isinstance(a, SequenceBatch) else a


def _inputs(rng, c):
    return {"dense": rng.randn(4, c), "images": rng.randn(2, 3, 3, c),
            "sequences": _sequence_batch(rng, c)}


def _rel_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("kind", ["dense", "images", "sequences"])
def test_activation_layer_applies_g(name, kind):
    rng = np.random.RandomState(0)
    x = _inputs(rng, 3)[kind]
    before = _data(x).copy()
    a = Activation(name).forward(x)
    assert type(a) is type(x)
    expected = activation(name, _data(x))
    if kind == "sequences":
        expected[~x.mask] = 0
        assert np.all(a.data[~x.mask] == 0)       # sigmoid(0) = 1/2 is set back to 0
    np.testing.assert_allclose(_data(a), expected, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(_data(x), before)   # the input is not overwritten


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
@pytest.mark.parametrize("kind", ["dense", "images", "sequences"])
def test_activation_layer_gradient(name, kind):
    """``J = sum(R * g(x))`` against centred differences; R is nonzero at padded steps."""
    rng = np.random.RandomState(1)
    x = _inputs(rng, 3)[kind]
    layer = Activation(name, slope=0.1)
    R = rng.randn(*_data(x).shape)
    layer.forward(x, training=True)
    dx = layer.backward(R.copy()).copy()
    data, h = _data(x), 1e-6
    numeric = np.zeros_like(data)
    for i in np.ndindex(data.shape):
        old = data[i]
        data[i] = old + h
        plus = np.sum(R * _data(layer.forward(x)))
        data[i] = old - h
        minus = np.sum(R * _data(layer.forward(x)))
        data[i] = old
        numeric[i] = (plus - minus) / (2 * h)
    assert _rel_error(dx, numeric) < 1e-6
    if kind == "sequences":
        assert np.all(dx[~x.mask] == 0)


def test_activation_a_sequence_alone_equals_it_in_a_batch():
    rng = np.random.RandomState(2)
    batch = _sequence_batch(rng, 3)
    layer = Activation("tanh")
    together = layer.forward(batch).data.copy()
    R = rng.randn(*batch.data.shape)
    dx_together = layer.backward(R.copy()).copy()
    for i, T_i in enumerate(batch.lengths):
        alone = SequenceBatch(batch.data[:T_i, i:i + 1].copy(), np.array([T_i]))
        np.testing.assert_array_equal(layer.forward(alone).data[:, 0], together[:T_i, i])
        np.testing.assert_array_equal(layer.backward(R[:T_i, i:i + 1].copy())[:, 0],
                                      dx_together[:T_i, i])


@pytest.mark.parametrize("name", ["relu", "sigmoid", "identity"])
def test_activation_float32_stays_float32(name):
    x = _sequence_batch(np.random.RandomState(3), 3, dtype=np.float32)
    layer = Activation(name)
    a = layer.forward(x)
    dx = layer.backward(np.ones(x.data.shape, np.float32))
    assert a.data.dtype == dx.dtype == np.float32


def test_activation_names_are_checked():
    with pytest.raises(ValueError, match="Unknown activation of an Activation layer 'sigmoidd'"):
        Activation("sigmoidd")
    layer = Activation("abs")
    layer.forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match="'abs' has no derivative"):
        layer.backward(np.ones((2, 2)))


def test_dropout_on_a_sequence_batch():
    rng = np.random.RandomState(4)
    batch = _sequence_batch(rng, 6, [7, 4, 1, 6])
    batch.data[~batch.mask] = 5.0                      # garbage in the padding stays out
    layer = Dropout(0.5, np.random.default_rng(0))
    a = layer.forward(batch, training=True)
    assert isinstance(a, SequenceBatch)
    np.testing.assert_array_equal(a.lengths, batch.lengths)
    assert a.data.shape == batch.data.shape
    assert np.all(a.data[~batch.mask] == 0)
    # the mask as the ndarray path draws it, then 0 at padded steps
    keep = np.random.default_rng(0).random(batch.data.shape) >= 0.5
    keep &= batch.mask[:, :, None]
    np.testing.assert_array_equal(layer.mask, keep * 2.0)
    np.testing.assert_array_equal(a.data, batch.data * keep * 2.0)
    da = rng.randn(*batch.data.shape)
    dx = layer.backward(da.copy())
    np.testing.assert_array_equal(dx, da * keep * 2.0)
    assert np.all(dx[~batch.mask] == 0)
    # prediction: the batch itself
    assert layer.forward(batch, training=False) is batch


def test_dropout_on_arrays_draws_as_before():
    x = np.random.RandomState(5).randn(8, 5).astype(np.float32)
    layer = Dropout(0.25, np.random.default_rng(3))
    a = layer.forward(x, training=True)
    keep = np.random.default_rng(3).random(x.shape) >= 0.25
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_array_equal(a, x * (keep * np.float32(1 / 0.75)))
