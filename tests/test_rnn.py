"""RNNClassifier and RNNRegressor: input forms, clear errors, batch independence, the
engine's features, and gradient checks through the estimators."""

import pickle
import warnings

import numpy as np
import pytest
from quiet_fits import quiet_fit as quiet
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score

from sknnedu import RNNClassifier, RNNRegressor, gradient_check

RNG = np.random.RandomState(0)
RAGGED = [RNG.randn(RNG.randint(3, 12), 2) for _ in range(40)]
Y_RAGGED = np.array([int(x[:, 0].mean() > 0) for x in RAGGED])


def small(cls=RNNClassifier, **kw):
    kw.setdefault("recurrent_layers", (6,))
    kw.setdefault("max_iter", 5)
    kw.setdefault("random_state", 0)
    return cls(**kw)


def test_a_2d_table_3d_array_and_lists_are_the_same_data():
    X = RNG.randn(20, 7)
    y = (X[:, -1] > 0).astype(int)
    a = quiet(small(), X, y).predict_proba(X)
    b = quiet(small(), X[:, :, None], y).predict_proba(X[:, :, None])
    c = quiet(small(), [x[:, None] for x in X], y).predict_proba(list(X[:, :, None]))
    d = quiet(small(), [x for x in X], y).predict_proba(X)   # 1-D sequences, a table
    np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(a, c, rtol=1e-12)
    np.testing.assert_allclose(a, d, rtol=1e-12)


def test_n_features_in_counts_what_fit_saw():
    clf = quiet(small(), RNG.randn(20, 7), np.arange(20) % 2)
    assert clf.n_features_in_ == 7 and clf.n_step_features_ == 1   # a table of 7 steps
    clf = quiet(small(), RAGGED, Y_RAGGED)
    assert clf.n_features_in_ == clf.n_step_features_ == 2
    # a table's width is fixed as for any scikit-learn estimator; other lengths as lists
    clf = quiet(small(), RNG.randn(20, 7), np.arange(20) % 2)
    with pytest.raises(ValueError, match="X has 5 features, but RNNClassifier is expecting 7"):
        clf.predict(RNG.randn(3, 5))
    assert clf.predict(RNG.randn(3, 5, 1)).shape == (3,)


def test_prediction_does_not_depend_on_the_batch():
    clf = quiet(small(bidirectional=True, readout="last", cell="lstm", max_iter=10),
                RAGGED, Y_RAGGED)
    together = clf.predict_proba(RAGGED)
    for i in (0, 7, 23):
        alone = clf.predict_proba([RAGGED[i]])
        np.testing.assert_allclose(alone[0], together[i], rtol=1e-10, atol=1e-12)
    # in another company, and in reverse order
    rev = clf.predict_proba(RAGGED[::-1] + [RNG.randn(60, 2)])
    np.testing.assert_allclose(rev[:-1][::-1], together, rtol=1e-10, atol=1e-12)


def test_predict_takes_lengths_never_seen_in_fit():
    clf = quiet(small(), RAGGED, Y_RAGGED)
    assert clf.predict([RNG.randn(1, 2), RNG.randn(200, 2)]).shape == (2,)


@pytest.mark.parametrize("X, match", [
    ([RNG.randn(4, 2), RNG.randn(5, 3)], "different numbers of features"),
    ([RNG.randn(4, 2), np.empty((0, 2))], "length 0"),
    ([RNG.randn(4, 2), np.array([[1.0, np.nan]])], "NaN or infinity"),
    ([RNG.randn(4, 2), np.array([[1.0, np.inf]])], "NaN or infinity"),
    (RNG.randn(3, 4, 2, 2), "4-D"),
    (np.array([{"a": 1}, {"b": 2}], dtype=object), "must be a 2-D array"),
    ([RNG.randn(4, 2), "abc"], "must be a 2-D array"),
    ([1.0, 2.0, 3.0], "flat list"),
    ("abc", "must be a 3-D array"),
    ([RNG.randn(2, 2, 2), RNG.randn(2, 2)], "must be a 2-D array"),
])
def test_bad_input_gets_a_clear_error(X, match):
    y = np.arange(len(X)) % 2 if hasattr(X, "__len__") and not isinstance(X, str) else [0]
    with pytest.raises(ValueError, match=match):
        small().fit(X, y)


def test_a_feature_count_at_predict_that_differs_from_fit():
    clf = quiet(small(), RAGGED, Y_RAGGED)
    with pytest.raises(ValueError, match="X has 3 features per step, but RNNClassifier is "
                                         "expecting 2"):
        clf.predict([RNG.randn(4, 3)])


def test_y_of_another_length_is_refused():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        small().fit(RAGGED, Y_RAGGED[:-1])


def test_float32_stays_float32():
    X = [x.astype(np.float32) for x in RAGGED]
    clf = quiet(small(), X, Y_RAGGED)
    assert all(w.dtype == np.float32 for w in clf.input_weights_ + clf.coefs_)
    assert clf.predict_proba(X).dtype == np.float32


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fitted_arrays_have_the_documented_layout(cell):
    G = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
    clf = quiet(small(cell=cell, recurrent_layers=(5, (3, "rnn")), bidirectional=True,
                      hidden_layer_sizes=(4,)), RAGGED, Y_RAGGED)
    shapes = [(W.shape, U.shape, b.shape) for W, U, b in zip(
        clf.input_weights_, clf.recurrent_weights_, clf.recurrent_intercepts_)]
    assert shapes == [((2, G * 5), (5, G * 5), (G * 5,))] * 2 + [((10, 3), (3, 3), (3,))] * 2
    assert clf.cells_ == [cell, "rnn"]
    assert [c.shape for c in clf.coefs_] == [(6, 4), (4, 1)]
    assert len(clf.gradient_norms_[-1]) == 4  # two recurrent layers, two dense


@pytest.mark.parametrize("est", [
    RNNClassifier((4,), cell="lstm", random_state=0),
    RNNClassifier((3, (3, "rnn")), cell="gru", bidirectional=True, readout="mean",
                  hidden_layer_sizes=(4,), activation="tanh", random_state=0),
    RNNRegressor((4,), cell="rnn", readout="mean", random_state=0),
    RNNRegressor((4,), cell="lstm", bidirectional=True, loss="huber", random_state=0),
])
def test_gradient_check_covers_the_recurrent_estimators(est):
    X, y = RAGGED[:12], Y_RAGGED[:12]
    if isinstance(est, RNNRegressor):
        y = np.array([x.sum() for x in X])
    sw = RNG.rand(len(X))
    assert gradient_check(est, X, y, sample_weight=sw) < 1e-5


def test_engine_features_work_for_sequences():
    # partial_fit, warm_start, early stopping, class weights, dropout: all from the engine
    clf = small(max_iter=1)
    for _ in range(3):
        clf.partial_fit(RAGGED, Y_RAGGED, classes=[0, 1])
    assert len(clf.loss_curve_) == 3
    clf = quiet(small(warm_start=True, max_iter=3), RAGGED, Y_RAGGED)
    quiet(clf, RAGGED, Y_RAGGED)
    assert len(clf.loss_curve_) == 6
    clf = quiet(small(early_stopping=True, validation_fraction=0.25), RAGGED, Y_RAGGED)
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == clf.n_iter_
    quiet(small(class_weight="balanced", dropout=0.3), RAGGED, Y_RAGGED,
          sample_weight=np.ones(len(RAGGED)))
    with pytest.raises(ValueError, match="architecture|recurrent|cell"):
        clf = quiet(small(warm_start=True), RAGGED, Y_RAGGED)
        clf.set_params(cell="lstm")
        clf.fit(RAGGED, Y_RAGGED)


def test_clip_norm_bounds_every_step():
    clf = quiet(small(clip_norm=1e-3, solver="sgd", momentum=0.0, learning_rate_init=1.0,
                      max_iter=1, shuffle=False, batch_size=len(RAGGED)), RAGGED, Y_RAGGED)
    start = quiet(small(max_iter=1, solver="sgd", learning_rate_init=1e-12, shuffle=False,
                        batch_size=len(RAGGED)), RAGGED, Y_RAGGED)
    params = [a for n in clf._param_attrs for a in getattr(clf, n)]
    params0 = [a for n in start._param_attrs for a in getattr(start, n)]
    step = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(params, params0)))
    assert step == pytest.approx(1e-3, rel=1e-3)   # lr 1 times a gradient clipped to 1e-3


@pytest.mark.parametrize("params, match", [
    (dict(cell="elman"), "cell"),
    (dict(recurrent_layers=(4, "x")), "recurrent_layers"),
    (dict(recurrent_layers=(0,)), "recurrent_layers"),
    (dict(recurrent_layers=()), "at least one"),
    (dict(recurrent_layers=[(8, "foo")]), r"recurrent_layers\[0\] has the cell 'foo'; expected"),
    (dict(recurrent_layers=[4, (0, "gru")]), r"must be > 0; got 0 at position 1"),
    (dict(recurrent_layers=[4, (8,)]), r"recurrent_layers\[1\] must be an int or a \(units, "),
    (dict(recurrent_layers="lstm"), "must be an int or a sequence of ints and"),
    (dict(readout="first"), "readout"),
    (dict(bidirectional="yes"), "bidirectional"),
    (dict(clip_norm=0.0), "clip_norm"),
    (dict(clip_norm=-1), "clip_norm"),
])
def test_bad_parameters_get_a_clear_error(params, match):
    with pytest.raises(ValueError, match=match):
        small(**params).fit(RAGGED, Y_RAGGED)


def test_learns_a_task_that_needs_memory_and_order():
    # the class is the first step's sign, read after up to 20 steps of noise
    rng = np.random.RandomState(1)
    X = [rng.randn(rng.randint(5, 20), 1) * 0.3 for _ in range(300)]
    y = np.array([int(x[0, 0] > 0) for x in X])
    for x, label in zip(X, y):
        x[0, 0] = 1.0 if label else -1.0
    clf = quiet(RNNClassifier((16,), max_iter=40, random_state=0), X[:200], y[:200])
    assert clf.score(X[200:], y[200:]) > 0.95


def test_regressor_multi_output_and_pickle():
    X = RNG.randn(50, 6, 2)
    Y = np.stack([X[:, -1, 0], X[:, :, 1].sum(axis=1)], axis=1)
    reg = quiet(small(RNNRegressor, max_iter=60), X, Y)
    assert reg.predict(X).shape == (50, 2)
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))


def test_pipeline_tools():
    X, y = RAGGED, Y_RAGGED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert len(cross_val_score(small(), X, y, cv=2)) == 2
        grid = GridSearchCV(small(), {"cell": ["gru", "rnn"]}, cv=2).fit(X, y)
    assert grid.best_params_["cell"] in ("gru", "rnn")
