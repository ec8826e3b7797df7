"""sknnedu.nn.initializers: each initialiser's distribution against its formula, on one
large draw (bounds, mean and variance, and a Kolmogorov-Smirnov test against scipy.stats),
and the 'auto' rule."""

import numpy as np
import pytest
from scipy import stats

from sknnedu.nn.initializers import INITIALIZERS, RELU_FAMILY, resolve_init

FAN_IN, FAN_OUT = 300, 500  # 150,000 weights: the variance within about 1 %


def _distribution(name, activation="relu"):
    """The documented distribution of W: scipy's, with its parameters from the formula."""
    if name == "glorot":
        r = np.sqrt((2.0 if activation in ("logistic", "sigmoid") else 6.0)
                    / (FAN_IN + FAN_OUT))
        return stats.uniform(-r, 2 * r)
    std = {"he": np.sqrt(2.0 / FAN_IN), "lecun": np.sqrt(1.0 / FAN_IN), "normal": 0.01}[name]
    return stats.norm(0.0, std)


CASES = [("glorot", "relu"), ("glorot", "tanh"), ("glorot", "logistic"), ("glorot", "sigmoid"),
         ("he", "relu"), ("lecun", "tanh"), ("normal", "relu")]


@pytest.mark.parametrize("name, activation", CASES)
def test_the_weights_follow_the_formula(name, activation):
    W, b = INITIALIZERS[name](FAN_IN, FAN_OUT, np.random.RandomState(0), np.float64,
                              activation)
    assert W.shape == (FAN_IN, FAN_OUT) and b.shape == (FAN_OUT,)
    expected = _distribution(name, activation)
    w = W.ravel()
    assert abs(w.mean()) < 4 * expected.std() / np.sqrt(w.size)
    assert w.var() == pytest.approx(expected.var(), rel=0.02)
    assert stats.kstest(w, expected.cdf).pvalue > 1e-3
    if name == "glorot":  # U(-r, r): inside the bounds, and reaching them
        low, high = expected.support()
        assert low <= w.min() < low * 0.999 and high * 0.999 < w.max() <= high
        assert np.all((low <= b) & (b <= high)) and np.ptp(b) > 0  # b drawn alike
        assert stats.kstest(b, expected.cdf).pvalue > 1e-3
    else:
        np.testing.assert_array_equal(b, 0.0)


def test_zeros_is_all_zeros():
    W, b = INITIALIZERS["zeros"](3, 4, np.random.RandomState(0), np.float64)
    np.testing.assert_array_equal(W, np.zeros((3, 4)))
    np.testing.assert_array_equal(b, np.zeros(4))


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_shapes_and_the_same_draw_from_the_same_state(name, dtype):
    W, b = INITIALIZERS[name](5, 3, np.random.RandomState(7), dtype)
    assert W.dtype == b.dtype == dtype and W.shape == (5, 3) and b.shape == (3,)
    W2, b2 = INITIALIZERS[name](5, 3, np.random.RandomState(7), dtype)
    np.testing.assert_array_equal(W, W2)
    np.testing.assert_array_equal(b, b2)
    # float32 draws are the float64 draws, rounded
    W64, _ = INITIALIZERS[name](5, 3, np.random.RandomState(7), np.float64)
    np.testing.assert_array_equal(W, W64.astype(dtype))


@pytest.mark.parametrize("name, gain", [("he", 2.0), ("lecun", 1.0)])
def test_the_normal_variances_are_of_fan_in_not_fan_out(name, gain):
    W, _ = INITIALIZERS[name](50, 3000, np.random.RandomState(1))  # fan_out / fan_in = 60
    assert W.var() == pytest.approx(gain / 50, rel=0.02)


@pytest.mark.parametrize("activation", ["relu", "leakyrelu", "tanh", "logistic", "sigmoid",
                                        "identity"])
def test_auto_picks_he_for_the_relu_family_and_glorot_otherwise(activation):
    expected = "he" if activation in ("relu", "leakyrelu") else "glorot"
    assert resolve_init("auto", activation) == expected
    assert set(RELU_FAMILY) == {"relu", "leakyrelu"}
    assert resolve_init("lecun", activation) == "lecun"  # a name is kept as it is


def test_an_unknown_init_is_refused_with_the_names():
    assert sorted(INITIALIZERS) == ["glorot", "he", "lecun", "normal", "zeros"]
    with pytest.raises(ValueError, match=r"Unknown init 'xavier'; expected 'auto' or one of "
                                         r"\['glorot', 'he', 'lecun', 'normal', 'zeros'\]"):
        resolve_init("xavier", "relu")
