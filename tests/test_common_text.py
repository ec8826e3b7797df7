"""scikit-learn's estimator checks for TextSequencer: what applies to a text transformer.

scikit-learn runs its checks on 2-D numeric arrays, so for an estimator whose input is
text (tag ``input_tags.string``, no ``two_d_array``, as ``CountVectorizer``)
``parametrize_with_checks`` yields only ``check_estimator_cloneable``. Each of the
other checks it would run on a transformer is below, in one of three groups:

- ``AS_IS``: the check needs no data; it runs here as scikit-learn wrote it;
- ``ON_TEXT``: what the check asserts applies to texts, but its data are numbers: the
  same assertion is made here on texts (one test each, named after the check);
- ``NOT_APPLICABLE``: what the check asserts has no meaning for texts, with the reason.

``test_every_check_is_accounted_for`` fails when a scikit-learn release adds a check,
until it is placed in one of the groups.
"""

import copy
import functools
import pickle

import numpy as np
import pytest
from sklearn import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks

from sknnedu import TextSequencer

ESTIMATORS = [TextSequencer(), TextSequencer(analyzer="word", min_count=2, max_tokens=5)]
TEXTS = ["The cat sat on the mat.", "A dog! A cat?", "the the the", "",
         "dogs and cats", "Ümlaut wörds, too", "cat"]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_checks_that_scikit_learn_runs_on_text(estimator, check):
    check(estimator)


AS_IS = [
    "check_do_not_raise_errors_in_init_or_set_params", "check_estimator_cloneable",
    "check_estimator_repr", "check_estimator_tags_renamed", "check_get_params_invariance",
    "check_mixin_order", "check_no_attributes_set_in_init",
    "check_parameters_default_constructible", "check_set_params", "check_valid_tag_types",
]

NOT_APPLICABLE = {
    "check_array_api_input": "array-API namespaces hold numbers; the input is text",
    "check_complex_data": "complex numbers are not text (any non-str is refused: "
                          "test_text.py::test_what_is_not_text_is_refused_clearly)",
    "check_estimators_dtypes": "float32/int64 inputs are numbers; the only input is str",
    "check_estimators_nan_inf": "NaN/inf are numbers; a missing text (None, NaN) is refused "
                                "with its own message (test_text.py)",
    "check_estimator_sparse_array": "sparse input is numeric",
    "check_estimator_sparse_matrix": "sparse input is numeric",
    "check_estimator_sparse_tag": "sparse input is numeric (the tag is False)",
    "check_f_contiguous_array_estimator": "memory layout of a 2-D numeric array",
    "check_fit1d": "asserts that 1-D input is refused, but a 1-D array of texts is the input",
    "check_fit2d_1feature": "a 2-D table has features; a text has none",
    "check_fit2d_predict1d": "asserts that predict refuses 1-D input; 1-D is the input",
    "check_n_features_in": "texts have no feature count (as CountVectorizer, no "
                           "n_features_in_)",
    "check_n_features_in_after_fitting": "texts have no feature count to compare",
    "check_positive_only_tag_during_fit": "the tag is about numbers",
    "check_transformer_n_iter": "fitting is one pass of counting, no iterations",
}


ON_TEXT = {}


def on_text(check_name):
    """Register a test as the text version of the scikit-learn check ``check_name``."""
    def register(test):
        ON_TEXT[check_name] = test.__name__
        return pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)(test)
    return register


@pytest.mark.parametrize("check_name", AS_IS)
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
def test_data_free_checks(estimator, check_name):
    getattr(estimator_checks, check_name)(type(estimator).__name__, clone(estimator))


def _ids(out):
    return [x.tolist() for x in out]


@on_text("check_estimators_fit_returns_self")
def test_fit_returns_self(estimator):
    assert estimator.fit(TEXTS) is estimator


@on_text("check_fit_score_takes_y")
def test_fit_takes_and_ignores_y(estimator):
    a = clone(estimator).fit(TEXTS, np.arange(len(TEXTS)))
    assert a.vocabulary_ == clone(estimator).fit(TEXTS).vocabulary_


@on_text("check_estimators_unfitted")
def test_unfitted_raises_not_fitted(estimator):
    with pytest.raises(NotFittedError):
        clone(estimator).transform(TEXTS)


@on_text("check_transformers_unfitted")
def test_unfitted_inverse_transform_raises_not_fitted(estimator):
    with pytest.raises(NotFittedError):
        clone(estimator).inverse_transform([[2]])


@on_text("check_fit_check_is_fitted")
def test_check_is_fitted(estimator):
    from sklearn.utils.validation import check_is_fitted
    est = clone(estimator)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    check_is_fitted(est.fit(TEXTS))


@on_text("check_dict_unchanged")
def test_transform_changes_nothing(estimator):
    est = clone(estimator).fit(TEXTS)
    before = copy.deepcopy(est.__dict__)
    est.transform(TEXTS)
    est.inverse_transform(est.transform(TEXTS))
    assert est.__dict__ == before


@on_text("check_dont_overwrite_parameters")
def test_fit_adds_only_trailing_underscore_attributes(estimator):
    est = clone(estimator)
    before = set(vars(est))
    added = set(vars(est.fit(TEXTS))) - before
    assert added and all(a.endswith("_") and not a.startswith("_") for a in added), added


@on_text("check_estimators_overwrite_params")
def test_fit_leaves_the_parameters_alone(estimator):
    est = clone(estimator)
    params = copy.deepcopy(est.get_params())
    est.fit(TEXTS)
    assert est.get_params() == params


@on_text("check_estimators_pickle")
def test_pickle(estimator):
    est = clone(estimator).fit(TEXTS)
    back = pickle.loads(pickle.dumps(est))
    assert _ids(back.transform(TEXTS)) == _ids(est.transform(TEXTS))


@on_text("check_fit_idempotent")
def test_fit_is_idempotent(estimator):
    est = clone(estimator).fit(TEXTS)
    first = _ids(est.transform(TEXTS))
    est.fit(["bird bird, fish fish"]).fit(TEXTS)
    assert _ids(est.transform(TEXTS)) == first


@on_text("check_methods_sample_order_invariance")
def test_order_of_texts_changes_nothing(estimator):
    perm = np.random.RandomState(0).permutation(len(TEXTS))
    a = clone(estimator).fit(TEXTS)
    b = clone(estimator).fit([TEXTS[i] for i in perm])  # ties are alphabetical
    assert a.vocabulary_ == b.vocabulary_
    assert _ids(a.transform([TEXTS[i] for i in perm])) == [_ids(a.transform(TEXTS))[i]
                                                           for i in perm]


@on_text("check_methods_subset_invariance")
def test_each_text_is_transformed_alone(estimator):
    est = clone(estimator).fit(TEXTS)
    assert _ids(est.transform(TEXTS)) == [_ids(est.transform([t]))[0] for t in TEXTS]


@on_text("check_estimators_empty_data_messages")
def test_no_texts_is_a_clear_error(estimator):
    with pytest.raises(ValueError, match="0 texts"):
        clone(estimator).fit([])


@on_text("check_fit2d_1sample")
def test_one_text_is_enough(estimator):
    assert clone(estimator).fit(["cat cat dog"]).vocabulary_


@on_text("check_transformer_general")
def test_fit_transform_is_fit_then_transform(estimator):
    a = clone(estimator).fit_transform(TEXTS)
    assert _ids(a) == _ids(clone(estimator).fit(TEXTS).transform(TEXTS))


@on_text("check_pipeline_consistency")
def test_in_a_pipeline_as_alone(estimator):
    pipe = make_pipeline(clone(estimator)).fit(TEXTS)
    assert _ids(pipe.transform(TEXTS)) == _ids(clone(estimator).fit_transform(TEXTS))


@on_text("check_dtype_object")
def test_object_and_str_arrays(estimator):
    a = clone(estimator).fit(np.array(TEXTS, dtype=object))
    assert a.vocabulary_ == clone(estimator).fit(np.array(TEXTS)).vocabulary_


@on_text("check_transformer_data_not_an_array")
def test_lists_tuples_and_series(estimator):
    import pandas as pd
    ref = _ids(clone(estimator).fit_transform(TEXTS))
    for X in (tuple(TEXTS), pd.Series(TEXTS)):
        assert _ids(clone(estimator).fit_transform(X)) == ref


@on_text("check_readonly_memmap_input")
def test_read_only_input(estimator):
    X = np.array(TEXTS)
    X.setflags(write=False)
    assert _ids(clone(estimator).fit_transform(X)) == _ids(clone(estimator).fit_transform(TEXTS))


def _name(check) -> str:
    while isinstance(check, functools.partial):
        check = check.func
    return check.__name__


class _TabularProbe(TextSequencer):
    """TextSequencer tagged as a 2-D numeric transformer, only to list the checks that
    scikit-learn would run on one (never fitted)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array, tags.input_tags.string = True, False
        return tags


def test_every_check_is_accounted_for():
    yielded = {_name(c) for _, c in estimator_checks_generator(_TabularProbe(), legacy=True)}
    groups = [set(AS_IS), set(ON_TEXT), set(NOT_APPLICABLE)]
    placed = set.union(*groups)
    assert len(placed) == sum(map(len, groups)), "a check is in two groups"
    missing = sorted(yielded - placed)
    assert not missing, f"place each in AS_IS, ON_TEXT or NOT_APPLICABLE: {missing}"
    # and what scikit-learn itself runs on a text transformer is what the top test runs
    ran = {_name(c) for _, c in estimator_checks_generator(TextSequencer(), legacy=True)}
    assert ran <= set(AS_IS)
