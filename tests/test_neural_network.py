"""NNClassifier: behaviour, agreement with MLPClassifier, and errors on bad input."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from sknnedu import NNClassifier


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def small_digits(digits):
    X, y = digits
    return X[:300], y[:300]


def quiet_fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


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

    def spiky(self):
        calls.append(self.loss_)
        if len(calls) == 3:
            self.loss_ = 100.0
        real(self)
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
