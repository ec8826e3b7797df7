"""scikit-learn's own test file for its MLPs, run against sknnedu.

The installed ``sklearn/neural_network/tests/test_mlp.py`` is loaded as it is (no
code is copied), with ``MLPClassifier`` bound to :class:`~sknnedu.NNClassifier` and
``MLPRegressor`` to :class:`~sknnedu.NNRegressor` while it is imported, so that its
``parametrize`` lists hold ours too. Every test that uses only the public API must
pass; the exempt ones read or set private attributes of scikit-learn's
implementation, listed in :data:`PRIVATE`, or check a behaviour where sknnedu differs
on purpose, listed in :data:`DIFFERENT` with the test of sknnedu's own.
"""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import sklearn.neural_network

from sknnedu import NNClassifier, NNRegressor

TEST_FILE = Path(sklearn.neural_network.__file__).parent / "tests" / "test_mlp.py"

#: test -> the private attributes it reads or sets
PRIVATE = {
    "test_fit": "_coef_grads, _intercept_grads, _coef_velocity, _no_improvement_count",
    "test_gradient": "_loss_grad_lbfgs",
    "test_learning_rate_warmstart": "_optimizer",
    "test_adaptive_learning_rate": "_optimizer",
    "test_n_iter_no_change": "_no_improvement_count",
    "test_n_iter_no_change_inf": "_no_improvement_count",
}

#: test -> where sknnedu differs on purpose, and the test of sknnedu's behaviour
DIFFERENT = {
    "test_early_stopping_stratified": (
        "matches the class 'True' of scikit-learn's 0/1 encoding in its error; sknnedu "
        "names the user's labels (tests/test_split.py::"
        "test_a_stratified_split_error_names_the_labels_of_y)"),
}


def _load():
    if not TEST_FILE.exists():  # scikit-learn installed without its tests
        return None
    saved = sklearn.neural_network.MLPClassifier, sklearn.neural_network.MLPRegressor
    sklearn.neural_network.MLPClassifier = NNClassifier
    sklearn.neural_network.MLPRegressor = NNRegressor
    try:
        spec = importlib.util.spec_from_file_location("sklearn_test_mlp_on_sknnedu",
                                                      TEST_FILE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sklearn.neural_network.MLPClassifier, sklearn.neural_network.MLPRegressor = saved
    assert module.MLPClassifier is NNClassifier and module.MLPRegressor is NNRegressor
    return module


MODULE = _load()
if MODULE is None:
    pytest.skip(f"{TEST_FILE} is not installed", allow_module_level=True)


@pytest.fixture
def global_random_seed():
    """scikit-learn's fixture (its conftest is not ours): the seed it defaults to."""
    return int(os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", 42))


def _exempt(name, fn):
    reason = (f"reads scikit-learn's private {PRIVATE[name]}" if name in PRIVATE
              else f"differs on purpose: {DIFFERENT[name]}")
    return pytest.mark.skip(reason=reason)(fn)


for _name, _fn in vars(MODULE).copy().items():
    if _name.startswith("test_") and callable(_fn):
        exempt = _name in PRIVATE or _name in DIFFERENT
        globals()[_name] = _exempt(_name, _fn) if exempt else _fn


def test_the_runner_collects_the_whole_file():
    tests = [n for n in vars(MODULE) if n.startswith("test_")]
    assert len(tests) >= 40
    assert set(PRIVATE) | set(DIFFERENT) <= set(tests)
    assert np.all([globals()[n] is not None for n in tests])
