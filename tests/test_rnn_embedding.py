"""RNNClassifier and RNNRegressor with embedding_dim: token ids in, an Embedding first.

The forms X may take (ragged lists, 2-D arrays padded with 0), what an id means (0 padding,
1 unseen, an id beyond fit's vocabulary at predict counts as 1), the errors, gradient
checks through the estimator, and the round trips through pickle and skops."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from sknnedu import RNNClassifier, RNNRegressor, TextSequencer, gradient_check
from sknnedu.persistence import load_model, save_model


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="batch_size")
        yield


def _data(n=40, V=6, seed=0):
    """Ragged id sequences; the label: does id 3 come before id 4."""
    rng = np.random.RandomState(seed)
    X = [rng.randint(2, V, size=rng.randint(1, 9)) for _ in range(n)]
    y = np.array([int(3 in x and (4 not in x or list(x).index(3) < list(x).index(4)))
                  for x in X])
    return X, y


def _padded(X):
    A = np.zeros((len(X), max(map(len, X))), dtype=np.int64)
    for i, x in enumerate(X):
        A[i, :len(x)] = x
    return A


def _small(est=RNNClassifier, **kw):
    return est(**{"recurrent_layers": (5,), "embedding_dim": 3, "max_iter": 4,
                  "random_state": 0, **kw})


def test_fitted_arrays_and_the_padding_row():
    X, y = _data()
    clf = _small().fit(X, y)
    assert clf.vocabulary_size_ == 6 and clf.embeddings_.shape == (6, 3)
    assert clf.input_weights_[0].shape[0] == 3        # the recurrent layer reads d features
    assert not clf.embeddings_[0].any()                 # padding: 0, never learnt
    assert clf.n_features_in_ == 1 and len(clf.gradient_norms_[0]) == 3  # E, GRU, dense
    # id 1 never occurs in fit: its row keeps its initial value, as does any absent id
    longer = clone(clf).set_params(max_iter=8).fit(X, y)
    np.testing.assert_array_equal(longer.embeddings_[1], clf.embeddings_[1])
    assert np.abs(longer.embeddings_[2:] - clf.embeddings_[2:]).max() > 0


def test_a_list_a_padded_array_and_a_nested_list_are_the_same_data():
    X, y = _data()
    A = _padded(X)
    a = _small().fit(X, y)
    b = _small().fit(A, y)
    c = _small().fit(A.astype(float), y)                # integer-valued floats are ids too
    np.testing.assert_array_equal(a.embeddings_, b.embeddings_)
    np.testing.assert_array_equal(a.embeddings_, c.embeddings_)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(A), rtol=1e-12)
    equal = [list(x[:1]) * 3 for x in X[:5]]            # equal lengths: a 2-D nested list
    np.testing.assert_allclose(a.predict_proba(equal), a.predict_proba(np.array(equal)))


def test_unseen_ids_and_empty_sequences():
    X, y = _data()
    clf = _small().fit(X, y)
    P = clf.predict_proba([np.array([2, 99]), np.array([2, 6]), np.array([2, 1])])
    np.testing.assert_allclose(P[0], P[2])              # beyond the vocabulary: unseen, 1
    np.testing.assert_allclose(P[1], P[2])
    # no tokens: one padding step, in a list or as a row of zeros
    empty = clf.predict_proba([np.array([], dtype=int), np.array([0])])
    np.testing.assert_allclose(empty[0], empty[1])
    np.testing.assert_allclose(empty[0], clf.predict_proba(np.zeros((1, 4), dtype=int))[0])
    # a row's trailing zeros are padding, a zero before a token is the padding vector
    np.testing.assert_allclose(clf.predict_proba([[3, 2, 0, 0]]), clf.predict_proba([[3, 2]]))


def test_the_user_input_is_not_changed():
    X, y = _data()
    clf = _small().fit(X, y)
    A = _padded(X)
    A[0, 0] = 50
    before = A.copy()
    clf.predict(A)
    np.testing.assert_array_equal(A, before)


@pytest.mark.parametrize("X, match", [
    ([np.array([2, -1])], "negative id -1"),
    (np.array([[2, -3]]), "negative id -3"),
    ([np.array([2.5, 3])], "integer token ids; got 2.5"),
    ([np.array([2, np.nan])], "integer token ids"),
    ([np.array([True, False])], "integer token ids; got dtype bool"),
    (["a text", "another"], "TextSequencer"),
    ([np.array(["a", "b"])], "TextSequencer"),
    (np.zeros((3, 4, 2), dtype=int), "3-D array.*leave embedding_dim=None"),
    ([np.zeros((3, 2), dtype=int)], r"X\[0\] must be a 1-D sequence"),
    ([2, 3, 4], "flat list of 3 numbers"),
    ([], "0 sequences"),
    ("abc", "got str"),
])
def test_clear_errors(X, match):
    with pytest.raises(ValueError, match=match):
        _small().fit(X, np.arange(len(X)) % 2 if len(X) and not isinstance(X, str) else [0])


def test_errors_at_predict_too():
    X, y = _data()
    clf = _small().fit(X, y)
    with pytest.raises(ValueError, match="negative id"):
        clf.predict([np.array([2, -4])])


@pytest.mark.parametrize("value", [0, -2, 2.5, True, "16"])
def test_embedding_dim_must_be_none_or_a_positive_int(value):
    X, y = _data()
    with pytest.raises(ValueError, match="embedding_dim must be None or an int >= 1"):
        _small(embedding_dim=value).fit(X, y)


def test_warm_start_keeps_the_vocabulary_and_needs_the_same_embedding():
    X, y = _data()
    clf = _small(warm_start=True).fit(X, y)
    clf.fit([np.array([2, 40])] + X[1:], y)             # a larger id: unseen, no error
    assert clf.vocabulary_size_ == 6 and clf.embeddings_.shape == (6, 3)
    clf.partial_fit(X, y)
    clf.set_params(embedding_dim=4)
    with pytest.raises(ValueError, match="architecture changed"):
        clf.fit(X, y)
    clf.set_params(embedding_dim=None, warm_start=False)
    clf.fit(np.random.RandomState(0).randn(40, 5, 2), y)  # back to feature vectors
    assert not hasattr(clf, "embeddings_") and not hasattr(clf, "vocabulary_size_")


@pytest.mark.parametrize("est, kw", [
    (RNNClassifier, dict(cell="lstm")),
    (RNNClassifier, dict(cell="gru", bidirectional=True, readout="mean")),
    (RNNClassifier, dict(cell="rnn", recurrent_layers=(4, 3), hidden_layer_sizes=(3,),
                         activation="tanh")),
    (RNNRegressor, dict(cell="gru")),
])
def test_gradient_check_through_the_embedding(est, kw):
    X, y = _data(n=12)
    y = y if est is RNNClassifier else y + np.random.RandomState(0).rand(len(y))
    kw = {"recurrent_layers": (4,), **kw}
    model = est(embedding_dim=3, random_state=0, alpha=0.01, **kw)
    sw = np.random.RandomState(1).rand(len(X))
    assert gradient_check(model, X, y, sample_weight=sw) < 1e-5
    assert gradient_check(model, _padded(X), y) < 1e-5
    fitted = clone(model).set_params(max_iter=3).fit(X, y)
    assert gradient_check(fitted, X, y) < 1e-5


def test_regressor():
    X, _ = _data(n=60)
    y = np.array([float((x == 3).sum()) for x in X])    # how many 3s
    reg = RNNRegressor(recurrent_layers=(8,), embedding_dim=4, max_iter=60,
                       random_state=0).fit(X, y)
    assert reg.embeddings_.shape == (6, 4) and reg.score(X, y) > 0.8


def _roundtrip_pickle(model):
    return pickle.loads(pickle.dumps(model))


def _roundtrip_skops(model, tmp_path):
    save_model(model, tmp_path / "m.skops")
    return load_model(tmp_path / "m.skops")


@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_round_trips_of_a_text_pipeline(how, tmp_path):
    texts = ["(())", "()()", ")(", "))((", "(()())", "())(()"] * 5
    y = np.array([1, 1, 0, 0, 1, 0] * 5)
    pipe = make_pipeline(TextSequencer(), _small()).fit(texts, y)
    back = _roundtrip_pickle(pipe) if how == "pickle" else _roundtrip_skops(pipe, tmp_path)
    assert back[0].vocabulary_ == pipe[0].vocabulary_
    np.testing.assert_array_equal(back[-1].embeddings_, pipe[-1].embeddings_)
    new = ["((", "()", "x()"]
    np.testing.assert_array_equal(back.predict_proba(new), pipe.predict_proba(new))
    back.fit(texts, y)                                  # and it trains again


@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_round_trips_of_a_regressor(how, tmp_path):
    X, y = _data()
    reg = _small(RNNRegressor).fit(X, y.astype(float))
    back = _roundtrip_pickle(reg) if how == "pickle" else _roundtrip_skops(reg, tmp_path)
    np.testing.assert_array_equal(back.predict(X), reg.predict(X))
