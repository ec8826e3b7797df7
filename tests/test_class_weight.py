"""class_weight of NNClassifier (and CNNClassifier, which inherits it): what it accepts,
and multilabel y with one dict per label, checked against scikit-learn's compute_sample_weight."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_sample_weight

from sknnedu import NNClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def multilabel():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0.5, X[:, 3] > -0.3]).astype(int)
    return X, Y


def _net(**params) -> NNClassifier:
    return NNClassifier((5,), max_iter=15, random_state=0, **params)


def test_multilabel_list_of_dicts_weighs_as_compute_sample_weight(multilabel):
    # hardening item 10: the error for a dict said "use a list of dicts", then refused the list
    X, Y = multilabel
    cw = [{0: 1.0, 1: 3.0}, {1: 0.5}, {0: 2.0, 1: 1.0}]
    weighted = _net(class_weight=cw).fit(X, Y)
    reference = _net().fit(X, Y, sample_weight=compute_sample_weight(cw, Y))
    for a, b in zip(weighted.coefs_, reference.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert weighted.predict(X).shape == Y.shape


def test_multilabel_list_of_dicts_with_sample_weight_and_partial_fit(multilabel):
    X, Y = multilabel
    cw = ({0: 1.0, 1: 3.0}, {0: 1.0, 1: 1.0}, {1: 2.0})  # a tuple works as a list
    sw = np.linspace(0.5, 1.5, len(X))
    a = _net(class_weight=cw).fit(X, Y, sample_weight=sw)
    b = _net().fit(X, Y, sample_weight=sw * compute_sample_weight(list(cw), Y))
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-12)
    clf = _net(class_weight=cw)
    for rows in (slice(0, 30), slice(30, 60)):  # a chunk may lack a label's 1s: no error
        clf.partial_fit(X[rows], Y[rows])
    assert clf.predict(X).shape == Y.shape


def test_multilabel_dict_says_what_to_pass_and_that_works(multilabel):
    X, Y = multilabel
    with pytest.raises(ValueError, match=r"a list of 3 dicts, one per label.*got a dict"):
        _net(class_weight={0: 1.0, 1: 2.0}).fit(X, Y)
    _net(class_weight=[{0: 1.0, 1: 2.0}] * 3).fit(X, Y)  # what the message asks for
    _net(class_weight="balanced").fit(X, Y)


@pytest.mark.parametrize(("cw", "words"), [
    ([{0: 1, 1: 2}] * 2, "a list of 3 dicts.*got 2 dicts"),
    ([{0: 1, 1: 2}, {0: 1}, {"yes": 2}], r"class_weight\[2\] has keys \['yes'\]"),
    ([{0: 1, 1: -2}] * 3, r"class_weight\[0\] must map classes to finite weights >= 0"),
])
def test_multilabel_list_errors(multilabel, cw, words):
    X, Y = multilabel
    with pytest.raises(ValueError, match=words):
        _net(class_weight=cw).fit(X, Y)


def test_list_of_dicts_for_a_multiclass_y_says_it_is_for_multilabel(multilabel):
    X, Y = multilabel
    with pytest.raises(ValueError, match="for a multilabel y.*y is multiclass: pass one dict"):
        _net(class_weight=[{0: 1.0}, {1: 2.0}]).fit(X, Y @ [1, 2, 4] % 3)


@pytest.mark.parametrize("cw", [np.ones(10), np.ones(2), [1.0, 2.0], "balance", 3.0, []])
def test_class_weight_of_another_kind_says_what_it_accepts(multilabel, cw):
    # hardening item 11: np.ones(10) gave numpy's "truth value of an array ... is ambiguous"
    X, Y = multilabel
    with pytest.raises(ValueError) as info:
        _net(class_weight=cw).fit(X, Y[:, 0])
    message = str(info.value)
    assert message.startswith("class_weight must be None, 'balanced' or a dict {class: weight}")
    assert "multilabel y, a list of dicts" in message
    assert "ambiguous" not in message
    if isinstance(cw, np.ndarray):
        assert "ndarray" in message and "dict(zip(classes, weights))" in message


def test_dict_and_balanced_still_work_on_a_single_label(multilabel):
    X, Y = multilabel
    y = Y[:, 0]
    a = _net(class_weight={0: 1.0, 1: 3.0}).fit(X, y)
    b = _net().fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-12)
    _net(class_weight="balanced").fit(X, y)
