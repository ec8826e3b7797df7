"""The sequence body (sknnedu/_sequence.py): what every sequence family shares, and the
round-four items it fixes (3, 7, 8, 22), named after their ids."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sknnedu import (
    RNNClassifier,
    SequenceCNNClassifier,
    TrainingDivergedError,
    TransformerClassifier,
)

FAMILIES = [
    lambda **kw: RNNClassifier((4,), **kw),
    lambda **kw: SequenceCNNClassifier(((4, 3),), **kw),
    lambda **kw: TransformerClassifier(8, 2, 1, 8, **kw),
]


def _ids(n=30, V=6, seed=0):
    rng = np.random.RandomState(seed)
    X = [rng.randint(2, V, size=rng.randint(1, 8)) for _ in range(n)]
    y = np.array([int(3 in x) for x in X])
    return X, y


def _fit(make, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make(max_iter=3, random_state=0, **kw).fit(X, y)


@pytest.mark.parametrize("make", FAMILIES)
def test_r4_3_what_a_fitted_model_reads_is_fixed_at_fit(make):
    X, y = _ids()
    model = _fit(make, X, y, embedding_dim=3)
    before = model.predict_proba(X)
    model.set_params(embedding_dim=None)            # the parameter changed after fit
    np.testing.assert_array_equal(model.predict_proba(X), before)   # still reads ids
    feats = _fit(make, [np.random.RandomState(0).randn(5, 2)] * 4, [0, 1, 0, 1])
    feats.set_params(embedding_dim=4)
    assert feats.predict_proba([np.ones((3, 2))]).shape == (1, 2)   # still features
    with pytest.raises(ValueError, match="expecting 2 features per step"):
        feats.predict_proba(X[:1] + [np.array([2, 3])])  # ids are not (T, 2) steps


@pytest.mark.parametrize("make", FAMILIES)
def test_r4_3_a_changed_embedding_dim_is_refused_under_warm_start(make):
    X, y = _ids()
    model = _fit(make, X, y, embedding_dim=3, warm_start=True)
    model.set_params(embedding_dim=None)
    with pytest.raises(ValueError, match="embedding_dim changed from 3 .* to None"):
        model.fit(X, y)
    model.set_params(embedding_dim=3)
    model.fit(X, y)                                  # back as it was: goes on


def test_r4_3_partial_fit_refuses_a_switch_to_feature_vectors():
    X, y = _ids()
    model = RNNClassifier((4,), embedding_dim=3, random_state=0).partial_fit(X, y,
                                                                             classes=[0, 1])
    model.set_params(embedding_dim=None)
    with pytest.raises(ValueError, match="embedding_dim changed"):
        model.partial_fit(X, y)


def test_r4_7_ids_far_beyond_the_distinct_ones_are_refused():
    X, y = _ids()
    X[0] = np.array([2, 10**9])
    with pytest.raises(ValueError, match=r"ids up to 1000000000 but only \d+ distinct"):
        RNNClassifier((4,), embedding_dim=3, max_iter=1).fit(X, y)
    X[0] = np.array([2, 3000])                       # a large id among few: a small table
    model = _fit(RNNClassifier, X, y, recurrent_layers=(4,), embedding_dim=3)
    assert model.vocabulary_size_ == 3001


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_r4_8_new_ids_under_warm_start_and_partial_fit_warn(how):
    X, y = _ids()
    model = _fit(RNNClassifier, X, y, recurrent_layers=(4,), embedding_dim=3,
                 warm_start=how == "warm_start")
    X_new = [np.array([2, 7, 9])] + X[1:]
    with pytest.warns(UserWarning, match="2 token ids at or above vocabulary_size_=6 read "
                                         "as the unseen id 1"):
        if how == "warm_start":
            model.fit(X_new, y)
        else:
            model.partial_fit(X_new, y)
    assert model.embeddings_.shape[0] == 6           # the table does not grow
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # predict: unseen, no warning
        model.predict(X_new)


def test_r4_22_the_divergence_advice_fits_a_sequence_estimator():
    rng = np.random.RandomState(0)
    X = rng.randn(32, 20, 2)
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    model = RNNClassifier((8,), cell="rnn", solver="sgd", learning_rate_init=1e4,
                          clip_norm=None, max_iter=20, random_state=0)
    with pytest.raises(TrainingDivergedError) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
    message = str(info.value)
    assert "clip_norm" in message and "standardises every step" in message
    assert "StandardScaler" not in message
