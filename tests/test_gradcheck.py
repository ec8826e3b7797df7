"""gradient_check (issue 11, item 10): fitted models and partial batches, sparse X,
argument checks, and an estimator that is never changed.

The gradients of the layers themselves are checked in nn/test_network.py,
test_regressor.py and test_cnn.py; here the function around them is, against an
independent computation of the loss from ``predict_proba``. The tests of fitted models on
partial batches, sparse X, the argument checks and the TypeError failed on the code before
the training engine (8dc8fab); the "never changed" tests are guards (that code copied too).
"""

import copy
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from quiet_fits import quiet_fit
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from sknnedu import CNNClassifier, NNClassifier, NNRegressor, gradient_check

X_ALL, Y_ALL = load_digits(return_X_y=True)
X_ALL = X_ALL / 16
X, Y = X_ALL[:300], Y_ALL[:300]


@pytest.fixture(scope="module")
def fitted():
    return quiet_fit(NNClassifier((12,), activation="tanh", alpha=0.01, max_iter=30,
                                  random_state=0), X, Y)


def assert_same_state(a, b, path="vars"):
    """Deep equality: dicts, lists, arrays (dtype too), NaN == NaN."""
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same_state(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (u, v) in enumerate(zip(a, b)):
            assert_same_state(u, v, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), path
    elif isinstance(a, float):
        assert a == b or (np.isnan(a) and np.isnan(b)), path
    else:
        assert a == b, path


def loss_from_predict_proba(est, X, y):
    """J = -mean log p[y] + alpha / 2 sum ||W||^2 / n, from the public predict_proba."""
    P = est.predict_proba(X)
    cols = np.searchsorted(est.classes_, y)
    penalty = 0.5 * est.alpha * sum((W**2).sum() for W in est.coefs_) / len(y)
    return -np.log(P[np.arange(len(y)), cols]).mean() + penalty


# --------------------------------------------- a fitted model and a batch without some classes


def test_fitted_model_on_a_batch_lacking_classes(fitted):
    rows = Y < 4  # classes 4..9 absent
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing about warm_start, or anything else
        err, (bp, fd) = gradient_check(fitted, X[rows], Y[rows], return_details=True)
    assert err < 1e-5
    # the loss it differentiates is the fitted model's, on all ten classes_: its
    # derivative by W[1][10, 3] (the 10 * 12 + 3 = 123rd parameter: weights first, row
    # by row) agrees with one taken through the public predict_proba
    h = 1e-6
    est = copy.deepcopy(fitted)
    w0 = est.coefs_[0][10, 3]
    est.coefs_[0][10, 3] = w0 + h
    plus = loss_from_predict_proba(est, X[rows], Y[rows])
    est.coefs_[0][10, 3] = w0 - h
    minus = loss_from_predict_proba(est, X[rows], Y[rows])
    assert abs(bp[123]) > 1e-4
    assert bp[123] == pytest.approx((plus - minus) / (2 * h), rel=1e-6)


def test_fitted_binary_model_on_a_one_class_batch():
    y = Y % 2
    est = quiet_fit(NNClassifier((8,), activation="tanh", max_iter=20, random_state=0), X, y)
    assert gradient_check(est, X[y == 1], y[y == 1]) < 1e-5


def test_fitted_model_refuses_an_unknown_class(fitted):
    with pytest.raises(ValueError, match=r"y has classes \[10\] not in classes_"):
        gradient_check(fitted, X[:5], np.array([0, 1, 2, 3, 10]))


def test_fitted_model_refuses_other_features(fitted):
    with pytest.raises(ValueError, match="features"):
        gradient_check(fitted, X[:, :10], Y)


def test_a_string_labelled_model():
    labels = np.array(["zero", "one", "two"])
    rows = Y < 3
    est = quiet_fit(NNClassifier((6,), activation="tanh", max_iter=10, random_state=0),
                    X[rows], labels[Y[rows]])
    sub = Y[rows] == 1
    assert gradient_check(est, X[rows][sub], labels[Y[rows]][sub]) < 1e-5


# ---------------------------------------------------------------------------- sparse X


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("is_fitted", [False, True])
def test_sparse_X_gives_the_dense_result(fmt, is_fitted, fitted):
    est = fitted if is_fitted else NNClassifier((6,), activation="tanh", random_state=0)
    Xs = sp.csr_matrix(X[:60]).asformat(fmt)
    assert Xs.nnz < 0.6 * X[:60].size  # digits are mostly blank
    dense = gradient_check(est, X[:60], Y[:60], n_params=30, return_details=True)
    sparse = gradient_check(est, Xs, Y[:60], n_params=30, return_details=True)
    assert sparse[0] < 1e-5
    np.testing.assert_allclose(sparse[1][0], dense[1][0], rtol=1e-12, atol=1e-15)
    # finite differences: the same up to round-off of the loss (about 1e-16 / h)
    np.testing.assert_allclose(sparse[1][1], dense[1][1], rtol=1e-6, atol=1e-9)


def test_sparse_X_for_a_regressor():
    est = NNRegressor(hidden_layer_sizes=(6,), activation="tanh", random_state=0)
    y = Y[:60] / 9.0
    dense = gradient_check(est, X[:60], y, return_details=True)
    sparse = gradient_check(est, sp.csr_matrix(X[:60]), y, return_details=True)
    assert sparse[0] < 1e-5
    np.testing.assert_allclose(sparse[1][0], dense[1][0], rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------------- argument checks


@pytest.mark.parametrize("n_params", [0, -1, 1.5, 2.0, True, "10", np.nan])
def test_bad_n_params_is_named(n_params):
    est = NNClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match=r"n_params must be None or an int >= 1; got"):
        gradient_check(est, X[:20], Y[:20], n_params=n_params)


@pytest.mark.parametrize("h", [0, 0.0, -1e-5, np.nan, np.inf, -np.inf, "1e-5", None, True])
def test_bad_h_is_named(h):
    est = NNClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match=r"h must be a finite float > 0; got"):
        gradient_check(est, X[:20], Y[:20], h=h)


def test_good_arguments():
    est = NNClassifier((4,), activation="tanh", random_state=0)
    n_total = 64 * 4 + 4 * 10 + 4 + 10
    err, (bp, fd) = gradient_check(est, X[:20], Y[:20], return_details=True)
    assert bp.shape == fd.shape == (n_total,)
    _, (bp, fd) = gradient_check(est, X[:20], Y[:20], n_params=np.int64(7), h=1e-4,
                                 return_details=True)
    assert bp.shape == (7,)
    _, (bp_all, _) = gradient_check(est, X[:20], Y[:20], n_params=10**6,
                                    return_details=True)
    assert bp_all.shape == (n_total,)  # more than there are: all of them
    # the chosen subset follows random_state
    a = gradient_check(est, X[:20], Y[:20], n_params=5, random_state=3, return_details=True)
    b = gradient_check(est, X[:20], Y[:20], n_params=5, random_state=3, return_details=True)
    np.testing.assert_array_equal(a[1][0], b[1][0])


@pytest.mark.parametrize("estimator", [MLPClassifier(), LogisticRegression(), "NNClassifier",
                                       None, NNClassifier])
def test_other_estimators_are_a_type_error(estimator):
    with pytest.raises(TypeError, match="needs an sknnedu network estimator"):
        gradient_check(estimator, X[:20], Y[:20])


# --------------------------------------------------------------- the estimator is left alone

CASES = {
    "unfitted classifier": lambda: NNClassifier((5,), dropout=0.3, random_state=0),
    "unfitted regressor": lambda: NNRegressor(loss="huber", hidden_layer_sizes=(5,),
                                              random_state=0),
    "fitted float32 classifier": lambda: quiet_fit(
        NNClassifier((5,), dropout=0.3, class_weight="balanced", max_iter=5,
                     random_state=0), X.astype(np.float32), Y),
    "fitted regressor": lambda: quiet_fit(
        NNRegressor(hidden_layer_sizes=(5,), max_iter=5, random_state=0), X, Y / 9.0),
    "fitted with early stopping": lambda: quiet_fit(
        NNClassifier((5,), early_stopping=True, max_iter=5, random_state=0), X, Y),
    "fitted CNN": lambda: quiet_fit(
        CNNClassifier(((2, 3),), (4,), max_iter=2, random_state=0), X[:50], Y[:50]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_estimator_is_never_changed(case):
    est = CASES[case]()
    before, pickled = copy.deepcopy(vars(est)), pickle.dumps(est)
    y = Y[:40] / 9.0 if isinstance(est, NNRegressor) else Y[:40]
    gradient_check(est, X[:40], y, sample_weight=np.linspace(0.5, 2, 40), n_params=20)
    assert_same_state(vars(est), before)
    assert_same_state(vars(pickle.loads(pickled)), vars(est))
    if hasattr(est, "coefs_"):  # it still predicts as before, in its own dtype
        again = pickle.loads(pickled)
        np.testing.assert_array_equal(est.predict(X[:40]), again.predict(X[:40]))


def test_a_refused_call_changes_nothing_either(fitted):
    before = copy.deepcopy(vars(fitted))
    with pytest.raises(ValueError):
        gradient_check(fitted, X[:5], np.array([0, 1, 2, 3, 10]))
    assert_same_state(vars(fitted), before)


def test_a_random_state_instance_is_not_advanced():
    # an unfitted model is initialised as fit would, from a copy of its random_state
    rs = np.random.RandomState(0)
    state = rs.get_state()
    est = NNClassifier((5,), random_state=rs)
    first = gradient_check(est, X[:40], Y[:40], return_details=True)
    assert est.random_state is rs
    assert_same_state(rs.get_state(), state)
    second = gradient_check(est, X[:40], Y[:40], return_details=True)  # same start again
    np.testing.assert_array_equal(first[1][0], second[1][0])


def test_fitted_warm_start_estimator_checks_a_batch_missing_classes():
    X, y = load_digits(return_X_y=True)
    clf = NNClassifier((6,), activation="tanh", warm_start=True, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X[:300] / 16, y[:300])
    batch = y[:40] < 5
    assert gradient_check(clf, X[:40][batch] / 16, y[:40][batch], n_params=20) < 1e-5


# ------------------------------------------------------------------ hardening, round four


def test_r4_4_the_frozen_padding_row_is_left_out():
    # id 0 inside a sequence reads E[0], which never learns: perturbing it moved the loss
    # while its gradient is 0 by definition, so the check reported 1.0
    from sknnedu import RNNClassifier

    ids = [np.array([2, 3, 0, 4]), np.array([5, 2]), np.array([3, 0]), np.array([4, 5, 6])]
    labels = [0, 1, 0, 1]
    est = RNNClassifier(recurrent_layers=(3,), embedding_dim=2, random_state=0)
    err, (bp, _) = gradient_check(est, ids, labels, return_details=True)
    assert err < 1e-6
    n_params = sum(p.size for p in quiet_fit(copy.deepcopy(est).set_params(max_iter=1),
                                             ids, labels)._params())
    assert bp.size == n_params - 2  # all but the two entries of E[0]


def test_r4_4_a_wrong_embedding_gradient_is_still_caught(monkeypatch):
    from sknnedu import RNNClassifier
    from sknnedu.nn import embedding

    real = embedding.Embedding.backward

    def wrong(self, da, need_input_grad=True):
        real(self, da, need_input_grad)
        self.grads[0] *= 1.5

    monkeypatch.setattr(embedding.Embedding, "backward", wrong)
    ids = [np.array([2, 3, 0, 4]), np.array([5, 2]), np.array([3, 0]), np.array([4, 5, 6])]
    est = RNNClassifier(recurrent_layers=(3,), embedding_dim=2, random_state=0)
    assert gradient_check(est, ids, [0, 1, 0, 1]) > 1e-2


R4_5_CNN = dict(conv_layers=((2, 3),), hidden_layer_sizes=(5,), activation="tanh",
                image_shape=(8, 8), random_state=0)


def test_r4_5_a_near_tie_in_a_max_pooling_window_is_a_kink():
    # image 18: a background patch (tanh(b)) and a patch 2e-6 above it share a pooling
    # window; h = 1e-5 crosses that tie, h / 10 does not: the kink is within the step
    with pytest.warns(UserWarning, match=r"\d+ of the \d+ parameters checked are left out"):
        err = gradient_check(CNNClassifier(**R4_5_CNN), X_ALL[:20], Y_ALL[:20] % 4)
    assert err < 1e-7


def test_r4_5_a_wrong_gradient_is_still_caught_beside_near_ties(monkeypatch):
    from sknnedu.nn import conv_layers

    real = conv_layers.Conv2D.backward

    def wrong(self, da, need_input_grad=True):
        out = real(self, da, need_input_grad)
        self.grads[0] *= 1.01
        return out

    monkeypatch.setattr(conv_layers.Conv2D, "backward", wrong)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert gradient_check(CNNClassifier(**R4_5_CNN), X_ALL[:20], Y_ALL[:20] % 4) > 1e-3


# --------------------------------------- hardening item 13: gradient_check at a kink of the loss


def tiny_cnn(**kw):
    return CNNClassifier(**{"conv_layers": ((4, 3),), "hidden_layer_sizes": (16,),
                            "random_state": 0, **kw})


def test_gradient_check_leaves_out_parameters_on_a_kink():
    # zero backgrounds: exact ties in max-pooling windows, ReLU inputs at exactly 0
    est = tiny_cnn(conv_layers=((2, 3),), hidden_layer_sizes=(4,))
    with pytest.warns(UserWarning, match=r"\d+ of the 80 parameters checked are left out"):
        err = gradient_check(est, X[:10], Y[:10], n_params=80)
    assert err < 1e-5


def test_gradient_check_on_images_with_kinks_still_catches_a_wrong_gradient(monkeypatch):
    from sknnedu.nn import conv_layers

    real = conv_layers.Conv2D.backward

    def wrong(self, da, need_input_grad=True):
        out = real(self, da, need_input_grad)
        self.grads[0] *= 1.5
        return out

    monkeypatch.setattr(conv_layers.Conv2D, "backward", wrong)
    est = tiny_cnn(conv_layers=((2, 3),), hidden_layer_sizes=(4,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert gradient_check(est, X[:10], Y[:10], n_params=80) > 1e-2
