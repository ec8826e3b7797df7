"""NNClassifier: behaviour, agreement with MLPClassifier, and errors on bad input; odd inputs
(finite output or a clean refusal, tests/odd_inputs.py), inputs never modified,
bit-identical models from one random_state, and fitted models used from several threads."""

import pickle
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import event, given
from hypothesis import strategies as st
from odd_inputs import (
    EXTREME_IDS,
    EXTREMES,
    LAYOUTS,
    PROPERTY,
    Refused,
    assert_finite,
    assert_unchanged,
    build_matrix,
    extreme,
    make_values,
    matrix_specs,
    n_rows,
    outcome,
    snapshot,
    with_layout,
)
from quiet_fits import quiet_fit
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler

from sknnedu import NNClassifier
from sknnedu.feature_extraction import ConvFeatureTransformer


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


# ----------------------------------------------------- agreement with scikit-learn


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="lbfgs", max_iter=30),
        dict(solver="sgd", shuffle=False, max_iter=10, momentum=0.5),
        dict(solver="sgd", shuffle=False, max_iter=10, nesterovs_momentum=False,
             learning_rate="invscaling"),
        dict(solver="adam", shuffle=False, max_iter=10, alpha=0.1),
        dict(solver="adam", shuffle=False, max_iter=10, activation="tanh"),
        dict(solver="adam", shuffle=False, max_iter=10, activation="logistic"),
    ],
)
def test_same_trajectory_as_mlpclassifier(small_digits, params):
    # with Glorot init the same seed draws the same weights as MLPClassifier, and
    # without shuffling the whole optimisation is the same computation
    X, y = small_digits
    ours = quiet_fit(NNClassifier((20,), init="glorot", random_state=0, **params), X, y)
    ref = quiet_fit(MLPClassifier((20,), random_state=0, **params), X, y)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-8)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-8)


def test_comparable_accuracy_on_digits(digits):
    X, y = digits
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0, stratify=y)
    ours = quiet_fit(NNClassifier((64,), max_iter=100, random_state=0), Xtr, ytr)
    ref = quiet_fit(MLPClassifier((64,), max_iter=100, random_state=0), Xtr, ytr)
    assert ours.score(Xte, yte) > 0.95
    assert abs(ours.score(Xte, yte) - ref.score(Xte, yte)) < 0.02


# ------------------------------------------------------------- targets


def test_binary_string_labels():
    X, y = make_classification(200, 10, random_state=0)
    labels = np.array(["cat", "dog"])[y]
    clf = quiet_fit(NNClassifier((16,), max_iter=200, random_state=0), X, labels)
    assert list(clf.classes_) == ["cat", "dog"]
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    assert set(clf.predict(X)) <= {"cat", "dog"}
    assert clf.score(X, labels) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-6)


def test_multiclass_softmax(small_digits):
    X, y = small_digits
    clf = quiet_fit(NNClassifier((32,), max_iter=100, random_state=0), X, y)
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 10
    assert clf.n_layers_ == 3
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1, rtol=1e-6)
    assert clf.score(X, y) > 0.95


def test_multilabel():
    X, Y = make_multilabel_classification(200, 10, n_classes=4, random_state=0)
    clf = quiet_fit(NNClassifier((32,), max_iter=300, random_state=0), X, Y)
    assert clf.predict(X).shape == Y.shape
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    assert clf.predict_proba(X).shape == (200, 4)
    assert (clf.predict(X) == Y).mean() > 0.75  # MLPClassifier: 0.83 on this data
    # partial_fit on a multilabel target needs no classes
    NNClassifier((8,), random_state=0).partial_fit(X, Y)


def test_sparse_equals_dense(small_digits):
    X, y = small_digits
    dense = quiet_fit(NNClassifier((16,), max_iter=5, random_state=0), X, y)
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        sparse = quiet_fit(NNClassifier((16,), max_iter=5, random_state=0), fmt(X), y)
        np.testing.assert_allclose(sparse.predict_proba(X), dense.predict_proba(X),
                                   rtol=1e-6, atol=1e-8)


def test_one_class_is_accepted_as_mlpclassifier_does():
    # a drop-in accepts what the original accepts; the only class is certain
    X = np.random.RandomState(0).rand(6, 2)
    clf = quiet_fit(NNClassifier((4,), max_iter=5, random_state=0), X, np.array(["a"] * 6))
    assert list(clf.classes_) == ["a"]
    assert list(clf.predict(X)) == ["a"] * 6
    np.testing.assert_array_equal(clf.predict_proba(X), np.ones((6, 1)))


def test_continuous_target_is_an_error():
    with pytest.raises(ValueError, match="Unknown label type"):
        NNClassifier().fit(np.ones((5, 2)), np.linspace(0, 1, 5))


# ----------------------------------------------------------- dtypes, numerics


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(small_digits, dtype):
    X, y = small_digits
    for solver in ("adam", "lbfgs"):
        clf = quiet_fit(NNClassifier((8,), solver=solver, max_iter=3), X.astype(dtype), y)
        assert all(w.dtype == dtype for w in clf.coefs_ + clf.intercepts_)
        assert clf.predict_proba(X.astype(dtype)).dtype == dtype


def test_int_input_becomes_float64():
    X, y = make_classification(50, 4, random_state=0)
    clf = quiet_fit(NNClassifier((4,), max_iter=3), (X * 10).astype(int), y)
    assert clf.coefs_[0].dtype == np.float64


def test_huge_inputs_stay_finite_without_warnings():
    X, y = make_classification(100, 5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        for act in ("sigmoid", "tanh", "relu", "leakyrelu"):
            clf = NNClassifier((8,), activation=act, max_iter=3, random_state=0)
            clf.fit(X, y)
            assert np.isfinite(clf.predict_proba(X * 1e5)).all()


@pytest.mark.parametrize("solver", ["adam", "sgd", "rmsprop"])
@pytest.mark.parametrize("alpha", [0.0, 1e-4])
@pytest.mark.parametrize("scale", [1, 100])
def test_divergence_is_a_clear_error(small_digits, solver, alpha, scale):
    X, y = small_digits
    with pytest.raises(ValueError, match="diverged.*learning_rate_init"):
        quiet_fit(NNClassifier((32,), solver=solver, learning_rate_init=1e6, max_iter=50,
                               alpha=alpha, random_state=0), X * scale, y)


def test_high_but_sane_learning_rate_is_not_divergence(small_digits):
    X, y = small_digits
    clf = quiet_fit(NNClassifier((32,), solver="sgd", learning_rate_init=0.5, max_iter=30,
                                 random_state=0), X, y)
    assert clf.score(X, y) > 0.9


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(activation="softplus"), "Unknown activation 'softplus'.*expected one of"),
        (dict(hidden_layer_sizes=[(8, "swish")]), "activation of hidden layer 0 'swish'"),
        (dict(solver="newton"), "solver must be one of"),
        (dict(init="orthogonal"), "init must be 'auto' or one of"),
        (dict(hidden_layer_sizes=(10, 0)), "must be > 0; got 0 at position 1"),
        (dict(hidden_layer_sizes=[(8, "relu", 2)]), r"hidden_layer_sizes\[0\] must be an int"),
        (dict(hidden_layer_sizes=[("relu", 8)]), r"hidden_layer_sizes\[0\] must be an int"),
        (dict(hidden_layer_sizes="relu"), "hidden_layer_sizes must be an int or a sequence"),
        (dict(learning_rate="cyclic"), "learning_rate must be one of"),
        (dict(alpha=-1.0), "alpha must be a float >= 0; got -1.0"),
        (dict(batch_size=0), "batch_size must be 'auto' or an int >= 1"),
        (dict(learning_rate_init=0), "learning_rate_init must be a float > 0"),
        (dict(max_iter=0), "max_iter must be an int >= 1"),
        (dict(momentum=2.0), r"momentum must be in \[0, 1\]"),
        (dict(dropout=1.0), r"dropout must be in \[0, 1\)"),
        (dict(validation_fraction=1.0), r"validation_fraction must be in \[0, 1\)"),
        (dict(beta_1=1.0), r"beta_1 must be in \[0, 1\)"),
        (dict(epsilon=0.0), "epsilon must be a float > 0"),
        (dict(n_iter_no_change=0), "n_iter_no_change must be an int >= 1"),
        (dict(class_weight="even"), "class_weight must be None, 'balanced' or a dict"),
    ],
)
def test_bad_parameters(params, match):
    X, y = make_classification(30, 4, random_state=0)
    with pytest.raises(ValueError, match=match):
        NNClassifier(**params).fit(X, y)


def test_bad_data():
    X, y = make_classification(30, 4, random_state=0)
    Xnan = X.copy()
    Xnan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        NNClassifier().fit(Xnan, y)
    Xinf = X.copy()
    Xinf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        NNClassifier().fit(Xinf, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        NNClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        NNClassifier().fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="finite and non-negative"):
        NNClassifier().fit(X, y, sample_weight=-np.ones(30))
    clf = quiet_fit(NNClassifier((4,), max_iter=2), X, y)
    with pytest.raises(ValueError, match="4 features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(Xnan)


# --------------------------------------------------------------- training loop


def test_early_stopping_records_validation(small_digits):
    X, y = small_digits
    clf = quiet_fit(NNClassifier((32,), early_stopping=True, max_iter=200, random_state=0,
                                 n_iter_no_change=5), X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    assert clf.n_iter_ < 200


def test_no_early_stopping_attributes(small_digits):
    X, y = small_digits
    clf = quiet_fit(NNClassifier((8,), max_iter=5), X, y)
    assert clf.validation_scores_ is None and clf.validation_loss_curve_ is None
    assert clf.best_validation_score_ is None
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.t_ == 5 * X.shape[0]


def test_convergence_warning(small_digits):
    X, y = small_digits
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        NNClassifier((8,), max_iter=2).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        NNClassifier((8,), solver="lbfgs", max_iter=2).fit(X, y)


def test_n_iter_no_change_stops(small_digits):
    X, y = small_digits
    clf = quiet_fit(NNClassifier((8,), tol=10.0, n_iter_no_change=3, max_iter=100), X, y)
    assert clf.n_iter_ == 5  # epoch 1 sets best_loss_, then 4 > 3 epochs without progress


def test_adaptive_learning_rate(small_digits):
    X, y = small_digits
    clf = quiet_fit(NNClassifier((8,), solver="sgd", learning_rate="adaptive", tol=10.0,
                                 max_iter=100), X, y)
    assert clf.n_iter_ < 100
    assert clf._train_state["optimizer"]["learning_rate"] <= 1e-6


def test_warm_start_continues(small_digits):
    X, y = small_digits
    clf = quiet_fit(NNClassifier((8,), max_iter=5, warm_start=True, random_state=0), X, y)
    first = [w.copy() for w in clf.coefs_]
    quiet_fit(clf, X, y)
    assert len(clf.loss_curve_) == 10
    assert clf.loss_curve_[5] < clf.loss_curve_[0]
    assert not np.allclose(first[0], clf.coefs_[0])
    with pytest.raises(ValueError, match="warm_start can only be used"):
        clf.fit(X[y < 5], y[y < 5])


def test_partial_fit(small_digits):
    X, y = small_digits
    clf = NNClassifier((16,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    classes = np.unique(y)
    for _ in range(30):
        clf.partial_fit(X[:150], y[:150], classes=classes)
        clf.partial_fit(X[150:], y[150:])
    assert clf.score(X, y) > 0.9
    assert clf.n_iter_ == 1
    with pytest.raises(ValueError, match="not the same as on the last call"):
        clf.partial_fit(X, y, classes=classes[:3])
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X, y + 10)
    assert not hasattr(NNClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="early_stopping"):
        NNClassifier(early_stopping=True).partial_fit(X, y, classes=classes)


def test_partial_fit_sees_classes_missing_from_a_batch(small_digits):
    X, y = small_digits
    clf = NNClassifier((8,), random_state=0).partial_fit(X[y < 5], y[y < 5],
                                                          classes=np.arange(10))
    assert clf.predict_proba(X).shape == (300, 10)


def test_pickle_round_trip(small_digits):
    X, y = small_digits
    clf = quiet_fit(NNClassifier([(8, "tanh"), (4, "leakyrelu")], max_iter=3), X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


def test_same_seed_same_model(small_digits):
    X, y = small_digits
    a = quiet_fit(NNClassifier((8,), max_iter=3, dropout=0.2, random_state=3), X, y)
    b = quiet_fit(NNClassifier((8,), max_iter=3, dropout=0.2, random_state=3), X, y)
    for wa, wb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(wa, wb)


# ------------------------------------------------------------ the notes' extras


def test_per_layer_activations(small_digits):
    X, y = small_digits
    clf = quiet_fit(NNClassifier([(16, "leakyrelu"), 8, (8, "sigmoid")], activation="tanh",
                                 max_iter=3), X, y)
    assert clf.hidden_activations_ == ["leakyrelu", "tanh", "sigmoid"]
    assert [w.shape for w in clf.coefs_] == [(64, 16), (16, 8), (8, 8), (8, 10)]


def test_leaky_slope_is_used(small_digits):
    X, y = small_digits
    a = quiet_fit(NNClassifier((8,), activation="leakyrelu", max_iter=2, random_state=0,
                               init="glorot"), X, y)
    b = quiet_fit(NNClassifier((8,), activation="leakyrelu", max_iter=2, random_state=0,
                               init="glorot", negative_slope=0.3), X, y)
    assert not np.allclose(a.coefs_[0], b.coefs_[0])


def test_sigmoid_is_logistic(small_digits):
    X, y = small_digits
    a = quiet_fit(NNClassifier((8,), activation="sigmoid", max_iter=3, random_state=0), X, y)
    b = quiet_fit(NNClassifier((8,), activation="logistic", max_iter=3, random_state=0), X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])


def test_zeros_init_is_symmetric(small_digits):
    X, y = small_digits
    clf = quiet_fit(NNClassifier((6, 5), activation="tanh", init="zeros", max_iter=20,
                                 random_state=0), X, y)
    for W in clf.coefs_[:-1]:
        # every hidden unit has the same incoming weights: the columns are equal
        np.testing.assert_allclose(W, W[:, :1].repeat(W.shape[1], axis=1))
    rand = quiet_fit(NNClassifier((6, 5), activation="tanh", init="glorot", max_iter=20,
                                  random_state=0), X, y)
    assert np.ptp(rand.coefs_[0], axis=1).max() > 0.1


@pytest.mark.parametrize("init", ["he", "glorot", "lecun", "normal", "zeros", "auto"])
def test_inits_scale(init):
    X, y = make_classification(40, 400, random_state=0)
    clf = quiet_fit(NNClassifier((300,), init=init, max_iter=1, learning_rate_init=1e-12,
                                 random_state=0), X, y)
    std = clf.coefs_[0].std()
    expected = {"he": np.sqrt(2 / 400), "auto": np.sqrt(2 / 400), "lecun": np.sqrt(1 / 400),
                "glorot": np.sqrt(6 / 700) / np.sqrt(3), "normal": 0.01, "zeros": 0.0}[init]
    assert std == pytest.approx(expected, rel=0.05, abs=1e-9)


def test_rmsprop_learns(small_digits):
    X, y = small_digits
    clf = quiet_fit(NNClassifier((32,), solver="rmsprop", learning_rate_init=0.01,
                                 max_iter=50, random_state=0), X, y)
    assert clf.score(X, y) > 0.95
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] / 5


def test_class_weight_balanced_helps_minority():
    X, y = make_classification(600, 6, weights=[0.92], class_sep=0.6, flip_y=0,
                               random_state=2)
    plain = quiet_fit(NNClassifier((8,), max_iter=100, random_state=0), X, y)
    weighted = quiet_fit(NNClassifier((8,), max_iter=100, random_state=0,
                                      class_weight="balanced"), X, y)
    recall = [((m.predict(X) == 1) & (y == 1)).sum() / (y == 1).sum()
              for m in (plain, weighted)]
    assert recall[1] > recall[0]


def test_class_weight_dict_equals_sample_weight(small_digits):
    X, y = small_digits
    cw = {k: 1.0 + k for k in range(10)}
    a = quiet_fit(NNClassifier((8,), max_iter=3, random_state=0, class_weight=cw), X, y)
    b = quiet_fit(NNClassifier((8,), max_iter=3, random_state=0), X, y,
                  sample_weight=1.0 + y)
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-6)


def test_dropout_trains_and_predicts_deterministically(small_digits):
    X, y = small_digits
    clf = quiet_fit(NNClassifier((64,), dropout=0.3, max_iter=100, random_state=0), X, y)
    assert clf.score(X, y) > 0.95
    np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))
    plain = quiet_fit(NNClassifier((64,), max_iter=100, random_state=0), X, y)
    assert not np.allclose(plain.coefs_[0], clf.coefs_[0])


def test_gradient_norms_shape_and_vanishing():
    X, y = make_classification(300, 20, random_state=0)
    deep = [(32, "sigmoid")] * 9
    clf = quiet_fit(NNClassifier(deep, init="normal", max_iter=2, random_state=0), X, y)
    norms = np.array(clf.gradient_norms_)
    assert norms.shape == (2, 10)
    # the notes' lesson: with sigmoid and naive init the first layers barely learn
    assert norms[0, 0] < 1e-4 * norms[0, -1]
    relu = quiet_fit(NNClassifier([(32, "relu")] * 9, init="he", max_iter=2,
                                  random_state=0), X, y)
    rn = np.array(relu.gradient_norms_)
    assert rn[0, 0] > 1e-2 * rn[0, -1]


# ------------------------------------------------------------------ model selection


def test_grid_search_in_pipeline(small_digits):
    X, y = small_digits
    pipe = Pipeline([("scale", MinMaxScaler()),
                     ("nn", NNClassifier(max_iter=60, learning_rate_init=0.01,
                                         random_state=0))])
    grid = {
        "nn__activation": ["sigmoid", "tanh", "relu", "leakyrelu"],
        "nn__hidden_layer_sizes": [(16,), [(16, "relu"), (8, "tanh")]],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert search.best_score_ > 0.85
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_a_loss_spike_that_recovers_is_not_divergence(small_digits, monkeypatch):
    # a transient epoch above the divergence line must not stop a run that recovers
    X, y = small_digits
    clf = NNClassifier((16,), max_iter=15, random_state=0)
    real = NNClassifier._check_divergence
    calls = []

    def spiky(self, net):
        calls.append(self.loss_)
        if len(calls) == 3:
            self.loss_ = 100.0
        real(self, net)
        self.loss_ = calls[-1]

    monkeypatch.setattr(NNClassifier, "_check_divergence", spiky)
    quiet_fit(clf, X, y)
    assert clf.n_iter_ == 15


def test_small_products_run_blas_single_threaded(small_digits, monkeypatch):
    # small per-batch products run on one BLAS thread (threads cost more than they
    # save there); the limit is lifted again after fit
    from threadpoolctl import threadpool_info

    from sknnedu.nn.network import Network

    seen = []
    real = Network.loss_grad

    def spy(*args, **kwargs):
        seen.append(max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"))
        return real(*args, **kwargs)

    before = [i["num_threads"] for i in threadpool_info()]
    monkeypatch.setattr(Network, "loss_grad", spy)
    X, y = small_digits
    quiet_fit(NNClassifier((16,), max_iter=1), X, y)
    assert set(seen) == {1}
    assert [i["num_threads"] for i in threadpool_info()] == before


def test_shuffled_trajectory_matches_mlpclassifier(small_digits):
    # shuffling draws the same permutations as MLPClassifier (no extra draws before)
    X, y = small_digits
    ours = quiet_fit(NNClassifier((20,), init="glorot", max_iter=5, random_state=0), X, y)
    ref = quiet_fit(MLPClassifier((20,), max_iter=5, random_state=0), X, y)
    assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-8)


def test_lbfgs_refuses_dropout(small_digits):
    with pytest.raises(ValueError, match="dropout must be 0 with solver='lbfgs'"):
        NNClassifier(solver="lbfgs", dropout=0.2).fit(*small_digits)


def test_zero_weight_batches_are_skipped_not_fatal(small_digits):
    X, y = small_digits
    sw = np.ones(len(y))
    sw[:200] = 0  # the first batch (no shuffling) has nothing to learn from
    clf = quiet_fit(NNClassifier((8,), shuffle=False, batch_size=100, learning_rate_init=0.01,
                                 max_iter=50, random_state=0), X, y, sample_weight=sw)
    assert clf.score(X[200:], y[200:]) > 0.5


def test_switching_solver_between_partial_fits_starts_a_fresh_optimizer(small_digits):
    X, y = small_digits
    clf = NNClassifier((8,), solver="sgd", random_state=0)
    clf.partial_fit(X, y, classes=np.arange(10))
    clf.set_params(solver="rmsprop")
    clf.partial_fit(X, y)
    assert clf._train_state["optimizer"]["kind"] == "RMSProp"
    assert np.isfinite(clf.predict_proba(X)).all()


def test_partial_fit_refuses_balanced_class_weight(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        NNClassifier(class_weight="balanced").partial_fit(X, y, classes=np.arange(10))


def test_dropout_masks_change_between_partial_fit_calls(small_digits, monkeypatch):
    from sknnedu.nn.layers import Dropout

    X, y = small_digits
    masks = []
    real = Dropout.forward

    def spy(self, a_prev, training=False):
        out = real(self, a_prev, training)
        if self.mask is not None:
            masks.append(self.mask.copy())
        return out

    monkeypatch.setattr(Dropout, "forward", spy)
    clf = NNClassifier((8,), dropout=0.5, batch_size=300, random_state=0)
    clf.partial_fit(X, y, classes=np.arange(10))
    clf.partial_fit(X, y)
    assert len(masks) == 2 and not np.array_equal(masks[0], masks[1])


# --------------------------- odd inputs: finite output or a clean refusal, never NaN (hardening)


@st.composite
def label_specs(draw):
    return dict(
        n_classes=draw(st.sampled_from([1, 2, 2, 3, 3, 4])),
        kind=draw(st.sampled_from(["int", "str", "float", "bool", "negative"])),
        container=draw(st.sampled_from(["array", "list", "series"])),
        seed=draw(st.integers(0, 2**16)),
    )


def class_values(spec) -> np.ndarray:
    k = spec["n_classes"] if spec["kind"] != "bool" else min(spec["n_classes"], 2)
    return {
        "int": np.arange(k),
        "str": np.array([f"class {i}" for i in range(k)]),
        "float": np.arange(k) * 2.0,  # integral floats: labels, not a regression target
        "bool": np.array([False, True])[:k],
        "negative": -np.arange(k) - 7,
    }[spec["kind"]]


def build_labels(spec, n_samples: int):
    classes = class_values(spec)
    rng = np.random.default_rng(spec["seed"])
    y = classes[rng.permutation(np.arange(n_samples) % len(classes))]
    if spec["container"] == "list":
        return y.tolist()
    if spec["container"] == "series":
        return pd.Series(y)
    return y


def check_classifier_outputs(clf, X, *, must_work: bool, strict: bool = True):
    """predict_proba and predict on X: finite, well-shaped, or (if allowed) refused."""
    proba = outcome(clf.predict_proba, X, strict=strict)
    if isinstance(proba, Refused):
        assert not must_work, f"fit accepted X but predict_proba refused it: {proba}"
        return
    assert_finite(proba, "predict_proba")
    assert proba.shape == (n_rows(X), len(clf.classes_))
    assert (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-3)
    labels = outcome(clf.predict, X, strict=strict)
    assert not isinstance(labels, Refused), f"predict_proba worked but predict: {labels}"
    assert labels.shape == (n_rows(X),)
    assert np.isin(labels, clf.classes_).all()


# NNClassifier: property-based
SOLVERS = ["adam", "sgd", "rmsprop", "lbfgs"]


@PROPERTY
@given(x=matrix_specs(), labels=label_specs(), x_new=st.data(),
       solver=st.sampled_from(SOLVERS))
def test_nnclassifier_fit_predict_any_input(workdir, x, labels, x_new, solver):
    X = build_matrix(x, workdir)
    y = build_labels(labels, x["n_samples"])
    clf = NNClassifier((3,), solver=solver, max_iter=3, random_state=0)
    fitted = outcome(clf.fit, X, y)
    event(f"fit refused: {str(fitted.exc)[:50]}" if isinstance(fitted, Refused) else "fit worked")
    if isinstance(fitted, Refused):
        return
    assert fitted is clf
    for W in clf.coefs_ + clf.intercepts_:
        assert_finite(W, "a weight")
    check_classifier_outputs(clf, X, must_work=True)
    other = build_matrix(x_new.draw(matrix_specs(n_features=x["n_features"]), label="X_new"),
                         workdir)
    check_classifier_outputs(clf, other, must_work=False)


@PROPERTY
@given(x=matrix_specs(), labels=label_specs(), extra_class=st.booleans(), st_data=st.data())
def test_nnclassifier_partial_fit_any_input(workdir, x, labels, extra_class, st_data):
    X = build_matrix(x, workdir)
    y = build_labels(labels, x["n_samples"])
    classes = class_values(labels)
    if extra_class and labels["kind"] in ("int", "negative", "float"):
        classes = np.append(classes, classes.max() + 100)  # a class the stream has not shown
    clf = NNClassifier((3,), max_iter=3, random_state=0)
    first = outcome(clf.partial_fit, X, y, classes=classes)
    event("partial_fit refused" if isinstance(first, Refused) else "partial_fit worked")
    if isinstance(first, Refused):
        return
    np.testing.assert_array_equal(clf.classes_, np.unique(classes))
    check_classifier_outputs(clf, X, must_work=True)
    # a second chunk, drawn independently but with the same number of features
    chunk = st_data.draw(matrix_specs(n_features=x["n_features"]), label="second chunk")
    X2 = build_matrix(chunk, workdir)
    y2 = build_labels(labels | {"seed": chunk["seed"]}, chunk["n_samples"])
    second = outcome(clf.partial_fit, X2, y2)
    if not isinstance(second, Refused):
        check_classifier_outputs(clf, X2, must_work=True)


# NNClassifier: the edge cases, one by one (each readable on its own when it fails)
@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5))
    y = np.arange(30) % 3
    return X, y


@pytest.fixture(scope="module")
def fitted64(small):
    X, y = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return NNClassifier((8,), max_iter=50, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def fitted32(small):
    X, y = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return NNClassifier((8,), max_iter=50, random_state=0).fit(X.astype(np.float32), y)


MAGNITUDES = [(np.float64, s) for s in (1e-300, 1e-30, 1e8, 1e30, 1e100, 1e200, 1e300)] + [
    (np.float32, s) for s in (1e-30, 1e-8, 1e8, 1e20, 1e30, 1e37)]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(("dtype", "scale"), MAGNITUDES,
                         ids=[f"{np.dtype(d).name}-{s:g}" for d, s in MAGNITUDES])
def test_fit_at_extreme_magnitudes_is_finite_or_refused(small, solver, dtype, scale):
    X, y = small
    X = (X / np.abs(X).max() * scale).astype(dtype)  # the largest |x| is `scale`
    clf = NNClassifier((8,), solver=solver, max_iter=5, random_state=0)
    if not isinstance(outcome(clf.fit, X, y), Refused):
        check_classifier_outputs(clf, X, must_work=True)


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize(("dtype", "value"), EXTREMES, ids=EXTREME_IDS)
def test_predict_at_extreme_values_is_finite_or_refused(fitted64, fitted32, dtype, value,
                                                        sign):
    clf = fitted64 if dtype == np.float64 else fitted32
    X = np.full((3, clf.n_features_in_), sign * extreme(dtype, value), dtype=dtype)
    X[1] = 0.0
    X[2, ::2] *= -1  # mixed signs: a sum that cancels or not
    check_classifier_outputs(clf, X, must_work=False)


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "warnings_ignored"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predict_with_one_huge_feature_is_finite_or_refused(fitted64, fitted32, dtype, strict):
    """X sums to 0 (so scikit-learn's validation passes it), but ``x W[1]`` overflows.

    ``strict=False`` is how most people run: warnings ignored, so a NaN would go unseen.
    """
    clf = fitted64 if dtype == np.float64 else fitted32
    n = clf.n_features_in_
    X = np.zeros((2 * n, n), dtype=dtype)
    X[np.arange(n), np.arange(n)] = np.finfo(dtype).max  # one huge feature per row
    X[n + np.arange(n), np.arange(n)] = -np.finfo(dtype).max
    check_classifier_outputs(clf, X, must_work=False, strict=strict)


@pytest.mark.parametrize("scale", [1e-300, 1e-30, 1e30, 1e300, 1e308])
def test_sample_weight_scale_is_finite_or_refused(small, scale):
    X, y = small
    clf = NNClassifier((8,), max_iter=5, random_state=0)
    if not isinstance(outcome(clf.fit, X, y, sample_weight=np.full(len(y), scale)), Refused):
        check_classifier_outputs(clf, X, must_work=True)


def test_partial_fit_with_a_single_class_predicts_or_refuses(small):
    X, _ = small
    clf = NNClassifier((4,), random_state=0)
    if isinstance(outcome(clf.partial_fit, X, np.zeros(len(X)), classes=[0]), Refused):
        return
    check_classifier_outputs(clf, X, must_work=True)
    assert (clf.predict(X) == 0).all()


@pytest.mark.parametrize("case", [
    "empty", "no_features", "3d", "1d", "ragged", "strings",
    "complex", "nan", "inf", "y_nan", "y_continuous", "y_wrong_length", "mixed_names",
])
def test_bad_input_is_refused_with_a_message(small, case):
    X, y = small
    args = {
        "empty": (X[:0], y[:0]),
        "no_features": (X[:, :0], y),
        "3d": (X.reshape(30, 5, 1), y),
        "1d": (X[:, 0], y),
        "ragged": ([[1.0, 2.0], [3.0]], [0, 1]),
        "strings": (np.full((4, 2), "a"), [0, 1, 0, 1]),
        "complex": (X + 1j, y),
        "nan": (np.where(X > 1, np.nan, X), y),
        "inf": (np.where(X > 1, np.inf, X), y),
        "y_nan": (X, np.where(y > 1, np.nan, y)),
        "y_continuous": (X, np.linspace(0, 1, len(y))),
        "y_wrong_length": (X, y[:-1]),
        "mixed_names": (pd.DataFrame(X, columns=["a", 1, "b", 2, "c"]), y),
    }[case]
    result = outcome(NNClassifier((4,), max_iter=2).fit, *args)
    assert isinstance(result, Refused), f"fit accepted {case!r}"


@pytest.mark.parametrize("case", ["empty", "wrong_width", "nan", "inf", "1d", "3d"])
def test_bad_input_to_predict_is_refused_with_a_message(fitted64, case):
    X = np.zeros((2, fitted64.n_features_in_))
    X = {
        "empty": X[:0], "wrong_width": X[:, :-1], "nan": X + np.nan, "inf": X + np.inf,
        "1d": X[0], "3d": X[:, :, None],
    }[case]
    for method in (fitted64.predict, fitted64.predict_proba, fitted64.predict_log_proba):
        assert isinstance(outcome(method, X), Refused), f"{method.__name__} accepted {case!r}"


# ------------------------------------------------ inputs are never modified in place (hardening)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_nnclassifier_never_modifies_its_inputs(workdir, layout, dtype, solver):
    X = with_layout(make_values((40, 6), dtype, 1.0, None, 0), layout, workdir)
    y = np.arange(40) % 3
    sample_weight = np.linspace(0.5, 2, 40)
    classes = [0, 1, 2]
    inputs = dict(X=X, y=y, sample_weight=sample_weight, classes=classes)
    before = {k: snapshot(v) for k, v in inputs.items()}
    clf = NNClassifier((5,), solver=solver, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=sample_weight)
        clf.predict(X), clf.predict_proba(X), clf.predict_log_proba(X), clf.score(X, y)
        if solver != "lbfgs":
            NNClassifier((5,), max_iter=3).partial_fit(X, y, classes=classes,
                                                      sample_weight=sample_weight)
    for name, value in inputs.items():
        assert_unchanged(before[name], value, name)


# ---------------------------------- the same random_state gives bit-identical models (hardening)


@pytest.mark.parametrize("params", [
    dict(solver="adam"),
    dict(solver="sgd", learning_rate="adaptive"),
    dict(solver="rmsprop", dropout=0.2),
    dict(solver="lbfgs"),
    dict(solver="adam", early_stopping=True, n_iter_no_change=2),
    dict(solver="adam", hidden_layer_sizes=[(12, "leakyrelu"), (6, "tanh")], init="lecun"),
], ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_random_state_gives_bit_identical_models(small_digits, params, dtype):
    X, y = small_digits
    X = X.astype(dtype)
    kwargs = dict(hidden_layer_sizes=(16,), max_iter=8, random_state=42) | params

    def train(random_state):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return NNClassifier(**kwargs | {"random_state": random_state}).fit(X, y)

    a, b = train(42), train(42)
    c = train(np.random.RandomState(42))  # a fresh RandomState seeded alike: the same model
    for other in (b, c):
        for wa, wb in zip(a.coefs_ + a.intercepts_, other.coefs_ + other.intercepts_,
                          strict=True):
            assert wa.dtype == wb.dtype == dtype
            np.testing.assert_array_equal(wa, wb)
        assert a.loss_curve_ == other.loss_curve_
        np.testing.assert_array_equal(a.predict_proba(X), other.predict_proba(X))


def test_same_random_state_gives_bit_identical_partial_fit_streams(small_digits):
    X, y = small_digits
    models = [NNClassifier((16,), random_state=7) for _ in range(2)]
    for clf in models:
        for _ in range(3):
            for start in range(0, len(X), 64):
                clf.partial_fit(X[start:start + 64], y[start:start + 64], classes=range(10))
    for wa, wb in zip(models[0].coefs_, models[1].coefs_, strict=True):
        np.testing.assert_array_equal(wa, wb)


# ----------------------------------------------------------- several threads at once (hardening)


@pytest.mark.parametrize("method", ["predict", "predict_proba", "transform"])
def test_predict_from_eight_threads_matches_serial(small_digits, fitted_pipeline, method):
    X, _ = small_digits
    if method == "transform":
        fn = fitted_pipeline[0].transform
    else:
        fn = getattr(fitted_pipeline, method)
    chunks = [X[i % 7::7] for i in range(48)]  # 48 calls, overlapping inputs, varied sizes
    serial = [fn(c) for c in chunks]
    barrier = threading.Barrier(8)

    def call(i):
        if i < 8:
            barrier.wait(timeout=30)  # the first eight calls start together
        return fn(chunks[i])

    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(call, range(len(chunks))))
    for s, t in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(s, t)


def test_fitting_clones_in_eight_threads_matches_serial(small_digits):
    """Threaded workers (joblib's threading backend, dask's processes=False) share globals."""
    X, y = small_digits
    base = make_pipeline(ConvFeatureTransformer("kmeans", n_filters=3, image_shape=(8, 8),
                                                random_state=0),
                         NNClassifier((16,), max_iter=5, random_state=0, dropout=0.1))

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return clone(base).fit(X, y)

    serial = fit()
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda _: fit(), range(8)))
    for model in threaded:
        np.testing.assert_array_equal(model[0].kernels_, serial[0].kernels_)
        for wa, wb in zip(model[-1].coefs_, serial[-1].coefs_, strict=True):
            np.testing.assert_array_equal(wa, wb)
