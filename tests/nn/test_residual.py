"""sknnedu.nn.residual: Fork and Join against the formula a = g(F(x) + P x), gradients
through whole blocks (identity and projection) against finite differences, within a
Network too, and padding."""

import numpy as np
import pytest
from references import numerical_gradient, rel_error

from sknnedu.nn.layers import Activation, Dense, Layer
from sknnedu.nn.network import Network
from sknnedu.nn.normalization import LayerNorm
from sknnedu.nn.recurrent import Readout
from sknnedu.nn.residual import Fork, Join
from sknnedu.nn.sequences import SequenceBatch


class Pointwise(Layer):
    """A made-up branch layer: ``a = x V`` over the last axis, on any leading axes and on
    sequence batches (padded steps stay 0, as x is 0 there)."""

    def __init__(self, V):
        self.params, self.grads = [V], [np.empty_like(V)]
        self.param_names, self.penalized = ("V",), (True,)

    def forward(self, a_prev, training=False):
        self.x = _data(a_prev)
        out = self.x @ self.params[0]
        return SequenceBatch(out, a_prev.lengths) if isinstance(a_prev, SequenceBatch) else out

    def backward(self, da, need_input_grad=True):
        V = self.params[0]
        self.grads[0][...] = self.x.reshape(-1, V.shape[0]).T @ da.reshape(-1, V.shape[1])
        return da @ V.T if need_input_grad else None


def _data(a):
    return a.data if isinstance(a, SequenceBatch) else a


def _sequence_batch(rng, c, lengths=(5, 3, 1)):
    lengths = np.asarray(lengths)
    T = lengths.max()
    data = rng.randn(T, len(lengths), c)
    data[np.arange(T)[:, None] >= lengths[None, :]] = 0
    return SequenceBatch(data, lengths)


def _inputs(rng, c):
    return {"dense": rng.randn(4, c), "images": rng.randn(2, 2, 3, c),
            "sequences": _sequence_batch(rng, c)}


def _block(rng, c_in, c_out, projection, activation="tanh"):
    """[Fork, Pointwise, Activation, LayerNorm, Pointwise, Join]: c_in -> c_out."""
    fork = Fork()
    branch = [Pointwise(rng.randn(c_in, 4) * 0.5), Activation("tanh"),
              LayerNorm(rng.uniform(0.5, 1.5, 4), rng.randn(4)),
              Pointwise(rng.randn(4, c_out) * 0.5)]
    W = rng.randn(c_in, c_out) * 0.5 if projection else None
    return [fork, *branch, Join(fork, activation, W)]


def _forward(layers, x, training=True):
    a = x
    for layer in layers:
        a = layer.forward(a, training)
    return a


def _backward(layers, da):
    for layer in reversed(layers):
        da = layer.backward(da, True)
    return da






@pytest.mark.parametrize("projection", [False, True])
@pytest.mark.parametrize("kind", ["dense", "images", "sequences"])
def test_join_follows_its_formula(kind, projection):
    rng = np.random.RandomState(0)
    x = _inputs(rng, 3)[kind]
    c_out = 5 if projection else 3
    layers = _block(rng, 3, c_out, projection)
    a = _forward(layers, x)
    assert type(a) is type(x)
    F = _data(_forward(layers[1:-1], x))
    P = _data(x) @ layers[-1].params[0] if projection else _data(x)
    expected = np.tanh(F + P)
    if kind == "sequences":
        expected[~x.mask] = 0
        assert np.all(a.data[~x.mask] == 0)
    np.testing.assert_allclose(_data(a), expected, rtol=1e-13, atol=1e-13)
    assert layers[-1].param_names == (("W",) if projection else ())
    assert layers[-1].penalized == ((True,) if projection else ())


@pytest.mark.parametrize("activation", ["tanh", "identity"])
@pytest.mark.parametrize("projection", [False, True])
@pytest.mark.parametrize("kind", ["dense", "images", "sequences"])
def test_block_gradients(kind, projection, activation):
    """``J = sum(R * a)`` through a whole block: input and every parameter of the branch
    and the join; R is nonzero at padded steps, which must send nothing back."""
    rng = np.random.RandomState(1)
    x = _inputs(rng, 3)[kind]
    layers = _block(rng, 3, 2 if projection else 3, projection, activation)
    R = rng.randn(*_data(_forward(layers, x)).shape)

    def J():
        return float(np.sum(R * _data(_forward(layers, x))))

    _forward(layers, x)
    dx = _backward(layers, R.copy()).copy()
    params = [p for layer in layers for p in layer.params]
    grads = [g.copy() for layer in layers for g in layer.grads]
    assert len(params) == 4 + projection
    for array, analytic in zip([_data(x)] + params, [dx] + grads):
        assert rel_error(analytic, numerical_gradient(J, array)) < 1e-6
    if kind == "sequences":
        assert np.all(dx[~x.mask] == 0)


def test_two_blocks_and_a_network_loss_grad():
    """Dense -> [block, identity P] -> [block, projection P] -> Dense inside a Network:
    its loss_grad's gradients against finite differences of its loss."""
    rng = np.random.RandomState(2)
    X, Y = rng.randn(6, 3), rng.randn(6, 2)
    layers = [Dense(rng.randn(3, 4) * 0.5, rng.randn(4) * 0.1, "tanh"),
              *_block(rng, 4, 4, False, "tanh"), *_block(rng, 4, 3, True, "leakyrelu"),
              Dense(rng.randn(3, 2) * 0.5, rng.randn(2) * 0.1, "identity")]
    net = Network(layers, "squared_error", alpha=0.1)
    net.loss_grad(X, Y)
    analytic = [g.copy() for g in net.grads]
    for p, g in zip(net.params, analytic):
        assert rel_error(g, numerical_gradient(lambda: net.loss_grad(X, Y), p)) < 1e-6


def test_sequences_through_blocks_to_a_readout():
    """Ragged sequences: Fork ... Join ... Readout('mean') in a Network."""
    rng = np.random.RandomState(3)
    x = _sequence_batch(rng, 3, (4, 2, 1))
    Y = rng.randn(3, 2)
    layers = [*_block(rng, 3, 2, True, "tanh"), Readout("mean")]
    net = Network(layers, "squared_error")
    net.loss_grad(x, Y)
    analytic = [g.copy() for g in net.grads]
    for p, g in zip(net.params, analytic):
        assert rel_error(g, numerical_gradient(lambda: net.loss_grad(x, Y), p)) < 1e-6


@pytest.mark.parametrize("projection", [False, True])
def test_a_sequence_alone_equals_it_in_a_batch(projection):
    rng = np.random.RandomState(4)
    batch = _sequence_batch(rng, 3)
    layers = _block(rng, 3, 2 if projection else 3, projection)
    together = _forward(layers, batch).data.copy()
    R = rng.randn(*together.shape)
    dx_together = _backward(layers, R.copy()).copy()
    for i, T_i in enumerate(batch.lengths):
        alone = SequenceBatch(batch.data[:T_i, i:i + 1].copy(), np.array([T_i]))
        np.testing.assert_allclose(_forward(layers, alone).data[:, 0], together[:T_i, i],
                                   rtol=1e-13, atol=1e-13)
        dx = _backward(layers, R[:T_i, i:i + 1].copy())
        np.testing.assert_allclose(dx[:, 0], dx_together[:T_i, i], rtol=1e-13, atol=1e-13)


def test_the_identity_path_passes_the_gradient_untouched():
    """With a branch that outputs 0 whatever x (V = 0) and g = identity, the block is the
    identity and dJ/dx is dJ/da exactly, however deep the stack of blocks."""
    rng = np.random.RandomState(5)
    x = rng.randn(4, 3)
    layers = []
    for _ in range(10):
        fork = Fork()
        layers += [fork, Pointwise(np.zeros((3, 3))), Activation("tanh"), Join(fork)]
    np.testing.assert_array_equal(_forward(layers, x), x)
    da = rng.randn(4, 3)
    np.testing.assert_array_equal(_backward(layers, da.copy()), da)


def test_a_branch_that_overwrites_dz_in_place():
    """Activation.backward multiplies its da by g' in place: the join's skip gradient
    must be its own copy of dz, not the array handed to the branch."""
    rng = np.random.RandomState(8)
    x = rng.randn(4, 3)
    fork = Fork()
    layers = [fork, Activation("tanh"), Join(fork, "tanh")]
    R = rng.randn(4, 3)
    _forward(layers, x)
    dx = _backward(layers, R.copy())
    numeric = numerical_gradient(lambda: float(np.sum(R * _forward(layers, x))), x)
    assert rel_error(dx, numeric) < 1e-6


def test_an_empty_branch_doubles_its_input():
    rng = np.random.RandomState(6)
    x, da = rng.randn(3, 2), rng.randn(3, 2)
    fork = Fork()
    layers = [fork, Join(fork)]
    np.testing.assert_array_equal(_forward(layers, x), 2 * x)
    np.testing.assert_array_equal(_backward(layers, da.copy()), 2 * da)


def test_float32_stays_float32():
    rng = np.random.RandomState(7)
    x = rng.randn(4, 3).astype(np.float32)
    fork = Fork()
    layers = [fork, Pointwise(rng.randn(3, 2).astype(np.float32)), Activation("relu"),
              Join(fork, "relu", rng.randn(3, 2).astype(np.float32))]
    a = _forward(layers, x)
    dx = _backward(layers, np.ones(a.shape, np.float32))
    assert a.dtype == dx.dtype == layers[-1].grads[0].dtype == np.float32


def test_shape_errors_say_what_to_do():
    fork = Fork()
    fork.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"give the Join a projection W of shape \(3, 4\)"):
        Join(fork).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"W must be \(3, 4\)"):
        Join(fork, W=np.zeros((4, 3))).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="Unknown activation of a residual Join 'abs'"):
        Join(fork, "abs")
