"""sknnedu._split: the validation split of early stopping, and errors that speak of y."""


import numpy as np
import pytest
from quiet_fits import quiet

from sknnedu import NNClassifier

# ------------------------------------- hardening item 15: early-stopping split errors speak of y


def test_a_stratified_split_error_names_the_labels_of_y():
    Xs = np.random.RandomState(0).randn(12, 3)
    with pytest.raises(ValueError, match=r"at least 2 samples of each class; "
                                         r"class\(es\) \['dog'\] of y have 1"):
        NNClassifier((4,), early_stopping=True).fit(Xs, ["cat"] * 11 + ["dog"])
    with pytest.raises(ValueError, match=r"training part would have 1 of the 4 samples.*"
                                         r"one of each of the 2 classes \['cat', 'dog'\]"):
        NNClassifier((4,), early_stopping=True, validation_fraction=0.6).fit(
            Xs[:4], ["cat", "dog", "cat", "dog"])


def test_a_split_that_leaves_only_zero_weights_says_so():
    Xs = np.random.RandomState(0).randn(20, 3)
    ys = np.tile([0, 1], 10)
    messages = set()
    for seed in range(20):
        sw = np.zeros(20)
        sw[[0, 1]] = 1.0  # two samples of non-zero weight
        try:
            quiet(NNClassifier((4,), early_stopping=True, validation_fraction=0.5, max_iter=2,
                               random_state=seed), "fit", Xs, ys, sample_weight=sw)
        except ValueError as exc:
            messages.add(str(exc).split(" (")[0])
    assert messages == {"early_stopping=True held out 10 of the 20 samples, and every sample "
                        "of the training part has weight 0",
                        "early_stopping=True held out 10 of the 20 samples, and every sample "
                        "of the validation part has weight 0"}
