"""sknnedu.nn.embedding: the lookup against indexing, its backward against a plain loop over
positions, and the gradient through embedding + recurrent layers against finite differences
(shared tokens, padding, ragged lengths), below 1e-5."""

import inspect
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from sknnedu.nn import embedding
from sknnedu.nn.embedding import Embedding, init_embedding
from sknnedu.nn.layers import Dense
from sknnedu.nn.network import Network, check_layer, pack, unpack
from sknnedu.nn.optimizers import OPTIMIZERS
from sknnedu.nn.recurrent import Readout, Recurrent, init_recurrent
from sknnedu.nn.sequences import Sequences

CELLS = ["rnn", "lstm", "gru"]


def _ids(rng, lengths, V):
    """Ragged id sequences of shape (T_i, 1) over 1..V-1, with repeated tokens."""
    return Sequences([rng.randint(1, V, size=(T, 1)) for T in lengths])


def test_forward_is_a_row_lookup_and_padding_reads_zero():
    rng = np.random.RandomState(0)
    E = init_embedding(6, 3, rng, np.float64)
    assert E.shape == (6, 3) and not E[0].any() and E[1:].any()
    X = _ids(rng, [4, 1, 3], 6)
    out = Embedding(E).forward(X)
    assert out.data.shape == (4, 3, 3) and out.lengths.tolist() == [4, 1, 3]
    for i in range(3):
        ids = X.sequence(i)[:, 0]
        np.testing.assert_array_equal(out.data[:len(ids), i], E[ids])
        assert not out.data[len(ids):, i].any()  # padded steps: E[0] = 0


def test_backward_sums_the_gradients_of_shared_tokens_as_a_loop_does():
    rng = np.random.RandomState(1)
    V, d = 7, 4
    E = init_embedding(V, d, rng, np.float64)
    X = _ids(rng, [6, 2, 5, 1], 4)  # ids 1..3 only: many shared, rows 4..6 absent
    layer = Embedding(E)
    out = layer.forward(X)
    da = rng.randn(*out.data.shape)
    assert layer.backward(da, need_input_grad=True) is None  # ids have no gradient
    expected = np.zeros_like(E)
    batch = X.pad(np.intp)
    for t in range(batch.data.shape[0]):          # the definition, one position at a time
        for i in range(batch.data.shape[1]):
            expected[batch.data[t, i, 0]] += da[t, i]
    expected[0] = 0                               # the padding row gets no update
    np.testing.assert_allclose(layer.grads[0], expected, rtol=1e-12, atol=1e-12)
    assert not layer.grads[0][4:].any()           # absent tokens: no gradient


def test_the_padding_row_gets_no_gradient_even_where_da_is_not_zero():
    E = init_embedding(3, 2, np.random.RandomState(0), np.float64)
    layer = Embedding(E)
    out = layer.forward(Sequences([np.array([[2], [2], [1]]), np.array([[2]])]))
    layer.backward(np.ones_like(out.data))        # ones at the padded steps too
    assert layer.grads[0].tolist() == [[0, 0], [1, 1], [3, 3]]


def test_the_protocol_and_float32():
    E = init_embedding(5, 3, np.random.RandomState(0), np.float32)
    layer = Embedding(E)
    check_layer(layer)
    assert layer.param_names == ("E",) and layer.penalized == (False,)
    out = layer.forward(Sequences([np.array([[1], [4]])]))
    assert out.data.dtype == np.float32
    layer.backward(np.ones_like(out.data))
    assert layer.grads[0].dtype == np.float32
    with pytest.raises(ValueError, match="2-D"):
        Embedding(np.zeros(4))


def test_the_backward_has_no_loop_over_tokens():
    assert not re.search(r"^\s*for .* in ", inspect.getsource(Embedding), re.MULTILINE)


def _network(cell, rng, V, d=3, h=4, directions=1, readout="last"):
    E = init_embedding(V, d, rng, np.float64)
    params = []
    for _ in range(directions):
        params += [(a + 0.2 * rng.randn(*a.shape)) for a in init_recurrent(d, h, cell, rng,
                                                                          np.float64)]
    W, b = 0.5 * rng.randn(directions * h, 3), 0.1 * rng.randn(3)
    layers = [Embedding(E), Recurrent(params, cell), Readout(readout, directions),
              Dense(W, b, "identity")]
    return Network(layers, "log_loss", alpha=0.01)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("directions,readout", [(1, "last"), (2, "last"), (1, "mean")])
def test_gradients_through_the_embedding_match_finite_differences(cell, directions, readout):
    rng = np.random.RandomState(2)
    V = 5
    X = _ids(rng, [6, 2, 7, 1, 7, 3], V)  # ragged, length 1, padding, shared tokens
    Y = np.eye(3)[rng.randint(0, 3, len(X))]
    sw = rng.rand(len(X))
    net = _network(cell, rng, V, directions=directions, readout=readout)
    theta = pack(net.params)
    net.loss_grad(X, Y, sw)
    analytic = pack(net.grads)
    numeric = np.empty_like(theta)
    h = 1e-6
    for i in range(theta.size):  # the definition, one parameter at a time
        t = theta.copy()
        t[i] += h
        unpack(t, net.params)
        up = net.loss_grad(X, Y, sw)
        t[i] -= 2 * h
        unpack(t, net.params)
        numeric[i] = (up - net.loss_grad(X, Y, sw)) / (2 * h)
    unpack(theta, net.params)
    assert np.abs(analytic - numeric).max() / np.abs(numeric).max() < 1e-5
    E_grad = net.layers[0].grads[0]
    assert not E_grad[0].any()  # E is unpenalised: its padding row stays exactly 0


def test_a_broken_backward_is_caught(monkeypatch):
    # forget that a token shared by several positions collects every one of their gradients
    def last_wins(self, da, need_input_grad=True):
        dE = self.grads[0]
        dE[...] = 0
        dE[self._ids.ravel()] = da.reshape(self._ids.size, -1)
        dE[0] = 0

    rng = np.random.RandomState(3)
    X, Y = _ids(rng, [4, 3], 4), np.eye(3)[[0, 2]]
    net = _network("gru", rng, 4)
    net.loss_grad(X, Y)
    good = net.layers[0].grads[0].copy()
    monkeypatch.setattr(Embedding, "backward", last_wins)
    net.loss_grad(X, Y)
    assert np.abs(net.layers[0].grads[0] - good).max() > 1e-3


def test_the_module_imports_without_scikit_learn():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "from sknnedu.nn import embedding\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert embedding.PAD == 0


# ------------------------------------------------------------------ hardening round four
def _loop_dE(V, d, X, da):
    """dE by its definition, one position at a time."""
    expected = np.zeros((V, d))
    batch = X.pad(np.intp)
    for t in range(batch.data.shape[0]):
        for i in range(batch.data.shape[1]):
            expected[batch.data[t, i, 0]] += da[t, i]
    expected[0] = 0
    return expected


def test_r4_12_the_backward_costs_the_rows_present_not_the_table():
    V, d = 200_000, 8
    E = np.zeros((V, d))
    layer = Embedding(E)
    X = Sequences([np.array([[2], [5], [2]]), np.array([[V - 1]])])
    da = np.ones((3, 2, d))
    layer.forward(X)
    layer.backward(da)                                  # the first call zeroes dE once
    tracemalloc.start()
    layer.forward(X)
    layer.backward(da)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < V * d * 8 / 20, peak                  # no (V, d) temporary: O(n d)
    np.testing.assert_array_equal(layer.grads[0][[0, 2, 5, V - 1]],
                                  [[0] * d, [2] * d, [1] * d, [1] * d])


def test_r4_12_each_batch_clears_the_rows_of_the_last_and_reads_a_new_buffer_clean():
    rng = np.random.RandomState(4)
    V, d = 9, 3
    layer = Embedding(init_embedding(V, d, rng, np.float64))
    for X in (_ids(rng, [4, 2], 4), Sequences([np.array([[7], [8]])]), _ids(rng, [3, 5, 1], 9)):
        out = layer.forward(X)
        da = rng.randn(*out.data.shape)
        layer.backward(da)
        np.testing.assert_allclose(layer.grads[0], _loop_dE(V, d, X, da), atol=1e-12)
    layer.grads[0] = np.full((V, d), np.nan)           # a new buffer (a network's view)
    layer.backward(da)
    np.testing.assert_allclose(layer.grads[0], _loop_dE(V, d, X, da), atol=1e-12)


def _absent_row_steps(solver, **kw):
    """How far rows 2 (in batch 1 only), 3 (in both) and 4 (never) move at batch 2."""
    E = init_embedding(5, 2, np.random.RandomState(0), np.float64)
    layer = Embedding(E)
    opt = OPTIMIZERS[solver]([E], 0.1, **kw)
    for ids in ([[2], [3]], [[3], [3]]):
        before = E.copy()
        out = layer.forward(Sequences([np.array(ids)]))
        layer.backward(np.ones_like(out.data))
        opt.update_params([E], layer.grads)
    return np.abs(E - before).max(axis=1)[2:]


def test_r4_21_what_an_absent_token_s_row_does_is_what_the_docs_say():
    doc = embedding.__doc__
    lesson = (Path(__file__).parents[2] / "docs" / "user_guide" / "text.rst").read_text()
    for text in (doc, lesson):
        assert "so its row does not move" not in " ".join(text.split())
        assert "keeps moving" in " ".join(text.split())
    # Adam and SGD with momentum move the absent row 2; plain SGD and RMSProp do not
    for solver, kw in [("adam", {}), ("sgd", {"momentum": 0.9})]:
        absent, present, never = _absent_row_steps(solver, **kw)
        assert absent > 1e-3 and present > 1e-3 and never == 0, solver
    for solver, kw in [("sgd", {"momentum": 0.0}), ("rmsprop", {})]:
        absent, present, never = _absent_row_steps(solver, **kw)
        assert absent == 0 and present > 1e-3 and never == 0, solver
