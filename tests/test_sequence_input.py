"""sknnedu.sequence_input: the sequence and token-id input of the sequence estimators.

Hardening round four: one rule for id 0 whatever the container (1), ids beyond what an
index holds (2), batches of empty texts (6), a list is a list of sequences (14), pandas
containers (15), numbers of object dtype (16) and raw texts (20)."""

import types
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from sknnedu import RNNClassifier, TextSequencer
from sknnedu.sequence_input import validate_sequences, validate_token_ids


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="batch_size")
        yield


def _small(**kw):
    return RNNClassifier(**{"recurrent_layers": (4,), "max_iter": 3, "random_state": 0, **kw})


@pytest.fixture(scope="module")
def text_model():
    """A model of token ids 2..7 (vocabulary_size_ 8)."""
    rng = np.random.RandomState(0)
    X = [rng.randint(2, 8, size=rng.randint(1, 6)) for _ in range(20)] + [np.array([7])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _small(embedding_dim=3).fit(X, np.arange(21) % 2)


def _fitted_ids(vocabulary_size=8):
    """What validate_token_ids reads of a fitted estimator."""
    return types.SimpleNamespace(vocabulary_size_=vocabulary_size)


def _as_lists(seqs):
    return [seqs.sequence(i)[:, 0].tolist() for i in range(len(seqs))]


# ------------------------------------------------------------------------------------ 1
def test_r4_1_trailing_zeros_are_padding_in_a_list_as_in_a_2d_array():
    est = _fitted_ids()
    a = np.array([2, 3, 0, 0])
    ragged = validate_token_ids(est, [a, np.array([4, 5, 6, 7])], reset=False)
    equal = validate_token_ids(est, [a, np.array([4, 0, 0, 0])], reset=False)
    padded = validate_token_ids(est, np.array([[2, 3, 0, 0], [4, 5, 6, 7]]), reset=False)
    assert _as_lists(ragged) == [[2, 3], [4, 5, 6, 7]] == _as_lists(padded)
    assert _as_lists(equal) == [[2, 3], [4]]
    # a 0 before a token stays, a zero step, in every container; no tokens: one 0
    middle = validate_token_ids(est, [np.array([2, 0, 3, 0]), np.array([0, 0])], reset=False)
    assert _as_lists(middle) == [[2, 0, 3], [0]]
    assert _as_lists(validate_token_ids(est, [[2, 0, 3], [5, 5, 5, 5, 5]], reset=False))[0] \
        == [2, 0, 3]


def test_r4_1_a_sequence_prediction_never_depends_on_its_company(text_model):
    a = np.array([2, 3, 0, 0])
    alone = text_model.predict_proba([np.array([2, 3])])[0]
    for company in ([np.array([4])], [np.array([4, 5, 6, 7])], [np.array([4, 0, 0, 0, 0, 0])]):
        np.testing.assert_allclose(text_model.predict_proba([a] + company)[0], alone,
                                   rtol=1e-12)
    np.testing.assert_allclose(text_model.predict_proba(np.array([[2, 3, 0, 0]]))[0], alone,
                               rtol=1e-12)
    b = np.array([2, 0, 3])  # a 0 inside: the same zero step whatever the company
    inside = text_model.predict_proba([b])[0]
    np.testing.assert_allclose(text_model.predict_proba([b, np.array([4])])[0], inside)
    np.testing.assert_allclose(text_model.predict_proba([b, np.arange(2, 8)])[0], inside)


# ------------------------------------------------------------------------------------ 2
@pytest.mark.parametrize("huge", [
    np.array([2, 1e20]),
    np.array([2, 2**70], dtype=object),
    np.array([2, 2**64 - 1], dtype=np.uint64),
    np.array([2, 2**63], dtype=np.uint64),
    np.array([2, 2.0**63]),
])
def test_r4_2_ids_beyond_an_index_read_as_unseen_at_predict(text_model, huge):
    seqs = validate_token_ids(text_model, [huge], reset=False)
    assert _as_lists(seqs) == [[2, 1]] and seqs.n_unseen_ids == 1
    np.testing.assert_allclose(text_model.predict_proba([huge]),
                               text_model.predict_proba([np.array([2, 1])]), rtol=1e-12)


@pytest.mark.parametrize("huge", [np.array([2, 1e20]), np.array([2, 2**64 - 1], np.uint64),
                                  np.array([2, 2**70], dtype=object)])
def test_r4_2_ids_beyond_an_index_are_refused_in_fit(huge):
    with pytest.raises(ValueError, match=r"X\[1\] holds the id .*beyond the largest id an "
                                         "index can hold.*TextSequencer"):
        _small(embedding_dim=3).fit([np.array([2, 3]), huge], [0, 1])


@pytest.mark.parametrize("bad, match", [
    (np.array([2, -1.7]), r"X\[1\] must hold integer token ids; got -1.7\. Ids are whole"),
    (np.array([2, np.nan]), r"X\[1\] must hold integer token ids; got nan"),
    (np.array([2, "x"], dtype=object), "strings, not token ids.*TextSequencer"),
    (np.array([2, None], dtype=object), r"X\[1\] must hold integer token ids; got None"),
])
def test_r4_2_non_integral_ids_get_a_clear_error(text_model, bad, match):
    with pytest.raises(ValueError, match=match):
        text_model.predict([np.array([3]), bad])


# ------------------------------------------------------------------------------------ 6
def test_r4_6_a_batch_of_only_empty_sequences_reads_one_padding_step(text_model):
    for X in ([[], []], [np.array([], dtype=int)], np.zeros((2, 0), dtype=int)):
        assert _as_lists(validate_token_ids(_fitted_ids(), X, reset=False)) == [[0]] * len(X)
    clf = _small(embedding_dim=3).fit([[], []], [0, 1])
    assert clf.vocabulary_size_ == 2 and clf.predict([[]]).shape == (1,)
    empty = text_model.predict_proba([[]])
    np.testing.assert_allclose(empty, text_model.predict_proba([[], [2, 3]])[:1])
    np.testing.assert_allclose(empty, text_model.predict_proba(np.zeros((1, 3), int)))


@pytest.mark.parametrize("analyzer, empty", [("char", ""), ("word", "! ?")])
def test_r4_6_a_text_pipeline_predicts_texts_without_tokens(analyzer, empty):
    X, y = ["ab cd", "cd ab", "ab ab", "cd cd"], [0, 1, 0, 1]
    pipe = make_pipeline(TextSequencer(analyzer=analyzer), _small(embedding_dim=3)).fit(X, y)
    alone = pipe.predict_proba([empty])
    np.testing.assert_allclose(alone, pipe.predict_proba([empty, "ab cd"])[:1])
    np.testing.assert_allclose(alone, pipe.predict_proba([""]))


# ----------------------------------------------------------------------------------- 14
def test_r4_14_list_of_equal_length_series_is_sequences():
    rng = np.random.RandomState(0)
    X = [rng.randn(10) for _ in range(8)]
    y = np.arange(8) % 2
    clf = _small().fit(X, y)
    assert clf.n_features_in_ == clf.n_step_features_ == 1   # features per step
    assert clf.predict([rng.randn(6)]).shape == (1,)         # one series of a new length
    np.testing.assert_allclose(clf.predict_proba(X), clf.predict_proba(np.stack(X)[:, :, None]))
    assert _small().fit([pd.Series(x) for x in X], y).n_features_in_ == 1
    # a 2-D array stays a table of 10 steps, and so does a nested list of plain Python
    # lists of numbers, as scikit-learn reads X.tolist(); a list of arrays is sequences
    for table in (np.stack(X), [list(x) for x in X]):
        clf = _small().fit(table, y)
        assert clf.n_features_in_ == 10 and clf.n_step_features_ == 1
        with pytest.raises(ValueError, match="X has 6 features, but RNNClassifier is "
                                             "expecting 10"):
            clf.predict(rng.randn(1, 6))
        assert clf.predict([rng.randn(6)]).shape == (1,)      # a list of arrays: sequences


# ----------------------------------------------------------------------------------- 15
def test_r4_15_a_pandas_series_of_arrays_is_a_list_of_sequences():
    rng = np.random.RandomState(1)
    X = [rng.randn(rng.randint(3, 8), 2) for _ in range(6)]
    y = np.arange(6) % 2
    clf = _small().fit(pd.Series(X), y)
    np.testing.assert_allclose(clf.predict_proba(pd.Series(X)), _small().fit(X, y)
                               .predict_proba(X), rtol=1e-12)
    univariate = pd.Series([rng.randn(5) for _ in range(6)])
    assert _small().fit(univariate, y).n_step_features_ == 1


def test_r4_15_an_sktime_nested_univ_dataframe_is_read_as_sequences():
    rng = np.random.RandomState(2)
    X = [rng.randn(rng.randint(3, 8), 2) for _ in range(6)]
    y = np.arange(6) % 2
    nested = pd.DataFrame({f"dim_{c}": [pd.Series(x[:, c]) for x in X] for c in range(2)})
    seqs = validate_sequences(_small(), nested, reset=True)
    assert seqs.lengths.tolist() == [len(x) for x in X]
    np.testing.assert_array_equal(seqs.sequence(3), X[3])
    clf = _small().fit(nested, y)
    assert clf.n_features_in_ == 2 and not hasattr(clf, "feature_names_in_")
    np.testing.assert_allclose(clf.predict_proba(nested), _small().fit(X, y).predict_proba(X),
                               rtol=1e-12)
    nested.iloc[1, 1] = pd.Series(np.ones(9))
    with pytest.raises(ValueError, match=f"Row 1 of the nested DataFrame X has channels of "
                                          rf"lengths \[{len(X[1])}, 9\]"):
        _small().fit(nested, y)


# ----------------------------------------------------------------------------------- 16
def test_r4_16_numeric_sequences_of_object_dtype_are_read_as_floats():
    rng = np.random.RandomState(3)
    frames = [pd.DataFrame({"a": rng.randn(7), "b": rng.rand(7) > 0.5}) for _ in range(6)]
    floats = [f.to_numpy(dtype=float) for f in frames]
    assert np.asarray(frames[0]).dtype == object
    y = np.arange(6) % 2
    np.testing.assert_allclose(_small().fit(frames, y).predict_proba(frames),
                               _small().fit(floats, y).predict_proba(floats), rtol=1e-12)
    seqs = validate_sequences(_small(), [np.array([1, 2.5, True], dtype=object)], reset=True)
    assert seqs.sequence(0)[:, 0].tolist() == [1.0, 2.5, 1.0]


def test_r4_16_object_sequences_that_are_not_numbers_say_so():
    with pytest.raises(ValueError, match=r"X\[1\] must hold numbers; got dtype object with "
                                         "values that are not numbers") as info:
        _small().fit([np.ones((3, 2)), np.array([[1, "x"], [2, "y"]], dtype=object)], [0, 1])
    assert "2-D array" not in str(info.value)  # the shape is right: it must not say otherwise


# ----------------------------------------------------------------------------------- 20
TEXTS = ["ab", "ba"]


@pytest.mark.parametrize("X", [
    TEXTS, tuple(TEXTS), pd.Series(TEXTS), np.array(TEXTS), np.array(TEXTS, dtype=object),
    np.array(TEXTS, dtype=np.dtypes.StringDType()), pd.Series(TEXTS, dtype="string"),
], ids=["list", "tuple", "Series", "str-array", "object-array", "StringDType", "string-Series"])
@pytest.mark.parametrize("embedding_dim", [None, 3])
def test_r4_20_raw_texts_get_the_text_sequencer_hint(X, embedding_dim):
    with pytest.raises(ValueError, match="X holds texts.*TextSequencer.*embedding_dim=16") as info:
        _small(embedding_dim=embedding_dim).fit(X, [0, 1])
    assert "leave embedding_dim=None" not in str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_step_is_named_by_its_sequence(bad):
    """The values of a list of sequences are checked once over all their steps; the
    message names the sequence that holds the first bad step, whatever its place."""
    seqs = [np.ones((3, 2)), np.ones((1, 2)), np.ones((4, 2)), np.ones((2, 2))]
    seqs[2][3, 1] = bad
    seqs[3][0, 0] = bad
    with pytest.raises(ValueError, match=r"^X\[2\] contains NaN or infinity; fill or drop"):
        RNNClassifier(max_iter=1).fit(seqs, [0, 1, 0, 1])


@pytest.mark.parametrize("dtypes, expected", [
    ((np.float32, np.float32), np.float32), ((np.float64, np.float64), np.float64),
    ((np.float32, np.float64), np.float64), ((np.int64, np.int64), np.float64),
    ((np.float32, np.int32), np.float64), ((np.float16, np.float16), np.float64)])
def test_a_list_of_sequences_is_float32_only_when_every_sequence_is(dtypes, expected):
    est = RNNClassifier()
    seqs = validate_sequences(est, [np.ones((2, 3), dtype=dtypes[0]),
                                    np.ones((4, 3), dtype=dtypes[1])], reset=True)
    assert seqs.dtype == expected and seqs.steps.dtype == expected
