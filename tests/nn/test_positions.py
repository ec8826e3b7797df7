"""sknnedu.nn.positions: positional encodings against their formulas, the class token and
its readout, gradients against finite differences, padding, and float32."""

import numpy as np
import pytest
from references import numerical_gradient, padded_batch, rel_error

from sknnedu.nn.positions import (
    ClassToken,
    FirstStep,
    PositionalEncoding,
    init_class_token,
    init_positions,
)
from sknnedu.nn.sequences import SequenceBatch, Sequences

LENGTHS = [6, 3, 1]








def check_gradients(layer, batch, R):
    """Analytic gradients of ``sum(out * R)`` for the input and every parameter."""
    def loss():
        out = layer.forward(batch)
        return float(np.sum((out.data if isinstance(out, SequenceBatch) else out) * R))

    loss()
    dX = layer.backward(R.copy()).copy()
    for p, g in zip(layer.params, [g.copy() for g in layer.grads]):
        assert rel_error(g, numerical_gradient(loss, p)) < 1e-6
    assert rel_error(dX, numerical_gradient(loss, batch.data)) < 1e-6
    assert not dX[~batch.mask].any()


@pytest.mark.parametrize("d", [6, 5])
def test_sinusoidal_positions_follow_the_formula(d):
    rng = np.random.default_rng(0)
    layer = PositionalEncoding()
    for lengths in (LENGTHS, [40, 2]):  # a longer batch after a short one: any length
        batch = padded_batch(lengths, d, rng)
        out = layer.forward(batch).data
        for t in range(max(lengths)):
            for j in range(d):
                i = j // 2
                angle = t / 10000 ** (2 * i / d)
                pe = np.sin(angle) if j % 2 == 0 else np.cos(angle)
                for s, L in enumerate(lengths):
                    expected = batch.data[t, s, j] + pe if t < L else 0.0
                    assert out[t, s, j] == pytest.approx(expected, abs=1e-12)
    assert layer.params == [] and layer.penalized == ()


def test_sinusoidal_gradient_is_the_mask():
    rng = np.random.default_rng(1)
    batch = padded_batch(LENGTHS, 4, rng)
    check_gradients(PositionalEncoding(), batch, rng.standard_normal(batch.data.shape))


def test_learned_positions_add_their_row_and_check_gradients():
    rng = np.random.default_rng(2)
    P = init_positions(8, 4, rng, np.float64)
    layer = PositionalEncoding("learned", P=P)
    assert layer.param_names == ("P",) and layer.penalized == (False,)
    batch = padded_batch(LENGTHS, 4, rng)
    out = layer.forward(batch).data
    np.testing.assert_allclose(out[:3, 1], batch.data[:3, 1] + P[:3])
    assert not out[3:, 1].any()
    check_gradients(layer, batch, rng.standard_normal(batch.data.shape))
    assert not layer.grads[0][6:].any()  # positions past the batch learn nothing


def test_learned_positions_refuse_a_longer_sequence():
    rng = np.random.default_rng(3)
    layer = PositionalEncoding("learned", P=init_positions(4, 2, rng, np.float64))
    with pytest.raises(ValueError, match="sequence of 6 steps came.*cover 4 steps"):
        layer.forward(padded_batch(LENGTHS, 2, rng))
    # a long padded array whose sequences all fit is fine
    data = np.zeros((7, 2, 2))
    data[:3] = 1
    out = layer.forward(SequenceBatch(data, np.array([3, 3]))).data
    assert not out[3:].any()


def test_positional_encoding_arguments_are_checked():
    with pytest.raises(ValueError, match="kind must be"):
        PositionalEncoding("rotary")
    with pytest.raises(ValueError, match="needs P"):
        PositionalEncoding("learned")
    with pytest.raises(ValueError, match="needs P"):
        PositionalEncoding(P=np.zeros((3, 2)))


def test_class_token_prepends_c_and_its_readout_is_step_zero():
    rng = np.random.default_rng(4)
    c = init_class_token(4, rng, np.float64)
    batch = padded_batch(LENGTHS, 4, rng)
    out = ClassToken(c).forward(batch)
    assert out.data.shape == (7, 3, 4) and out.lengths.tolist() == [7, 4, 2]
    np.testing.assert_array_equal(out.data[0], np.tile(c, (3, 1)))
    np.testing.assert_array_equal(out.data[1:], batch.data)
    assert not out.data[~out.mask].any()
    np.testing.assert_array_equal(FirstStep().forward(out), out.data[0])


def test_class_token_gradients():
    rng = np.random.default_rng(5)
    layer = ClassToken(init_class_token(4, rng, np.float64))
    assert layer.penalized == (False,)
    batch = padded_batch(LENGTHS, 4, rng)
    check_gradients(layer, batch, rng.standard_normal((7, 3, 4)))


def test_first_step_gradients_and_length_zero():
    rng = np.random.default_rng(6)
    batch = padded_batch([3, 0, 2], 4, rng)
    layer = FirstStep()
    np.testing.assert_array_equal(layer.forward(batch), batch.data[0])
    check_gradients(layer, batch, rng.standard_normal((3, 4)))
    # through a class token, a sequence of length 0 reads c alone, with no NaN
    token = ClassToken(init_class_token(4, rng, np.float64))
    out = layer.forward(token.forward(batch))
    np.testing.assert_array_equal(out[1], token.params[0])
    dX = token.backward(layer.backward(np.ones((3, 4))))
    assert np.isfinite(dX).all() and not dX[:, 1].any()
    np.testing.assert_array_equal(token.grads[0], 3 * np.ones(4))


def test_padding_changes_nothing():
    rng = np.random.default_rng(7)
    P = init_positions(8, 3, rng, np.float64)
    c = init_class_token(3, rng, np.float64)
    batch = padded_batch([3, 6, 5], 3, rng)
    alone = SequenceBatch(batch.data[:3, :1].copy(), np.array([3]))
    results = []
    for b in (alone, batch):
        layers = [PositionalEncoding("learned", P=P), ClassToken(c), PositionalEncoding()]
        a = b
        for layer in layers:
            a = layer.forward(a)
        R = np.zeros_like(a.data)
        R[:4, 0] = 1 + np.arange(12).reshape(4, 3)
        for layer in reversed(layers):
            R = layer.backward(R)
        grads = [g.copy() for layer in layers for g in layer.grads]
        results.append((a.data[:4, 0].copy(), R[:3, 0].copy(), grads))
    (a1, d1, g1), (a2, d2, g2) = results
    np.testing.assert_allclose(a1, a2, rtol=0, atol=0)
    np.testing.assert_allclose(d1, d2, rtol=0, atol=0)
    for x, y in zip(g1, g2):
        np.testing.assert_allclose(x, y, rtol=1e-15, atol=0)


@pytest.mark.parametrize("kind", ["sinusoidal", "learned"])
def test_float32_stays_float32(kind):
    rng = np.random.default_rng(8)
    P = init_positions(8, 4, rng, np.float32) if kind == "learned" else None
    layers = [PositionalEncoding(kind, P=P), ClassToken(init_class_token(4, rng, np.float32)),
              FirstStep()]
    a = Sequences([rng.standard_normal((L, 4)).astype(np.float32) for L in LENGTHS])
    for layer in layers:
        a = layer.forward(a)
        assert (a.data if isinstance(a, SequenceBatch) else a).dtype == np.float32
    d = np.ones((3, 4), dtype=np.float32)
    for layer in reversed(layers):
        d = layer.backward(d)
        assert d.dtype == np.float32
    assert all(g.dtype == np.float32 for layer in layers for g in layer.grads)
