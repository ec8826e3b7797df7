"""TransformerClassifier and TransformerRegressor: gradients through the whole estimator,
padding, input forms (text included), dtypes, the engine's features, persistence, the
fitted arrays' layout, learning, and errors (learned positions and longer sequences)."""

import copy
import inspect
import pickle
import warnings

import numpy as np
import pytest
from plain_data import not_plain
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from sknnedu import TextSequencer, TransformerClassifier, TransformerRegressor, gradient_check
from sknnedu.nn.attention import ENCODER_PARAMS
from sknnedu.persistence import load_model, save_model

RNG = np.random.RandomState(0)
RAGGED = [RNG.randn(RNG.randint(3, 12), 2) for _ in range(40)]
Y_RAGGED = np.array([int(x[:, 0].mean() > 0) for x in RAGGED])
SHORT = [RNG.randn(n, 2) for n in (5, 3, 1, 4, 2, 6)]             # for gradient checks
Y_SHORT = np.array([0, 1, 1, 0, 1, 0])
SW_SHORT = RNG.uniform(0.2, 2.0, len(SHORT))
IDS_SHORT = [RNG.randint(2, 7, size=len(x)) for x in SHORT]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def small(cls=TransformerClassifier, **kw):
    kw = {"model_dim": 4, "n_heads": 2, "n_layers": 1, "feedforward_dim": 6, "max_iter": 3,
          "random_state": 0, **kw}
    return cls(**kw)


# ------------------------------------------------------------------------------------------
# gradients
# ------------------------------------------------------------------------------------------
CONFIGS = [
    dict(),                                                    # pre-norm, mean, sinusoidal
    dict(norm_first=False, readout="cls", positional="learned"),
    dict(positional="none", n_layers=2),
    dict(readout="cls", hidden_layer_sizes=(3,)),
    dict(n_heads=1, norm_first=False),
]


@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor])
@pytest.mark.parametrize("kw", CONFIGS)
def test_gradient_check_through_the_estimator(cls, kw):
    est = small(cls, activation="tanh", alpha=0.01, feedforward_dim=5, **kw)
    y = Y_SHORT if cls is TransformerClassifier else np.array([x.sum() for x in SHORT])
    # h = 3e-6: two layers curve enough that h = 1e-5 leaves a truncation error of ~1e-6
    assert gradient_check(est, SHORT, y, sample_weight=SW_SHORT, h=3e-6) < 1e-6


@pytest.mark.parametrize("kw", [
    dict(embedding_dim=4),                                     # = model_dim: no projection
    dict(embedding_dim=3),                                     # projected to model_dim
    dict(embedding_dim=4, readout="cls", positional="learned", norm_first=False),
])
def test_gradient_check_through_the_embedding(kw):
    est = small(activation="tanh", alpha=0.01, **kw)
    assert gradient_check(est, IDS_SHORT, Y_SHORT, sample_weight=SW_SHORT, h=3e-6) < 1e-6


def test_gradient_check_of_a_fitted_model():
    fitted = small(activation="tanh", readout="cls", positional="learned",
                   max_iter=5).fit(RAGGED, Y_RAGGED)
    assert gradient_check(fitted, SHORT, Y_SHORT, sample_weight=SW_SHORT, h=3e-6) < 1e-6


# ------------------------------------------------------------------------------------------
# padding, input forms, dtypes
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-5)])
@pytest.mark.parametrize("kw", [
    dict(),
    dict(readout="cls", positional="learned", norm_first=False, hidden_layer_sizes=(3,)),
    dict(positional="none", n_layers=2, model_dim=6, n_heads=3),
])
def test_a_sequence_alone_equals_it_in_a_batch(dtype, tol, kw):
    X = [x.astype(dtype) for x in RAGGED]
    clf = small(max_iter=4, **kw).fit(X, Y_RAGGED)
    longest = max(len(x) for x in X)          # learned positions: no longer than fit's
    together = clf.predict_proba(X + [RNG.randn(longest, 2).astype(dtype)])[:-1]
    assert together.dtype == dtype
    for i in (0, 5, 17):
        alone = clf.predict_proba([X[i]])
        np.testing.assert_allclose(alone[0], together[i], rtol=tol, atol=tol)
    np.testing.assert_allclose(clf.predict_proba(X[::-1])[::-1], together, rtol=tol, atol=tol)


def test_a_3d_array_a_table_and_lists_are_the_same_data():
    X = RNG.randn(24, 9)
    y = (X[:, 3] > 0).astype(int)
    a = small().fit(X, y).predict_proba(X)
    b = small().fit(X[:, :, None], y).predict_proba(X[:, :, None])
    c = small().fit(list(X[:, :, None]), y).predict_proba(list(X[:, :, None]))
    np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(a, c, rtol=1e-12)
    reg = small(TransformerRegressor).fit(RAGGED, Y_RAGGED.astype(float))
    assert reg.predict(RAGGED).shape == (40,) and reg.n_step_features_ == 2


def test_token_ids_read_through_an_embedding():
    rng = np.random.RandomState(0)
    X = [rng.randint(2, 8, size=rng.randint(1, 10)) for _ in range(40)]
    y = np.array([int(3 in x) for x in X])
    same = small(embedding_dim=4).fit(X, y)
    assert same.embeddings_.shape == (8, 4) and same.input_projection_ == []
    other = small(embedding_dim=3).fit(X, y)
    assert [a.shape for a in other.input_projection_] == [(1, 3, 4), (4,)]
    for clf in (same, other):
        assert not clf.embeddings_[0].any()                # padding id 0: never learnt
        np.testing.assert_allclose(clf.predict_proba([X[3]])[0], clf.predict_proba(X)[3],
                                   rtol=1e-10)


def _text_task(n=80, seed=0):
    """Random letters with 'aaa' or 'bbb' inside: which one."""
    rng = np.random.RandomState(seed)
    texts, y = [], rng.randint(0, 2, n)
    for label in y:
        noise = "".join(rng.choice(list("xyz"), rng.randint(2, 12)))
        k = rng.randint(0, len(noise) + 1)
        texts.append(noise[:k] + ("aaa" if label else "bbb") + noise[k:])
    return texts, y


def test_a_text_pipeline():
    texts, y = _text_task()
    pipe = make_pipeline(TextSequencer(), small(embedding_dim=8, model_dim=8, max_iter=15,
                                                learning_rate_init=0.01))
    pipe.fit(texts[:60], y[:60])
    assert pipe.score(texts[60:], y[60:]) > 0.9


def test_float32_stays_float32():
    X = [x.astype(np.float32) for x in RAGGED]
    clf = small(readout="cls", positional="learned").fit(X, Y_RAGGED)
    arrays = [a for name in clf._param_attrs for a in getattr(clf, name)]
    assert len(arrays) > 15 and all(a.dtype == np.float32 for a in arrays)
    assert clf.input_mean_.dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float32
    reg = small(TransformerRegressor).fit(X, Y_RAGGED.astype(np.float32))
    assert reg.predict(X).dtype == np.float32


# ------------------------------------------------------------------------------------------
# the engine's features, persistence, layout
# ------------------------------------------------------------------------------------------
def test_random_state_reproduces_a_fit_with_dropout():
    a = small(dropout=0.2).fit(RAGGED, Y_RAGGED)
    b = small(dropout=0.2).fit(RAGGED, Y_RAGGED)
    for x, z in zip(a._params(), b._params()):
        np.testing.assert_array_equal(x, z)
    c = small(dropout=0.2, random_state=1).fit(RAGGED, Y_RAGGED)
    d = small(dropout=0.0).fit(RAGGED, Y_RAGGED)
    assert not np.array_equal(a.encoder_params_[0], c.encoder_params_[0])
    assert not np.array_equal(a.encoder_params_[0], d.encoder_params_[0])
    np.testing.assert_array_equal(a.predict_proba(RAGGED), a.predict_proba(RAGGED))


def test_warm_start_and_partial_fit_go_on():
    clf = small(warm_start=True).fit(RAGGED, Y_RAGGED)
    W = clf.encoder_params_[0].copy()
    clf.fit(RAGGED, Y_RAGGED)
    assert len(clf.loss_curve_) == 6 and not np.array_equal(W, clf.encoder_params_[0])
    clf.partial_fit(RAGGED, Y_RAGGED)
    assert len(clf.loss_curve_) == 7
    fresh = small(TransformerRegressor, max_iter=1)
    for _ in range(3):
        fresh.partial_fit(RAGGED, Y_RAGGED.astype(float))
    assert len(fresh.loss_curve_) == 3


@pytest.mark.parametrize("change", [
    dict(model_dim=6), dict(n_heads=1), dict(n_layers=2), dict(feedforward_dim=5),
    dict(positional="learned"), dict(readout="cls"), dict(norm_first=False),
    dict(hidden_layer_sizes=(3,)), dict(embedding_dim=4),
])
def test_warm_start_refuses_another_architecture(change):
    clf = small(warm_start=True).fit(RAGGED, Y_RAGGED)
    before = copy.deepcopy(clf.encoder_params_)
    clf.set_params(**change)
    with pytest.raises(ValueError, match="architecture changed|embedding_dim changed"):
        clf.fit(RAGGED, Y_RAGGED)
    for a, b in zip(before, clf.encoder_params_):           # the model is as it was
        np.testing.assert_array_equal(a, b)




@pytest.mark.parametrize("cls", [TransformerClassifier, TransformerRegressor])
def test_persistence_round_trips(cls, tmp_path):
    y = Y_RAGGED if cls is TransformerClassifier else Y_RAGGED + 0.5
    est = small(cls, readout="cls", positional="learned", early_stopping=True,
                max_iter=4).fit(RAGGED, y)
    assert not_plain({k: v for k, v in vars(est).items()
                       if k not in est.get_params()}) == []
    save_model(est, tmp_path / "m.skops")
    for back in (load_model(tmp_path / "m.skops"), pickle.loads(pickle.dumps(est))):
        assert type(back) is cls
        np.testing.assert_array_equal(back.predict(RAGGED), est.predict(RAGGED))
        back.set_params(warm_start=True, early_stopping=False).fit(RAGGED, y)   # trains on


def test_a_text_pipeline_round_trips_through_skops(tmp_path):
    texts, y = _text_task(30)
    pipe = make_pipeline(TextSequencer(), small(embedding_dim=3)).fit(texts, y)
    save_model(pipe, tmp_path / "p.skops")
    back = load_model(tmp_path / "p.skops")
    np.testing.assert_array_equal(back.predict_proba(texts), pipe.predict_proba(texts))


def test_the_source_of_every_class_can_be_read():
    for cls in (TransformerClassifier, TransformerRegressor):
        assert f"class {cls.__name__}(" in inspect.getsource(cls)


@pytest.mark.parametrize("norm_first", [True, False])
def test_fitted_arrays_have_the_documented_layout(norm_first):
    clf = small(model_dim=6, n_heads=3, n_layers=2, feedforward_dim=5, readout="cls",
                positional="learned", norm_first=norm_first,
                hidden_layer_sizes=(3,)).fit(RAGGED, Y_RAGGED)
    d, f = 6, 5
    assert [a.shape for a in clf.input_projection_] == [(1, 2, d), (d,)]
    assert [a.shape for a in clf.positions_] == [(max(len(x) for x in RAGGED), d)]
    assert [a.shape for a in clf.class_token_] == [(d,)]
    shapes = dict(W_qkv=(d, 3 * d), b_qkv=(3 * d,), W_o=(d, d), b_o=(d,), W_1=(1, d, f),
                  b_1=(f,), W_2=(1, f, d), b_2=(d,), gamma_1=(d,), beta_1=(d,),
                  gamma_2=(d,), beta_2=(d,))
    assert [a.shape for a in clf.encoder_params_] == [shapes[n] for n in ENCODER_PARAMS] * 2
    assert [a.shape for a in clf.final_norm_] == ([(d,), (d,)] if norm_first else [])
    assert [c.shape for c in clf.coefs_] == [(d, 3), (3, 1)]
    plain = small(positional="sinusoidal", readout="mean").fit(RAGGED, Y_RAGGED)
    assert plain.positions_ == [] and plain.class_token_ == []


# ------------------------------------------------------------------------------------------
# learning
# ------------------------------------------------------------------------------------------
def _pulses(n, seed):
    """Series of 10-20 steps of noise with one pulse up (1) or down (0) somewhere."""
    rng = np.random.RandomState(seed)
    X, y = [], rng.randint(0, 2, n)
    for label in y:
        x = rng.randn(rng.randint(10, 21), 1) * 0.3
        t = rng.randint(0, len(x) - 3)
        x[t:t + 3, 0] += 2.0 if label else -2.0
        X.append(x)
    return X, y


def test_learns_where_the_pulse_points():
    X, y = _pulses(200, 0)
    clf = TransformerClassifier(8, 2, 1, 16, max_iter=10, learning_rate_init=0.01,
                                random_state=0).fit(X[:150], y[:150])
    assert clf.score(X[150:], y[150:]) > 0.95


def test_regresses_the_mean_of_a_series():
    rng = np.random.RandomState(0)
    X = [rng.randn(rng.randint(5, 15), 1) + rng.randn() for _ in range(200)]
    y = np.array([x.mean() for x in X])
    reg = TransformerRegressor(8, 2, 1, 16, dropout=0.0, max_iter=20, learning_rate_init=0.01,
                               random_state=0).fit(X[:150], y[:150])
    assert reg.score(X[150:], y[150:]) > 0.9


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("params, match", [
    (dict(model_dim=6, n_heads=4), "model_dim must be a multiple of n_heads.*model_dim=6 "
                                   "and n_heads=4"),
    (dict(model_dim=0), "model_dim must be an int >= 1"),
    (dict(n_heads=0), "n_heads must be an int >= 1"),
    (dict(n_layers=0), "n_layers must be an int >= 1"),
    (dict(feedforward_dim=2.5), "feedforward_dim must be an int >= 1"),
    (dict(positional="rope"), r"positional must be one of \['sinusoidal', 'learned', "
                              r"'none'\]; got 'rope'"),
    (dict(readout="max"), r"readout must be one of \['mean', 'cls'\]; got 'max'"),
    (dict(norm_first="yes"), "norm_first must be True or False"),
    (dict(clip_norm=-1.0), "clip_norm"),
    (dict(embedding_dim=2.0), "embedding_dim must be None or an int >= 1"),
])
def test_bad_parameters_get_a_clear_error(params, match):
    with pytest.raises(ValueError, match=match):
        small(**params).fit(RAGGED, Y_RAGGED)


def test_learned_positions_refuse_a_longer_sequence():
    clf = small(positional="learned").fit(RAGGED, Y_RAGGED)
    longest = max(len(x) for x in RAGGED)
    assert clf.predict([RNG.randn(longest, 2)]).shape == (1,)
    match = (f"sequence of {longest + 1} steps, but this model learned positions "
             rf"\(positional='learned'\) for at most {longest} steps.*positional='sinusoidal'")
    with pytest.raises(ValueError, match=match):
        clf.predict([RNG.randn(longest + 1, 2)])
    with pytest.raises(ValueError, match=match):
        clf.partial_fit([RNG.randn(longest + 1, 2)], [1])
    # sinusoidal positions take any length
    wide = small().fit(RAGGED, Y_RAGGED)
    assert wide.predict([RNG.randn(3 * longest, 2)]).shape == (1,)
