"""sknnedu._warn: every warning names the line of the caller's code that caused it, never a
line inside sknnedu."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

from sknnedu import CNNClassifier, NNClassifier, NNRegressor

DIGITS_X, DIGITS_Y = load_digits(return_X_y=True)
X, Y = DIGITS_X[:400] / 16, DIGITS_Y[:400]


def tiny_cnn(**kw):
    return CNNClassifier(**{"conv_layers": ((4, 3),), "hidden_layer_sizes": (16,),
                            "random_state": 0, **kw})


# -------------------------------------------- hardening item 12: warnings name the caller's line


def _warned(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    assert caught, "no warning"
    return caught


WARNING_CASES = {
    "max_iter": (lambda: NNClassifier((4,), max_iter=1).fit(X, Y), ConvergenceWarning),
    "max_iter, CNN": (lambda: tiny_cnn(max_iter=1).fit(X[:50], Y[:50]), ConvergenceWarning),
    "lbfgs": (lambda: NNRegressor(hidden_layer_sizes=(4,), solver="lbfgs",
                                  max_iter=1).fit(X, Y), ConvergenceWarning),
    "batch_size": (lambda: NNClassifier((4,), batch_size=1000).partial_fit(
        X, Y, classes=np.arange(10)), UserWarning),
    "column y": (lambda: NNClassifier((4,), max_iter=1).fit(X, Y[:, None]),
                 DataConversionWarning),
    "non-square rows": (lambda: tiny_cnn(max_iter=1).fit(X[:50, :60], Y[:50]), UserWarning),
    "early-stopping divergence": (lambda: NNRegressor(
        hidden_layer_sizes=100, activation="identity", solver="sgd", learning_rate_init=1,
        max_iter=20, early_stopping=True, random_state=0).fit(X, Y * 1.0), ConvergenceWarning),
}


@pytest.mark.parametrize("case", sorted(WARNING_CASES))
def test_warnings_name_the_callers_line(case):
    call, category = WARNING_CASES[case]
    with np.errstate(all="ignore"):
        caught = _warned(call)
    assert any(issubclass(w.category, category) for w in caught)
    assert [(w.filename, str(w.message)[:60]) for w in caught
            if w.filename != __file__] == []
