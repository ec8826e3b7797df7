"""TextSequencer: texts to sequences of token ids, keeping the order of the tokens.

scikit-learn's ``CountVectorizer`` and ``TfidfVectorizer`` turn a text into a row of counts,
a *bag* of tokens whose order is gone: ``"not good, bad"`` and ``"not bad, good"`` are the
same row. :class:`TextSequencer` turns it into the sequence of its tokens' ids, in order,
which a recurrent network with an embedding reads step by step::

    make_pipeline(TextSequencer(analyzer="char"), RNNClassifier(embedding_dim=16))

The ids (what :class:`~sknnedu.nn.embedding.Embedding` expects):

====  =========================================================================
id    meaning
====  =========================================================================
0     padding: never a token (a 2-D batch of ids is padded with it)
1     a token unseen in fit (or dropped by ``min_count`` / ``max_tokens``)
2...  the tokens of ``vocabulary_``, the most frequent first (ties alphabetically)
====  =========================================================================
"""

from __future__ import annotations

import numbers
import re
from collections import Counter
from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .nn.embedding import PAD
from .sequence_input import UNKNOWN

#: CountVectorizer's default: words of two or more letters, digits or underscores
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
#: what :meth:`TextSequencer.inverse_transform` writes for id 1
UNKNOWN_TOKEN = "<unk>"
_OUTPUTS = (None, "default", "pandas", "polars")


def _texts(X, what: str = "X") -> list[str]:
    """X as a list of str: a list or tuple of str, a 1-D array of str, object or numpy 2's
    StringDType, or a pandas Series."""
    if isinstance(X, (str, bytes)):
        raise ValueError(
            f"{what} must be an iterable of texts (a list, a 1-D array or a pandas Series of "
            f"str); got a single {type(X).__name__}. For one text, pass [text].")
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # a DataFrame
        texts = [c for c in X.columns if X[c].dtype.kind in "OUST"] or list(X.columns)
        raise ValueError(
            f"{what} must be one column of texts; got a DataFrame with columns "
            f"{list(X.columns)[:5]}. Pass its text column, X[{texts[0]!r}]; in a Pipeline, "
            "select it first: make_pipeline(FunctionTransformer(operator.itemgetter("
            f"{texts[0]!r})), TextSequencer(), ...). A ColumnTransformer cannot hold "
            "TextSequencer: it needs 2-D output, and TextSequencer writes a list of sequences "
            "of their own lengths.")
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):  # a pandas Series, polars
        X = X.to_numpy()
    if isinstance(X, np.ndarray):
        if X.ndim != 1:
            raise ValueError(f"{what} must be a 1-D array of texts; got shape {X.shape}. For "
                             "a column of a 2-D array, pass X[:, j].")
        if X.dtype.kind not in "UOT":  # str, object, numpy 2's StringDType
            raise ValueError(f"{what} must hold texts (str); got an array of dtype {X.dtype}.")
        X = X.tolist()
    elif not isinstance(X, (list, tuple)):
        if X is None or isinstance(X, numbers.Number) or not hasattr(X, "__iter__"):
            raise ValueError(f"{what} must be an iterable of texts (a list, a 1-D array or a "
                             f"pandas Series of str); got {type(X).__name__} {X!r:.60}.")
        X = list(X)
    for i, text in enumerate(X):
        if not isinstance(text, str):
            missing = " (a missing value: fill it first, e.g. with '')" if (
                text is None or (isinstance(text, float) and np.isnan(text))) else ""
            raise ValueError(f"{what}[{i}] is {type(text).__name__} {text!r:.40}, not a "
                             f"str{missing}; TextSequencer reads texts only.")
    return list(X)


class TextSequencer(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Texts to sequences of token ids, in order: the input of a recurrent network.

    ``fit`` learns ``vocabulary_``, token to id; ``transform`` writes each text as a 1-D
    int array of its tokens' ids, as long as the text has tokens. Ids: 0 is padding and
    never a token, 1 any token unseen in fit, and the known tokens start at 2, the most
    frequent first (ties in alphabetical order).

    Parameters
    ----------
    analyzer : {'char', 'word'} or callable, default='char'
        ``'char'``: every character is a token (spaces and punctuation included).
        ``'word'``: the matches of ``token_pattern``, as ``CountVectorizer``'s. A callable
        takes the raw text (``lowercase`` is not applied) and returns its tokens, a list
        of str.
    token_pattern : str, default=r"(?u)\\b\\w\\w+\\b"
        The regular expression of a word with ``analyzer='word'`` (``CountVectorizer``'s
        default: two or more letters, digits or underscores; ``r"(?u)\\b\\w+\\b"`` keeps
        one-letter words). A pattern with one group yields the group.
    lowercase : bool, default=True
        Lowercase the text before splitting it (``'char'`` and ``'word'``).
    min_count : int, default=1
        Tokens seen fewer than ``min_count`` times in fit are left out of the vocabulary
        (they become 1, unseen).
    max_tokens : int or None, default=None
        Keep only the ``max_tokens`` most frequent tokens (None: all).

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Token to id, ids ``2 .. len(vocabulary_) + 1``.
    token_counts_ : dict of str to int
        How often each token of ``vocabulary_`` occurred in fit.

    See Also
    --------
    sknnedu.RNNClassifier : with ``embedding_dim`` set, reads what this writes.

    Notes
    -----
    The output is not a table: each text gives a sequence of its own length, and
    column ``j`` means "the ``j``-th token", not a feature. So, like scikit-learn's
    ``HashingVectorizer``, there is no ``get_feature_names_out`` (a Pipeline's
    ``get_feature_names_out`` stops at this step), and the output stays a list of
    arrays whatever ``set_output`` or ``sklearn.set_config(transform_output=...)``
    asks: ``set_output`` accepts the same values as scikit-learn's, so that
    ``Pipeline.set_output`` works on a pipeline that contains this step.
    ``Pipeline``, ``GridSearchCV`` (the parameters above tune as any other:
    ``{"textsequencer__analyzer": ["char", "word"]}``), ``clone``, pickle and
    :func:`sknnedu.persistence.save_model` work as for any transformer.

    Examples
    --------
    >>> from sknnedu import TextSequencer
    >>> seq = TextSequencer(analyzer="char").fit(["(())", "()()", ")("])
    >>> seq.vocabulary_
    {'(': 2, ')': 3}
    >>> seq.transform(["(()", "(x)"])
    [array([2, 2, 3]), array([2, 1, 3])]
    >>> seq.inverse_transform([[2, 1, 3]])
    [array(['(', '<unk>', ')'], dtype=object)]
    >>> TextSequencer(analyzer="word").fit(["the cat sat", "the dog"]).transform(["a dog sat"])
    [array([4, 5])]

    With a recurrent network that reads ids, a text classifier:

    >>> from sklearn.pipeline import make_pipeline
    >>> from sknnedu import RNNClassifier
    >>> from sknnedu.text import make_brackets
    >>> X, y = make_brackets(600, max_length=12, random_state=0)
    >>> pipe = make_pipeline(TextSequencer(analyzer="char"),
    ...                      RNNClassifier((16,), embedding_dim=4, max_iter=30,
    ...                                    random_state=0)).fit(X, y)
    >>> pipe.predict(["(())()", "())(()"]).tolist()
    [1, 0]
    """

    def __init__(self, analyzer: str | Callable = "char", *, token_pattern: str = TOKEN_PATTERN,
                 lowercase: bool = True, min_count: int = 1, max_tokens: int | None = None):
        self.analyzer = analyzer
        self.token_pattern = token_pattern
        self.lowercase = lowercase
        self.min_count = min_count
        self.max_tokens = max_tokens

    # ------------------------------------------------------------ tokens

    def _check_params(self) -> None:
        def need(ok, name, expected):
            if not ok:
                raise ValueError(f"{name} must be {expected}; got {getattr(self, name)!r}.")

        need(self.analyzer in ("char", "word") or callable(self.analyzer), "analyzer",
             "'char', 'word' or a callable")
        if self.analyzer == "word":
            need(isinstance(self.token_pattern, str), "token_pattern", "a regular expression")
            try:
                pattern = re.compile(self.token_pattern)
            except re.error as exc:
                raise ValueError(f"token_pattern {self.token_pattern!r} is not a regular "
                                 f"expression: {exc}.") from None
            need(pattern.groups <= 1, "token_pattern", "a regular expression with at most "
                 "one group")
        need(isinstance(self.lowercase, (bool, np.bool_)), "lowercase", "True or False")
        integer = (numbers.Integral, np.integer)
        need(isinstance(self.min_count, integer) and not isinstance(self.min_count, bool)
             and self.min_count >= 1, "min_count", "an int >= 1")
        need(self.max_tokens is None or (isinstance(self.max_tokens, integer)
                                         and not isinstance(self.max_tokens, bool)
                                         and self.max_tokens >= 1),
             "max_tokens", "None or an int >= 1")

    def build_analyzer(self) -> Callable[[str], list[str]]:
        """The function from a text to its tokens, in order (as ``CountVectorizer``'s)."""
        self._check_params()
        if callable(self.analyzer):
            analyzer = self.analyzer

            def tokens(text: str) -> list[str]:
                out = list(analyzer(text))
                if not all(isinstance(t, str) for t in out):
                    raise ValueError(f"analyzer must return a list of str; for {text!r:.40} "
                                     f"it returned {out!r:.60}.")
                return out

            return tokens
        lower = str.lower if self.lowercase else str
        if self.analyzer == "char":
            return lambda text: list(lower(text))
        findall = re.compile(self.token_pattern).findall
        return lambda text: findall(lower(text))

    # ---------------------------------------------------------------- fit

    def fit(self, X, y=None) -> TextSequencer:
        """Learn the vocabulary: the tokens of X, most frequent first.

        Parameters
        ----------
        X : list, 1-D array (str, object or StringDType) or pandas Series of str
        y : ignored

        Returns
        -------
        self : TextSequencer
        """
        analyze = self.build_analyzer()
        texts = _texts(X)
        if not texts:
            raise ValueError("X holds 0 texts; TextSequencer needs at least 1 to learn a "
                             "vocabulary.")
        counts = Counter()
        for text in texts:
            counts.update(analyze(text))
        kept = sorted(((-c, t) for t, c in counts.items() if c >= self.min_count))
        if self.max_tokens is not None:
            kept = kept[:self.max_tokens]
        if not kept:
            raise ValueError(
                f"The vocabulary is empty: the {len(texts)} texts have no token seen at least "
                f"min_count={self.min_count} times (analyzer={self.analyzer!r}). Check the "
                "texts, token_pattern or min_count.")
        self.vocabulary_ = {t: i for i, (_, t) in enumerate(kept, start=UNKNOWN + 1)}
        self.token_counts_ = {t: -c for c, t in kept}
        return self

    def transform(self, X) -> list[np.ndarray]:
        """Each text as the 1-D int array of its tokens' ids, in order.

        Parameters
        ----------
        X : list, 1-D array (str, object or StringDType) or pandas Series of str

        Returns
        -------
        sequences : list of ndarray of shape (n_tokens_i,)
            One per text, ``n_tokens_i`` its number of tokens (0 for an empty text).
            Unseen tokens are 1.
        """
        check_is_fitted(self, "vocabulary_")
        analyze, get = self.build_analyzer(), self.vocabulary_.get
        return [np.fromiter((get(t, UNKNOWN) for t in analyze(text)), dtype=np.intp)
                for text in _texts(X)]

    def inverse_transform(self, X) -> list[np.ndarray]:
        """The tokens of sequences of ids: id 1 is ``'<unk>'``, padding (0) is dropped.

        Parameters
        ----------
        X : list of 1-D int arrays, or a 2-D int array padded with 0

        Returns
        -------
        tokens : list of ndarray of object (str), one per sequence
            Empty for a sequence with no tokens (``[]`` or only padding).
            For ``analyzer='char'``, ``''.join(tokens)`` is the lowercased text.
        """
        check_is_fitted(self, "vocabulary_")
        table = np.empty(len(self.vocabulary_) + UNKNOWN + 1, dtype=object)
        table[PAD], table[UNKNOWN] = "", UNKNOWN_TOKEN
        for token, i in self.vocabulary_.items():
            table[i] = token
        out = []
        for i, ids in enumerate(X):
            ids = np.asarray(ids)
            if ids.ndim == 1 and not ids.size:  # [] (float64 to numpy): no tokens
                ids = ids.astype(np.intp)
            if ids.ndim != 1 or ids.dtype.kind not in "iu":
                raise ValueError(f"X[{i}] must be a 1-D array of int ids; got {ids.dtype} of "
                                 f"shape {ids.shape}.")
            bad = ids[(ids < 0) | (ids >= len(table))]
            if bad.size:
                raise ValueError(f"X[{i}] holds the id {bad[0]}, outside 0 .. "
                                 f"{len(table) - 1} of this vocabulary.")
            out.append(table[ids[ids != PAD]])
        return out

    def set_output(self, *, transform=None) -> TextSequencer:
        """Accepted for Pipeline's sake; the output stays a list of arrays (it is not a table).

        Parameters
        ----------
        transform : {'default', 'pandas', 'polars'} or None, default=None

        Returns
        -------
        self : TextSequencer
        """
        if transform not in _OUTPUTS:
            raise ValueError(f"transform must be one of {list(_OUTPUTS)}; got {transform!r}.")
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.transformer_tags.preserves_dtype = []
        tags.requires_fit = True
        return tags


def make_brackets(n_samples: int = 1000, *, min_length: int = 2, max_length: int = 20,
                  random_state=None) -> tuple[list[str], np.ndarray]:
    """Strings of ``(`` and ``)`` with as many of each; the label says whether it is balanced.

    A task that only the order of the characters decides: every string has
    ``length / 2`` of each bracket, so a bag of characters (its counts) says nothing
    but the length, and half of the strings of every length are balanced. A string is
    balanced when no prefix closes more brackets than it opened: ``(()())`` is, ``())(()``
    is not. Lengths are even, uniform in ``[min_length, max_length]``; given its length
    and label, a string is uniform among those of that length and label (rejection
    sampling of random arrangements).

    Parameters
    ----------
    n_samples : int, default=1000
    min_length, max_length : int, default=2, 20
        Even lengths in this range (both rounded to even numbers inward).
    random_state : int, RandomState or None, default=None

    Returns
    -------
    X : list of str
    y : ndarray of int of shape (n_samples,)
        1 balanced, 0 not.

    Examples
    --------
    >>> from sknnedu.text import make_brackets
    >>> X, y = make_brackets(4, random_state=0)
    >>> [(len(s), s.count("(") == s.count(")")) for s in X] == [(len(s), True) for s in X]
    True
    """
    from sklearn.utils import check_random_state

    rng = check_random_state(random_state)
    low, high = 2 * max(1, -(-min_length // 2)), 2 * (max_length // 2)
    if not (isinstance(n_samples, numbers.Integral) and n_samples >= 1) or low > high:
        raise ValueError(f"need n_samples >= 1 and an even length in [{min_length}, "
                         f"{max_length}]; got n_samples={n_samples!r}.")
    lengths = 2 * rng.randint(low // 2, high // 2 + 1, n_samples)
    y = rng.permutation(np.arange(n_samples) % 2)
    out = np.empty(n_samples, dtype=object)
    for L in np.unique(lengths):  # a loop over lengths and rounds, not over strings
        for label in (0, 1):
            todo = np.flatnonzero((lengths == L) & (y == label))
            while todo.size:
                # random arrangements of L/2 opening (+1) and L/2 closing (-1) brackets
                order = np.argsort(rng.rand(2 * todo.size + 8, L), axis=1)
                steps = np.repeat([1, -1], L // 2)[order]
                ok = steps[(np.cumsum(steps, axis=1).min(axis=1) >= 0) == bool(label)]
                ok = ok[:todo.size]
                out[todo[:len(ok)]] = ["".join(np.where(s > 0, "(", ")")) for s in ok]
                todo = todo[len(ok):]
    return out.tolist(), y
