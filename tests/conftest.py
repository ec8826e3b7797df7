"""Fixtures that the tests of several modules share."""

import warnings

import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline


@pytest.fixture(scope="module")
def small_digits():
    """The first 300 digits, pixels scaled to [0, 1], and their labels."""
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder for the files that inputs are read from (memory-mapped arrays)."""
    return tmp_path_factory.mktemp("hardening")


@pytest.fixture(scope="module")
def fitted_pipeline(small_digits):
    """ConvFeatureTransformer then NNClassifier, fitted to :func:`small_digits`."""
    from sknnedu import NNClassifier
    from sknnedu.feature_extraction import ConvFeatureTransformer

    X, y = small_digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make_pipeline(ConvFeatureTransformer(image_shape=(8, 8)),
                             NNClassifier((32,), max_iter=30, random_state=0)).fit(X, y)
