"""Activations against their formulas, derivatives against finite differences; check_activation,
the one check of an activation's name that every function, layer and estimator shares."""

import warnings

import numpy as np
import pytest

from sknnedu import ConvFeatureTransformer
from sknnedu.nn.activations import (
    ACTIVATIONS,
    DERIVATIVES,
    activation,
    activation_derivative,
    check_activation,
    softmax,
)
from sknnedu.nn.conv import conv_pool2d
from sknnedu.nn.conv_layers import Conv2D
from sknnedu.nn.convolution import MAP_ACTIVATIONS

FORMULAS = {
    "identity": lambda z: z,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "logistic": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": lambda z: (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)),
    "relu": lambda z: (z > 0) * z,
    "leakyrelu": lambda z: (z > 0) * z + (z < 0) * 0.01 * z,  # the notes' In[4]
    "abs": np.abs,
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_activation_matches_formula(name):
    z = np.linspace(-5, 5, 101)
    np.testing.assert_allclose(activation(name, z), FORMULAS[name](z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_derivative_matches_finite_differences(name):
    z = np.linspace(-4, 4, 81) + 0.013  # stay off the kink at 0
    h = 1e-6
    numeric = (activation(name, z + h) - activation(name, z - h)) / (2 * h)
    np.testing.assert_allclose(activation_derivative(name, z), numeric, rtol=1e-6, atol=1e-9)


def test_leaky_slope_is_settable():
    z = np.array([-2.0, 3.0])
    np.testing.assert_allclose(activation("leakyrelu", z, slope=0.2), [-0.4, 3.0])
    np.testing.assert_allclose(activation_derivative("leakyrelu", z, slope=0.2), [0.2, 1.0])


# exp(1e5) is inf by definition (the Poisson output's mean): not a stability bug
@pytest.mark.parametrize("name", sorted(set(ACTIVATIONS) - {"exp"}))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stable_and_dtype_preserving(name, dtype):
    z = np.array([[-1e5, -1.0, 0.0, 1.0, 1e5]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = ACTIVATIONS[name](z.copy())
    assert a.dtype == dtype
    assert np.isfinite(a).all()


def test_softmax_rows_sum_to_one_for_huge_inputs():
    z = np.array([[1e5, 0.0, -1e5], [3.0, 3.0, 3.0]], dtype=np.float32)
    p = softmax(z.copy())
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(p[0], [1, 0, 0])
    np.testing.assert_allclose(p[1], [1 / 3] * 3, rtol=1e-6)


def test_integer_input_and_no_mutation():
    z = np.array([-2, 0, 2])
    a = activation("relu", z)
    assert a.dtype == np.float64
    np.testing.assert_array_equal(z, [-2, 0, 2])


def test_unknown_name():
    with pytest.raises(ValueError, match="Unknown activation 'swish'; expected one of"):
        activation("swish", np.zeros(2))
    with pytest.raises(ValueError, match="with a derivative 'abs'"):
        activation_derivative("abs", np.zeros(2))


@pytest.mark.parametrize("shape", [(5,), (2, 5), (3, 4, 5), (2, 1, 3, 5)])
def test_softmax_is_over_the_last_axis_for_any_shape(shape):
    # issue 11, item 17: a 1-D z crashed, a 3-D z was normalised over axis 1
    z = np.random.default_rng(0).normal(size=shape) * 10
    a = activation("softmax", z)
    e = np.exp(z - z.max(axis=-1, keepdims=True))  # plain numpy reference
    np.testing.assert_allclose(a, e / e.sum(axis=-1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(a.sum(axis=-1), 1, rtol=1e-12)
    assert activation("softmax", np.float64(3.0)) == 1.0


def test_softmax_in_place_on_rows_keeps_the_array():
    # the network calls ACTIVATIONS['softmax'] on its 2-D output buffer, in place
    z = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    out = ACTIVATIONS["softmax"](z)
    assert out is z and z.dtype == np.float32
    np.testing.assert_allclose(z.sum(axis=1), 1, rtol=1e-6)


# ----------------------------- check_activation: the one check, and the callers that share it


def test_check_activation_accepts_the_table_and_lists_it_when_not():
    assert check_activation("relu") == "relu"
    assert check_activation(None, none=True) is None
    for bad in ("swish", None, 3, ["relu"]):
        with pytest.raises(ValueError, match=r"Unknown activation .*; expected one of \["):
            check_activation(bad)
    with pytest.raises(ValueError, match=r"Unknown activation of layer 2 'abs'; expected one"):
        check_activation("abs", DERIVATIVES, what="activation of layer 2")
    with pytest.raises(ValueError, match=r"expected None or one of \['abs'"):
        check_activation("softmax", MAP_ACTIVATIONS, none=True)
    assert set(MAP_ACTIVATIONS) == set(ACTIVATIONS) - {"softmax"}


@pytest.mark.parametrize("call", [
    lambda: activation("softplus", np.zeros(2)),
    lambda: conv_pool2d(np.ones((1, 3, 3)), np.ones((1, 2, 2)), activation="softplus"),
    lambda: Conv2D(np.ones((1, 2, 2, 1)), np.zeros(1), activation="softplus"),
    lambda: ConvFeatureTransformer(activation="softplus").fit(np.ones((2, 9))),
], ids=["activation", "conv_pool2d", "Conv2D", "ConvFeatureTransformer"])
def test_every_caller_checks_activations_the_same_way(call):
    with pytest.raises(ValueError, match=r"^Unknown activation 'softplus'; expected (None or )?"
                                         r"one of \['"):
        call()
