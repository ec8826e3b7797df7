"""Backpropagation against centred finite differences (the notes' gradient checking)."""

import numpy as np
import pytest
from sklearn.datasets import make_multilabel_classification

from sknnedu import NNClassifier, gradient_check
from sknnedu.nn import network
from sknnedu.nn.layers import Dense, Dropout, Layer
from sknnedu.nn.network import Network

RNG = np.random.RandomState(0)
X = RNG.randn(25, 6)
TARGETS = {
    "binary": RNG.randint(0, 2, 25),
    "multiclass": RNG.randint(0, 4, 25),
    "multilabel": make_multilabel_classification(25, 6, n_classes=3, random_state=0)[1],
}
SW = RNG.uniform(0.1, 3, 25)


@pytest.mark.parametrize("act", ["relu", "leakyrelu", "tanh", "sigmoid", "logistic",
                                 "identity"])
@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_backprop_matches_finite_differences(act, target, alpha):
    # Glorot init draws non-zero biases, so no ReLU pre-activation sits exactly
    # on its kink at 0, where the derivative is undefined.
    est = NNClassifier([(5, act), (4, act)], alpha=alpha, init="glorot", random_state=1)
    assert gradient_check(est, X, TARGETS[target]) < 1e-4


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_backprop_with_sample_and_class_weights(target):
    y = TARGETS[target]
    est = NNClassifier([(5, "tanh"), (4, "leakyrelu")], alpha=0.1, init="glorot",
                       random_state=2)
    assert gradient_check(est, X, y, sample_weight=SW) < 1e-4
    if target != "multilabel":
        est.set_params(class_weight="balanced")
        assert gradient_check(est, X, y, sample_weight=SW) < 1e-4


def test_gradient_check_of_a_fitted_float32_model():
    y = TARGETS["multiclass"]
    est = NNClassifier((6,), activation="tanh", max_iter=20, random_state=0)
    est.fit(X.astype(np.float32), y)
    assert gradient_check(est, X, y, n_params=30) < 1e-5


def test_gradient_check_catches_a_wrong_gradient(monkeypatch):
    # a check that cannot fail is no check: break relu' and see it reported
    from sknnedu.nn import activations

    def wrong(A, delta, slope=0.01):
        delta *= 0.5

    monkeypatch.setitem(activations.DERIVATIVES, "relu", wrong)
    est = NNClassifier((5,), init="glorot", random_state=0)
    assert gradient_check(est, X, TARGETS["binary"]) > 1e-2


def _dense_net(coefs, intercepts, hidden, out_loss, *, dropout=0.0, rng=None):
    acts = hidden + ["identity"]  # the network applies g[L] of the loss
    layers = []
    for i, (W, b, act) in enumerate(zip(coefs, intercepts, acts)):
        layers.append(Dense(W, b, act))
        if dropout and i < len(hidden):
            layers.append(Dropout(dropout, rng))
    return Network(layers, out_loss)


def test_dropout_masks_the_backward_pass():
    rng = np.random.default_rng(0)
    coefs = [RNG.randn(6, 8), RNG.randn(8, 1)]
    intercepts = [RNG.randn(8), RNG.randn(1)]
    Y = TARGETS["binary"][:, None].astype(float)
    net = _dense_net(coefs, intercepts, ["tanh"], "binary_log_loss", dropout=0.5, rng=rng)
    net.loss_grad(X, Y, training=True)
    drop = net.layers[1]
    mask = drop.mask.copy()
    assert set(np.unique(mask)) <= {0.0, 2.0}
    cg = [g.copy() for g in net.grads]
    # a dropped unit passes no gradient to its incoming weights
    dropped = mask.sum(axis=0) == 0
    assert np.all(cg[0][:, dropped] == 0)

    # with the mask fixed, the dropout network is an ordinary function: check it
    def loss(theta):
        network.unpack(theta, coefs + intercepts)
        z1 = X @ coefs[0] + intercepts[0]
        a1 = np.tanh(z1) * mask
        p = 1 / (1 + np.exp(-(a1 @ coefs[1] + intercepts[1])))
        return -np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p))

    theta = network.pack(coefs + intercepts)
    analytic = network.pack(cg)
    h = 1e-6
    for i in range(0, theta.size, 5):
        t = theta.copy()
        t[i] += h
        up = loss(t)
        t[i] -= 2 * h
        numeric = (up - loss(t)) / (2 * h)
        assert analytic[i] == pytest.approx(numeric, rel=1e-5, abs=1e-8)
    network.unpack(theta, coefs + intercepts)


def test_pack_unpack_round_trip():
    coefs = [RNG.randn(3, 4), RNG.randn(4, 2)]
    intercepts = [RNG.randn(4), RNG.randn(2)]
    theta = network.pack(coefs + intercepts)
    assert theta.shape == (3 * 4 + 4 * 2 + 4 + 2,)
    copies = [np.zeros_like(a) for a in coefs + intercepts]
    network.unpack(theta, copies)
    for a, b in zip(coefs + intercepts, copies):
        np.testing.assert_array_equal(a, b)


def test_predict_chunks_agree():
    coefs = [RNG.randn(6, 5), RNG.randn(5, 3)]
    intercepts = [RNG.randn(5), RNG.randn(3)]
    net = _dense_net(coefs, intercepts, ["relu"], "log_loss")
    whole = net.predict(X)
    chunked = net.predict(X, chunk_size=4)
    np.testing.assert_allclose(whole, chunked)
    np.testing.assert_allclose(whole.sum(axis=1), 1.0)


def test_layers_keep_references_to_the_fitted_arrays():
    # the fitted arrays are the model: a step of the optimiser is a step of coefs_
    W, b = RNG.randn(6, 2), RNG.randn(2)
    net = _dense_net([W], [b], [], "log_loss")
    assert net.params[0] is W and net.params[1] is b


def test_the_network_starts_backward_at_whatever_layer_is_last():
    rng = np.random.RandomState(2)
    W, b = rng.randn(3, 2), rng.randn(2)
    X = rng.randn(6, 3)
    net = Network([Dense(W, b, "identity"), Layer()], "log_loss")
    P = net.forward(X)
    Z = X @ W + b
    expected = np.exp(Z - Z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(P, expected / expected.sum(axis=1, keepdims=True))
    net.loss_grad(X, np.eye(2)[[0, 1, 0, 1, 0, 1]])
    np.testing.assert_allclose(net.grads[1], (P - np.eye(2)[[0, 1, 0, 1, 0, 1]]).mean(0))


def test_sequences_are_padded_once_as_they_enter_the_network():
    """Network.forward pads a Sequences batch into the first layer's input_dtype, in the
    buffer that the data's row views share, and a standardisation works in place there:
    one copy of the batch. A batch handed in already padded is left as it was."""
    from sknnedu.nn.recurrent import Readout
    from sknnedu.nn.sequences import SequenceBatch, Sequences, Standardize

    rng = np.random.RandomState(0)
    data = Sequences([rng.randn(T, 2) for T in (3, 5, 2, 4)])
    mean, scale = np.array([0.5, -1.0], np.float32), np.array([2.0, 4.0], np.float32)
    std = Standardize(mean, scale)
    net = Network([std, Readout("mean"), Dense(np.ones((2, 1), np.float32),
                                               np.zeros(1, np.float32), "identity")],
                  "squared_error")
    assert net._input_dtype == np.float32
    seen, real = [], std.forward
    std.forward = lambda a, training=False: seen.append(real(a, training)) or seen[-1]
    batch = data[[1, 3]]
    net.forward(batch)
    out = seen[0].data.copy()
    expected = (batch.pad(np.float64).data - mean) / scale
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    # the standardised batch is the padded one: the next pad of this data reuses it
    assert np.shares_memory(seen[0].data, data[[0]].pad(np.float32).data)
    given = SequenceBatch(batch.pad(np.float32).data.copy(), batch.lengths)
    before = given.data.copy()
    out = std.forward(given)
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)
    np.testing.assert_array_equal(given.data, before)   # not scratch: not overwritten
