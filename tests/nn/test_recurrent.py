"""sknnedu.nn.recurrent and sknnedu.nn.sequences: cells against plain loops over their
equations, backpropagation through time against finite differences, and masking."""

import numpy as np
import pytest
from references import numerical_gradient, rel_error
from scipy.special import expit

from sknnedu.nn import recurrent
from sknnedu.nn.layers import Dense
from sknnedu.nn.network import Network, pack, unpack
from sknnedu.nn.recurrent import GATES, Readout, Recurrent, init_recurrent
from sknnedu.nn.sequences import Sequences

CELLS = ["rnn", "lstm", "gru"]


def _params(cell, f, h, rng, directions=1, dtype=np.float64):
    params = []
    for _ in range(directions):
        p = init_recurrent(f, h, cell, rng, dtype)
        params += [(a + 0.2 * rng.randn(*a.shape)).astype(dtype) for a in p]
    return params


def reference_step(cell, x_t, h_t, c_t, W_x, W_h, b):
    """The formulas of the module docstring for one step of one sequence: (h_t, c_t)."""
    h = W_h.shape[0]
    if cell == "rnn":
        return np.tanh(x_t @ W_x + h_t @ W_h + b), c_t
    if cell == "lstm":
        a = x_t @ W_x + h_t @ W_h + b
        i, f, g, o = expit(a[:h]), expit(a[h:2 * h]), np.tanh(a[2 * h:3 * h]), expit(a[3 * h:])
        c_t = f * c_t + i * g
        return o * np.tanh(c_t), c_t
    rz = expit(x_t @ W_x[:, :2 * h] + h_t @ W_h[:, :2 * h] + b[:2 * h])
    r, z = rz[:h], rz[h:]
    n = np.tanh(x_t @ W_x[:, 2 * h:] + (r * h_t) @ W_h[:, 2 * h:] + b[2 * h:])
    return (1 - z) * n + z * h_t, c_t


def reference_states(cell, x, W_x, W_h, b):
    """:func:`reference_step` one step at a time, for one sequence (T, f)."""
    h = W_h.shape[0]
    h_t, c_t = np.zeros(h), np.zeros(h)
    states = []
    for x_t in x:
        h_t, c_t = reference_step(cell, x_t, h_t, c_t, W_x, W_h, b)
        states.append(h_t)
    return np.array(states)


@pytest.mark.parametrize("cell", CELLS)
def test_each_cell_is_a_step_pair_that_keeps_its_formulas(cell):
    # one step of the cell on its own, from a nonzero state, against the plain formula,
    # and its step backward against centred differences of J = sum(dh h_t) (+ sum(dc c_t))
    Cell = recurrent.CELLS[cell]
    assert recurrent.GATES[cell] == Cell.gates
    rng = np.random.RandomState(5)
    m, f, h = 3, 2, 4
    W_x, W_h, b = _params(cell, f, h, rng)
    x, h_prev, c_prev = rng.randn(m, f), 0.5 * rng.randn(m, h), 0.5 * rng.randn(m, h)
    if cell != "lstm":
        c_prev[...] = 0
    shift = np.zeros((m, Cell.gates * h))   # added to Z_t: dJ/d(shift) is dZ_t

    def step():
        Z = (x @ W_x + b + shift)[None]
        kept = {k: Z if k == "gates" else np.empty((1, m, h)) for k in Cell.keeps}
        cache = recurrent._DirectionCache(Z, np.empty((1, m, h)), **kept)
        Cell.step(cache, 0, W_h, h_prev, c_prev, np.empty((m, Cell.gates * h)))
        return cache

    cache = step()
    for i in range(m):
        h_ref, c_ref = reference_step(cell, x[i], h_prev[i], c_prev[i], W_x, W_h, b)
        np.testing.assert_allclose(cache.H[0, i], h_ref, rtol=1e-12, atol=1e-12)
        if cell == "lstm":
            np.testing.assert_allclose(cache.C[0, i], c_ref, rtol=1e-12, atol=1e-12)

    dh, dc = rng.randn(m, h), rng.randn(m, h) if cell == "lstm" else None

    def J():
        after = step()
        return np.sum(dh * after.H[0]) + (0 if dc is None else np.sum(dc * after.C[0]))

    dz = np.empty((m, Cell.gates * h))
    dh_prev, dc_prev = Cell.step_backward(cache, 0, W_h, dz, dh, dc, h_prev, c_prev)
    assert rel_error(dz, numerical_gradient(J, shift)) < 1e-8
    assert rel_error(dh_prev, numerical_gradient(J, h_prev)) < 1e-8
    if cell == "lstm":
        assert rel_error(dc_prev, numerical_gradient(J, c_prev)) < 1e-8
    else:
        assert dc_prev is None


@pytest.mark.parametrize("cell", CELLS)
def test_every_cell_follows_its_formulas_step_by_step(cell):
    rng = np.random.RandomState(0)
    lengths = [6, 1, 4, 9]
    seqs = [rng.randn(T, 3) for T in lengths]
    params = _params(cell, 3, 5, rng, directions=2)
    H = Recurrent(params, cell).forward(Sequences(seqs)).data  # (T, m, 2h)
    for i, x in enumerate(seqs):
        fwd = reference_states(cell, x, *params[:3])
        bwd = reference_states(cell, x[::-1], *params[3:])[::-1]
        T = len(x)
        np.testing.assert_allclose(H[:T, i, :5], fwd, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(H[:T, i, 5:], bwd, rtol=1e-12, atol=1e-12)
        # a padded step keeps the state: the forward state at the end is h_{T_i}
        np.testing.assert_allclose(H[T:, i, :5], np.broadcast_to(fwd[-1], H[T:, i, :5].shape))


@pytest.mark.parametrize("cell", CELLS)
def test_shapes_and_the_lstm_forget_bias(cell):
    W_x, W_h, b = init_recurrent(4, 6, cell, np.random.RandomState(0), np.float32)
    G = GATES[cell]
    assert W_x.shape == (4, G * 6) and W_h.shape == (6, G * 6) and b.shape == (G * 6,)
    assert W_x.dtype == W_h.dtype == b.dtype == np.float32
    if cell == "lstm":
        np.testing.assert_array_equal(b[6:12], 1.0)
        np.testing.assert_array_equal(np.delete(b, np.s_[6:12]), 0.0)
    # each gate's recurrent block is orthogonal
    for g in range(G):
        block = W_h[:, g * 6:(g + 1) * 6].astype(np.float64)
        np.testing.assert_allclose(block.T @ block, np.eye(6), atol=1e-5)


def _network(cell, rng, *, directions, readout, stacked, f=3, h=4, dtype=np.float64):
    layers, n_in = [], f
    for _ in range(2 if stacked else 1):
        layers.append(Recurrent(_params(cell, n_in, h, rng, directions, dtype), cell))
        n_in = directions * h
    layers.append(Readout(readout, directions))
    layers.append(Dense((0.5 * rng.randn(n_in, 3)).astype(dtype), rng.randn(3).astype(dtype),
                        "identity"))
    return Network(layers, "log_loss", alpha=0.1)


def _relative_gradient_error(net, X, Y, sw, h=1e-6):
    net.loss_grad(X, Y, sw)
    analytic = pack(net.grads).copy()
    theta = pack(net.params)
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        t = theta.copy()
        t[i] += h
        unpack(t, net.params)
        up = net.loss_grad(X, Y, sw)
        t[i] -= 2 * h
        unpack(t, net.params)
        numeric[i] = (up - net.loss_grad(X, Y, sw)) / (2 * h)
    unpack(theta, net.params)
    return np.abs(analytic - numeric).max() / np.abs(numeric).max()


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("readout", ["last", "mean"])
@pytest.mark.parametrize("directions,stacked", [(1, False), (2, False), (1, True), (2, True)])
def test_backpropagation_through_time_matches_finite_differences(cell, readout, directions,
                                                                 stacked):
    rng = np.random.RandomState(1)
    lengths = [5, 2, 7, 1, 7]   # ragged, one of length 1, the longest twice
    X = Sequences([rng.randn(T, 3) for T in lengths])
    Y = np.eye(3)[rng.randint(0, 3, len(lengths))]
    sw = rng.rand(len(lengths))
    net = _network(cell, rng, directions=directions, readout=readout, stacked=stacked)
    assert _relative_gradient_error(net, X, Y, sw) < 1e-5


@pytest.mark.parametrize("cell", CELLS)
def test_a_broken_backward_through_time_is_caught(cell, monkeypatch):
    # drop what step t sends back to step t - 1 through W_h: still plausible numbers
    Cell = recurrent.CELLS[cell]
    step_backward = Cell.step_backward

    def broken(*args):
        dh_prev, dc_prev = step_backward(*args)
        return dh_prev * 0.5, dc_prev

    monkeypatch.setattr(Cell, "step_backward", staticmethod(broken))
    rng = np.random.RandomState(2)
    X = Sequences([rng.randn(T, 3) for T in (6, 4, 8)])
    Y = np.eye(3)[[0, 1, 2]]
    net = _network(cell, rng, directions=1, readout="mean", stacked=False)
    assert _relative_gradient_error(net, X, Y, None) > 1e-3


@pytest.mark.parametrize("cell", CELLS)
def test_padding_changes_nothing_and_gets_no_gradient(cell):
    rng = np.random.RandomState(3)
    short, long_ = rng.randn(3, 2), rng.randn(8, 2)
    params = _params(cell, 2, 4, rng, directions=2)
    alone = Recurrent(params, cell)
    together = Recurrent(params, cell)
    read_alone, read_together = Readout("last", 2), Readout("last", 2)
    a = read_alone.forward(alone.forward(Sequences([short])))
    b = read_together.forward(together.forward(Sequences([short, long_])))
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12, atol=1e-14)
    dout = rng.randn(2, 8)
    alone_grads = None
    together.backward(read_together.backward(dout), need_input_grad=True)
    dX = together.backward(read_together.backward(dout), need_input_grad=True)
    assert np.all(dX[3:, 0] == 0)  # the padded steps of the short sequence
    alone.backward(read_alone.backward(dout[:1]))
    alone_grads = [g.copy() for g in alone.grads]
    # the gradient of the pair is the short one's plus the long one's alone
    long_only = Recurrent(params, cell)
    read_long = Readout("last", 2)
    read_long.forward(long_only.forward(Sequences([long_])))
    long_only.backward(read_long.backward(dout[1:]))
    for g_pair, g_short, g_long in zip(together.grads, alone_grads, long_only.grads):
        np.testing.assert_allclose(g_pair, g_short + g_long, rtol=1e-10, atol=1e-12)


def test_mean_readout_averages_the_valid_steps():
    H = np.arange(24, dtype=float).reshape(4, 2, 3)   # (T, m, h)
    batch = Sequences([np.zeros((2, 1)), np.zeros((4, 1))]).pad()
    batch.data = H
    out = Readout("mean").forward(batch)
    np.testing.assert_allclose(out[0], H[:2, 0].mean(axis=0))
    np.testing.assert_allclose(out[1], H[:, 1].mean(axis=0))


def test_float32_stays_float32():
    rng = np.random.RandomState(4)
    X = Sequences([rng.randn(T, 3).astype(np.float32) for T in (4, 6)])
    net = _network("lstm", rng, directions=2, readout="last", stacked=True, dtype=np.float32)
    P = net.forward(X)
    assert P.dtype == np.float32
    net.loss_grad(X, np.eye(3, dtype=np.float32)[[0, 1]])
    assert all(g.dtype == np.float32 for g in net.grads)


def test_the_module_has_no_loop_over_samples():
    # the padding gathers every step of a batch at once (no per-sequence loop)
    import inspect

    from sknnedu.nn import sequences
    assert "for i in range" not in inspect.getsource(sequences.Sequences.pad)
    assert "for " not in inspect.getsource(recurrent.Readout)
