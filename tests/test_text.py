"""sknnedu.TextSequencer (the id scheme, the input it accepts and refuses, Pipeline and
GridSearchCV) and the balanced-brackets task, which only the order of the characters decides."""

import operator
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sknnedu import RNNClassifier, TextSequencer
from sknnedu.text import make_brackets

TEXTS = ["the cat sat on the mat", "The dog sat", "a cat, a dog!"]


def test_the_id_scheme():
    seq = TextSequencer(analyzer="word").fit(TEXTS)
    # 'the' 3 times, 'cat' 'sat' 'dog' twice (alphabetical among ties), then once each;
    # CountVectorizer's pattern drops the one-letter 'a'
    assert seq.vocabulary_ == {"the": 2, "cat": 3, "dog": 4, "sat": 5, "mat": 6, "on": 7}
    assert seq.token_counts_["the"] == 3
    out = seq.transform(["The cat ate THE mat", "", "a"])
    assert [x.tolist() for x in out] == [[2, 3, 1, 2, 6], [], []]
    assert all(x.dtype == np.intp and x.ndim == 1 for x in out)
    assert 0 not in np.concatenate(out)  # 0 is padding, never a token


def test_char_analyzer_keeps_every_character_in_order():
    seq = TextSequencer().fit(["abca", "b c"])
    ids = seq.transform(["cab", "A B"])
    assert seq.vocabulary_ == {"a": 2, "b": 3, "c": 4, " ": 5}
    assert [x.tolist() for x in ids] == [[4, 2, 3], [2, 5, 3]]
    assert ["".join(t) for t in seq.inverse_transform(ids)] == ["cab", "a b"]
    assert TextSequencer(lowercase=False).fit(["aA"]).transform(["Aa"])[0].tolist() == [2, 3]


def test_min_count_max_tokens_token_pattern_and_a_callable():
    assert TextSequencer(analyzer="word", min_count=2).fit(TEXTS).vocabulary_ == {
        "the": 2, "cat": 3, "dog": 4, "sat": 5}
    assert list(TextSequencer(analyzer="word", max_tokens=2).fit(TEXTS).vocabulary_) == [
        "the", "cat"]
    seq = TextSequencer(analyzer="word", token_pattern=r"(?u)\b\w+\b").fit(TEXTS)
    assert seq.vocabulary_["a"] == 3  # one-letter words kept
    seq = TextSequencer(analyzer=str.split).fit(["Big cat", "big"])  # raw: no lowercase
    assert seq.vocabulary_ == {"Big": 2, "big": 3, "cat": 4}
    with pytest.raises(ValueError, match="list of str"):
        TextSequencer(analyzer=lambda s: [len(s)]).fit(["x"])
    words = TextSequencer(analyzer="word", token_pattern=r"#(\w+)").fit(["#a #bb x"])
    assert words.vocabulary_ == {"a": 2, "bb": 3}  # one group: the group


def test_inverse_transform_of_padded_ids_and_bad_ids():
    seq = TextSequencer().fit(["ab"])
    assert [t.tolist() for t in seq.inverse_transform(np.array([[2, 1, 0], [3, 0, 0]]))] == [
        ["a", "<unk>"], ["b"]]
    with pytest.raises(ValueError, match="holds the id 9, outside 0 .. 3"):
        seq.inverse_transform([[2, 9]])
    with pytest.raises(ValueError, match="1-D array of int"):
        seq.inverse_transform([["a"]])


@pytest.mark.parametrize("X", [
    TEXTS, tuple(TEXTS), np.array(TEXTS), np.array(TEXTS, dtype=object), pd.Series(TEXTS),
    pd.Series(TEXTS, dtype="string"), iter(TEXTS),
])
def test_accepted_containers_give_the_same_ids(X):
    ref = TextSequencer(analyzer="word").fit(TEXTS)
    seq = TextSequencer(analyzer="word").fit(X)
    assert seq.vocabulary_ == ref.vocabulary_
    X2 = list(TEXTS) if not hasattr(X, "__len__") else X
    assert [x.tolist() for x in seq.transform(X2)] == [x.tolist() for x in ref.transform(TEXTS)]


@pytest.mark.parametrize("X, match", [
    ("one text", "got a single str. For one text, pass \\[text\\]"),
    (b"bytes", "got a single bytes"),
    (pd.DataFrame({"text": TEXTS}), "DataFrame with columns \\['text'\\]. Pass its text column"),
    (np.array([TEXTS]), "1-D array of texts; got shape \\(1, 3\\)"),
    (np.arange(3), "hold texts \\(str\\); got an array of dtype int64"),
    (["ok", 3], "X\\[1\\] is int 3, not a str"),
    (["ok", None], "X\\[1\\] is NoneType None, not a str \\(a missing value"),
    (pd.Series(["ok", np.nan], dtype=object), "X\\[1\\] is float nan.*missing value"),
    ([b"raw"], "X\\[0\\] is bytes"),
    (5, "got int 5"),
    (None, "got NoneType"),
    ([], "0 texts"),
    (["", ""], "vocabulary is empty"),
])
def test_what_is_not_text_is_refused_clearly(X, match):
    with pytest.raises(ValueError, match=match):
        TextSequencer().fit(X)


@pytest.mark.parametrize("params, match", [
    (dict(analyzer="chars"), "analyzer must be 'char', 'word' or a callable"),
    (dict(analyzer="word", token_pattern="("), "not a regular expression"),
    (dict(analyzer="word", token_pattern=r"(a)(b)"), "at most one group"),
    (dict(min_count=0), "min_count must be an int >= 1"),
    (dict(max_tokens=0), "max_tokens must be None or an int >= 1"),
    (dict(max_tokens=2.5), "max_tokens"),
    (dict(lowercase="yes"), "lowercase must be True or False"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        TextSequencer(**params).fit(TEXTS)


def test_unfitted():
    with pytest.raises(NotFittedError):
        TextSequencer().transform(TEXTS)


def test_output_is_not_tabular_no_feature_names_and_set_output_leaves_it_a_list():
    seq = TextSequencer()
    assert not hasattr(seq, "get_feature_names_out")
    pipe = make_pipeline(TextSequencer(), RNNClassifier((3,), embedding_dim=2, max_iter=1))
    assert pipe.set_output(transform="pandas") is pipe   # Pipeline.set_output works
    with pytest.raises(ValueError, match="transform must be one of"):
        seq.set_output(transform="arrow")
    with sklearn.config_context(transform_output="pandas"):
        out = seq.set_output(transform="pandas").fit_transform(TEXTS)
    assert isinstance(out, list) and isinstance(out[0], np.ndarray)
    with pytest.raises(AttributeError, match="get_feature_names_out"):
        make_pipeline(TextSequencer()).fit(TEXTS).get_feature_names_out()


def test_grid_search_over_a_text_pipeline():
    X, y = make_brackets(60, max_length=8, random_state=0)
    pipe = make_pipeline(TextSequencer(),
                         RNNClassifier((4,), embedding_dim=2, max_iter=2, batch_size=8,
                                       random_state=0))
    grid = {"textsequencer__lowercase": [True, False], "rnnclassifier__embedding_dim": [2, 3]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.predict(["(())", ")("]).shape == (2,)


# ------------------------------------------------------------------------------------------
# balanced brackets: order decides
# ------------------------------------------------------------------------------------------

def test_r4_17_numpy_string_dtype_arrays_are_texts():
    strings = np.array(TEXTS, dtype=np.dtypes.StringDType())
    ref = TextSequencer(analyzer="word").fit(TEXTS)
    seq = TextSequencer(analyzer="word").fit(strings)
    assert seq.vocabulary_ == ref.vocabulary_
    assert [x.tolist() for x in seq.transform(strings)] == [
        x.tolist() for x in ref.transform(TEXTS)]
    assert CountVectorizer().fit(strings).vocabulary_  # as CountVectorizer accepts them


def test_r4_18_the_dataframe_error_gives_advice_that_works():
    df = pd.DataFrame({"id": [1, 2, 3, 4], "text": ["(())", "()()", ")(", "))(("]})
    with pytest.raises(ValueError, match=r"X\['text'\].*FunctionTransformer\(operator"
                                         r"\.itemgetter\('text'\)\), TextSequencer\(\)") as info:
        TextSequencer().fit(df)
    assert "ColumnTransformer cannot hold TextSequencer" in str(info.value)
    # what the message says to do, done
    pipe = make_pipeline(FunctionTransformer(operator.itemgetter("text")), TextSequencer(),
                         RNNClassifier((3,), embedding_dim=2, max_iter=2, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert pipe.fit(df, [1, 1, 0, 0]).predict(df).shape == (4,)
    assert TextSequencer().fit(df["text"]).vocabulary_ == {"(": 2, ")": 3}


def test_r4_19_inverse_transform_of_a_sequence_without_tokens():
    seq = TextSequencer().fit(["ab"])
    out = seq.inverse_transform([[], np.array([], dtype=int), [2, 0, 3], [0, 0]])
    assert [t.tolist() for t in out] == [[], [], ["a", "b"], []]
    assert seq.inverse_transform(np.zeros((2, 0), dtype=int))[0].tolist() == []
    with pytest.raises(ValueError, match="1-D array of int"):
        seq.inverse_transform([[2.5]])


def test_make_brackets():
    X, y = make_brackets(400, random_state=0)
    assert len(X) == 400 and y.mean() == 0.5
    lengths = np.array([len(s) for s in X])
    assert lengths.min() == 2 and lengths.max() == 20 and (lengths % 2 == 0).all()
    for s, label in zip(X, y):
        depth = np.cumsum([1 if c == "(" else -1 for c in s])
        assert depth[-1] == 0 and int(depth.min() >= 0) == label
    # as many balanced as not at every length: the length says nothing either
    for L in np.unique(lengths):
        assert abs(y[lengths == L].mean() - 0.5) < 0.2
    again = make_brackets(400, random_state=0)
    assert again[0] == X and (again[1] == y).all()
    with pytest.raises(ValueError, match="even length"):
        make_brackets(5, min_length=7, max_length=7)


def _held_out(X_train, n=1000, seed=1):
    """Fresh strings that fit never saw."""
    X, y = make_brackets(n, random_state=seed)
    seen = set(X_train)
    keep = [i for i, s in enumerate(X) if s not in seen]
    return [X[i] for i in keep], y[keep]


def test_a_bag_of_characters_cannot_beat_chance():
    X, y = make_brackets(2000, random_state=0)
    X_test, y_test = make_brackets(2000, random_state=1)
    bag = make_pipeline(CountVectorizer(analyzer="char"), LogisticRegression()).fit(X, y)
    assert abs(bag.score(X_test, y_test) - 0.5) < 0.04


def test_the_text_pipeline_learns_balanced_brackets_at_its_defaults():
    X, y = make_brackets(1000, random_state=0)
    X_test, y_test = _held_out(X)
    assert len(X_test) > 400
    pipe = make_pipeline(TextSequencer(analyzer="char"),
                         RNNClassifier(embedding_dim=16, random_state=0))
    pipe.fit(X, y)
    assert pipe.score(X_test, y_test) >= 0.95
