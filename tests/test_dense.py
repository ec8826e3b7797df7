"""sknnedu._dense: dense_head (the layers it builds, over the arrays by reference, and their
forward against a plain numpy loop over the layers), init_dense (shapes, dtypes, and the
draws against the initialisers' formulas), and _DenseNetwork._params on a fitted
NNClassifier with batch normalisation."""

import copy

import numpy as np
import pytest
from quiet_fits import quiet_fit

from sknnedu import NNClassifier, NNRegressor
from sknnedu._dense import BATCH_NORM_ATTRS, dense_head, init_dense
from sknnedu.nn.initializers import INITIALIZERS
from sknnedu.nn.layers import Activation, Dense, Dropout
from sknnedu.nn.normalization import BatchNorm

EPS = 1e-5  # BatchNorm's default

# ------------------------------------------------------------------ a plain reference

REFERENCE = {
    "identity": lambda z, s: z,
    "logistic": lambda z, s: 1.0 / (1.0 + np.exp(-z)),
    "sigmoid": lambda z, s: 1.0 / (1.0 + np.exp(-z)),
    "tanh": lambda z, s: np.tanh(z),
    "relu": lambda z, s: np.where(z > 0, z, 0.0),
    "leakyrelu": lambda z, s: np.where(z > 0, z, s * z),
}


def reference_forward(X, coefs, intercepts, acts, slope, norms=None, training=False):
    """``a = g(a W + b)`` per layer (with ``g(BN(a W + b))`` for normed hidden layers); the
    last layer's ``z``."""
    a = X
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        z = a @ W + b
        if i == len(coefs) - 1:
            return z
        if norms:
            gamma, beta, mean, var = norms[i]
            if training:
                mean, var = z.mean(axis=0), z.var(axis=0)
            z = gamma * (z - mean) / np.sqrt(var + EPS) + beta
        a = REFERENCE[acts[i]](z, slope)
    return a


def network(units, seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    coefs = [rng.randn(n0, n1).astype(dtype) for n0, n1 in zip(units[:-1], units[1:])]
    intercepts = [rng.randn(n1).astype(dtype) for n1 in units[1:]]
    return coefs, intercepts


def random_norms(units, seed=1):
    rng = np.random.RandomState(seed)
    return [(rng.uniform(0.5, 2, n), rng.randn(n), rng.randn(n), rng.uniform(0.5, 2, n))
            for n in units[1:-1]]


def run(layers, X, training=False):
    a = X
    for layer in layers:
        a = layer.forward(a, training=training)
    return a.copy()


def kinds(layers):
    return [type(layer).__name__ for layer in layers]


# ------------------------------------------------------------------ the layers it builds


@pytest.mark.parametrize("units, dropout, on_input, expected", [
    ([3, 2], 0.0, False, ["Dense"]),
    ([3, 2], 0.3, False, ["Dense"]),
    ([3, 2], 0.3, True, ["Dropout", "Dense"]),
    ([3, 2], 0.0, True, ["Dense"]),
    ([3, 4, 2], 0.0, False, ["Dense", "Dense"]),
    ([3, 4, 5, 2], 0.0, True, ["Dense", "Dense", "Dense"]),
    ([3, 4, 2], 0.5, False, ["Dense", "Dropout", "Dense"]),
    ([3, 4, 5, 2], 0.5, False, ["Dense", "Dropout", "Dense", "Dropout", "Dense"]),
    ([3, 4, 5, 2], 0.5, True,
     ["Dropout", "Dense", "Dropout", "Dense", "Dropout", "Dense"]),
])
def test_the_layer_sequence(units, dropout, on_input, expected):
    coefs, intercepts = network(units)
    acts = ["relu"] * (len(units) - 2)
    rng = np.random.default_rng(0)
    layers = dense_head(coefs, intercepts, acts, 0.01, dropout, rng, on_input=on_input)
    assert kinds(layers) == expected
    for layer in layers:
        if isinstance(layer, Dropout):
            assert layer.p == dropout and layer.rng is rng
    if dropout == 0:
        assert not any(isinstance(layer, Dropout) for layer in layers)


@pytest.mark.parametrize("dropout, expected", [
    (0.0, ["Dense", "BatchNorm", "Activation", "Dense", "BatchNorm", "Activation", "Dense"]),
    (0.2, ["Dense", "BatchNorm", "Activation", "Dropout", "Dense", "BatchNorm", "Activation",
           "Dropout", "Dense"]),
])
def test_the_layer_sequence_with_batch_norm(dropout, expected):
    units = [3, 4, 5, 2]
    coefs, intercepts = network(units)
    norms = random_norms(units)
    layers = dense_head(coefs, intercepts, ["tanh", "leakyrelu"], 0.2, dropout,
                        np.random.default_rng(0), norms=norms)
    assert kinds(layers) == expected
    dense = [layer for layer in layers if isinstance(layer, Dense)]
    bns = [layer for layer in layers if isinstance(layer, BatchNorm)]
    acts = [layer for layer in layers if isinstance(layer, Activation)]
    assert [d.activation for d in dense] == ["identity"] * 3  # g after the batch norm
    assert [a.activation for a in acts] == ["tanh", "leakyrelu"]
    assert all(a.slope == 0.2 for a in acts)
    for bn, (gamma, beta, mean, var) in zip(bns, norms):
        assert bn.params[0] is gamma and bn.params[1] is beta
        assert bn.state[0] is mean and bn.state[1] is var


def test_the_last_layer_is_dense_identity_and_hidden_layers_keep_their_activation():
    units = [2] + [3] * 6 + [2]
    acts = ["identity", "logistic", "sigmoid", "tanh", "relu", "leakyrelu"]
    coefs, intercepts = network(units)
    layers = dense_head(coefs, intercepts, acts, 0.3)
    assert kinds(layers) == ["Dense"] * 7
    assert [layer.activation for layer in layers] == acts + ["identity"]
    assert all(layer.slope == 0.3 for layer in layers)


@pytest.mark.parametrize("norms", [False, True])
@pytest.mark.parametrize("dropout", [0.0, 0.4])
def test_the_layers_hold_the_arrays_by_reference(norms, dropout):
    units = [3, 4, 5, 2]
    coefs, intercepts = network(units)
    layers = dense_head(coefs, intercepts, ["relu", "relu"], 0.01, dropout,
                        np.random.default_rng(0), on_input=True,
                        norms=random_norms(units) if norms else None)
    dense = [layer for layer in layers if isinstance(layer, Dense)]
    assert len(dense) == 3
    for i, layer in enumerate(dense):
        assert layer.params[0] is coefs[i]
        assert layer.params[1] is intercepts[i]
    coefs[0][0, 0] += 1.0  # so the estimator's arrays are the layers' arrays
    assert dense[0].params[0][0, 0] == coefs[0][0, 0]


def test_empty_norms_mean_none():
    coefs, intercepts = network([3, 4, 2])
    assert kinds(dense_head(coefs, intercepts, ["relu"], 0.01, norms=[])) == ["Dense", "Dense"]


# ------------------------------------------------------------------ forward vs the reference


@pytest.mark.parametrize("acts, slope", [
    ([], 0.01),
    (["relu"], 0.01),
    (["tanh", "logistic"], 0.01),
    (["leakyrelu", "leakyrelu"], 0.01),
    (["leakyrelu", "relu", "leakyrelu"], 0.37),
    (["identity", "sigmoid", "leakyrelu"], 0.5),
])
@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_forward_equals_the_numpy_reference(acts, slope, dropout):
    units = [4] + [5] * len(acts) + [3]
    coefs, intercepts = network(units, seed=len(acts))
    X = np.random.RandomState(7).randn(6, 4)
    layers = dense_head(coefs, intercepts, acts, slope, dropout, np.random.default_rng(0),
                        on_input=True)
    out = run(layers, X)  # not training: dropout passes through
    assert out.dtype == np.float64 and out.shape == (6, 3)
    np.testing.assert_allclose(out, reference_forward(X, coefs, intercepts, acts, slope),
                               rtol=1e-12, atol=0)


def test_leakyrelu_uses_the_slope_given():
    coefs, intercepts = network([3, 8, 2], seed=3)
    X = np.random.RandomState(0).randn(10, 3)
    outs = [run(dense_head(coefs, intercepts, ["leakyrelu"], s), X) for s in (0.01, 0.25)]
    np.testing.assert_allclose(outs[1], reference_forward(X, coefs, intercepts, ["leakyrelu"],
                                                          0.25), rtol=1e-12, atol=0)
    assert not np.allclose(outs[0], outs[1])


@pytest.mark.parametrize("training", [False, True])
def test_forward_with_batch_norm_equals_the_numpy_reference(training):
    units = [4, 6, 5, 3]
    acts = ["leakyrelu", "tanh"]
    coefs, intercepts = network(units, seed=2)
    norms = random_norms(units)
    expected_norms = [tuple(a.copy() for a in n) for n in norms]  # before training moves them
    X = np.random.RandomState(5).randn(9, 4)
    layers = dense_head(coefs, intercepts, acts, 0.15, norms=norms)
    out = run(layers, X, training=training)
    np.testing.assert_allclose(
        out, reference_forward(X, coefs, intercepts, acts, 0.15, expected_norms, training),
        rtol=1e-12, atol=1e-14)


def test_float32_stays_float32():
    coefs, intercepts = network([3, 4, 2], dtype=np.float32)
    X = np.random.RandomState(0).randn(5, 3).astype(np.float32)
    out = run(dense_head(coefs, intercepts, ["tanh"], 0.01), X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, reference_forward(X.astype(np.float64),
                                                      [c.astype(np.float64) for c in coefs],
                                                      [b.astype(np.float64) for b in intercepts],
                                                      ["tanh"], 0.01), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ init_dense


@pytest.mark.parametrize("init", ["auto", *INITIALIZERS])
@pytest.mark.parametrize("units", [[3, 2], [4, 5, 1], [2, 3, 4, 5]])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_init_dense_shapes_and_dtypes(init, units, dtype):
    acts = ["relu"] * (len(units) - 2)
    coefs, intercepts = init_dense(units, acts, "relu", init, np.random.RandomState(0), dtype)
    assert len(coefs) == len(intercepts) == len(units) - 1
    assert [W.shape for W in coefs] == list(zip(units[:-1], units[1:]))
    assert [b.shape for b in intercepts] == [(n,) for n in units[1:]]
    assert all(a.dtype == dtype for a in coefs + intercepts)
    if init == "zeros":
        assert not any(a.any() for a in coefs + intercepts)
    else:
        assert all(W.std() > 0 for W in coefs)


def glorot_ref(rng, fan_in, fan_out, act):
    r = np.sqrt((2.0 if act in ("logistic", "sigmoid") else 6.0) / (fan_in + fan_out))
    return rng.uniform(-r, r, (fan_in, fan_out)), rng.uniform(-r, r, fan_out)


def normal_ref(rng, fan_in, fan_out, std):
    return rng.normal(0.0, std, (fan_in, fan_out)), np.zeros(fan_out)


@pytest.mark.parametrize("init, acts, activation, expected", [
    # each layer follows the activation of the units it feeds; the output layer the last
    # hidden one, or ``activation`` when there is none (as MLPClassifier)
    ("glorot", ["relu", "logistic"], "relu", ["glorot:relu", "glorot:logistic",
                                              "glorot:logistic"]),
    ("glorot", [], "logistic", ["glorot:logistic"]),
    ("glorot", [], "tanh", ["glorot:tanh"]),
    ("auto", ["relu", "tanh"], "relu", ["he", "glorot:tanh", "glorot:tanh"]),
    ("auto", ["tanh", "leakyrelu"], "tanh", ["glorot:tanh", "he", "he"]),
    ("auto", [], "relu", ["he"]),
    ("auto", ["sigmoid"], "relu", ["glorot:sigmoid", "glorot:sigmoid"]),
    ("lecun", ["relu", "tanh"], "relu", ["lecun", "lecun", "lecun"]),
    ("normal", ["tanh"], "tanh", ["normal", "normal"]),
])
def test_init_dense_draws_as_the_formulas(init, acts, activation, expected):
    units = [3] + [4 + i for i in range(len(acts))] + [2]
    coefs, intercepts = init_dense(units, acts, activation, init, np.random.RandomState(1),
                                   np.float64)
    rng = np.random.RandomState(1)
    for i, (fan_in, fan_out, how) in enumerate(zip(units[:-1], units[1:], expected)):
        if how.startswith("glorot"):
            W, b = glorot_ref(rng, fan_in, fan_out, how.split(":")[1])
        else:
            std = {"he": np.sqrt(2.0 / fan_in), "lecun": np.sqrt(1.0 / fan_in),
                   "normal": 0.01}[how]
            W, b = normal_ref(rng, fan_in, fan_out, std)
        np.testing.assert_array_equal(coefs[i], W)
        np.testing.assert_array_equal(intercepts[i], b)


def test_init_dense_is_what_nnclassifier_starts_from():
    X = np.random.RandomState(0).randn(12, 3)
    y = np.arange(12) % 3
    clf = NNClassifier([(4, "tanh"), (5, "relu")], init="auto", random_state=0)
    clf._prepare(X, y, None)  # initialises without training
    coefs, intercepts = init_dense([3, 4, 5, 3], ["tanh", "relu"], "relu", "auto",
                                   np.random.RandomState(0), np.float64)
    for a, b in zip(clf.coefs_ + clf.intercepts_, coefs + intercepts):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ _DenseNetwork._params


@pytest.fixture(scope="module")
def batch_norm_clf():
    X = np.random.RandomState(0).randn(20, 3)
    return quiet_fit(NNClassifier((4, 5), batch_norm=True, max_iter=3, random_state=0),
                     X, np.arange(20) % 3), X


def test_params_order_with_batch_norm(batch_norm_clf):
    clf, _ = batch_norm_clf
    expected = (clf.coefs_ + clf.intercepts_ + clf.batch_norm_scales_
                + clf.batch_norm_offsets_ + clf.batch_norm_means_ + clf.batch_norm_vars_)
    params = clf._params()
    assert len(params) == 3 + 3 + 4 * 2
    assert all(p is e for p, e in zip(params, expected, strict=True))
    assert [p.shape for p in params] == [(3, 4), (4, 5), (5, 3), (4,), (5,), (3,)] + [
        (4,), (5,)] * 4


def test_params_names_each_array_once(batch_norm_clf):
    clf = copy.copy(batch_norm_clf[0])  # the same arrays
    clf._param_attrs = ("coefs_", "batch_norm_means_", "intercepts_")  # one of them named
    params = clf._params()
    expected = (clf.coefs_ + clf.batch_norm_means_ + clf.intercepts_ + clf.batch_norm_scales_
                + clf.batch_norm_offsets_ + clf.batch_norm_vars_)
    assert all(p is e for p, e in zip(params, expected, strict=True))
    assert len({id(p) for p in params}) == len(params)


def test_params_without_batch_norm_are_coefs_then_intercepts():
    X = np.random.RandomState(0).randn(10, 2)
    reg = quiet_fit(NNRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0),
                    X, X.sum(axis=1))
    assert reg.batch_norm_scales_ == []
    params = reg._params()
    assert all(p is e for p, e in zip(params, reg.coefs_ + reg.intercepts_, strict=True))


def test_the_fitted_batch_norm_network_predicts_as_the_reference(batch_norm_clf):
    clf, X = batch_norm_clf
    norms = list(zip(*(getattr(clf, name) for name in BATCH_NORM_ATTRS)))
    assert clf.batch_norm_means_[0].any()  # training moved the running statistics
    z = reference_forward(X, clf.coefs_, clf.intercepts_, clf.hidden_activations_,
                          clf.negative_slope, norms)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X), e / e.sum(axis=1, keepdims=True),
                               rtol=1e-12, atol=1e-15)
