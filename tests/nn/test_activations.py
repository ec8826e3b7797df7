"""Activations against their formulas, derivatives against finite differences; check_activation,
the one check of an activation's name that every function, layer and estimator shares."""

import warnings

import numpy as np
import pytest

from sknnedu import ConvFeatureTransformer
from sknnedu.nn.activations import (
    ACTIVATIONS,
    DERIVATIVES,
    LEAKY_SLOPE,
    activation,
    activation_derivative,
    bind,
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


# ----------------------------------------------------- bind: the slope bound where a layer is built
@pytest.mark.parametrize("slope", [0.1, 0.3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bind_leakyrelu_binds_its_slope_into_g_and_g_prime(slope, dtype):
    z = np.array([-3.0, -0.5, -1e-3, 0.25, 2.0], dtype=dtype)
    g, g_prime = bind("leakyrelu", slope)
    a = g(z.copy())
    assert a.dtype == dtype
    expected = [zi if zi > 0 else slope * zi for zi in z.astype(float)]
    np.testing.assert_allclose(a, expected, rtol=1e-6)
    delta = np.full_like(z, 2.0)
    g_prime(a, delta)
    assert delta.dtype == dtype
    np.testing.assert_allclose(delta, [2.0 if zi > 0 else 2.0 * slope for zi in z.astype(float)],
                               rtol=1e-6)


def test_bind_keeps_each_slope_apart_and_defaults_to_the_notes_slope():
    g1, d1 = bind("leakyrelu", 0.1)
    g3, d3 = bind("leakyrelu", 0.3)
    g0, d0 = bind("leakyrelu")
    z = np.array([-2.0, 1.0])
    assert g1(z.copy()).tolist() == [-0.2, 1.0]
    assert g3(z.copy()).tolist() == pytest.approx([-0.6, 1.0])
    assert g0(z.copy()).tolist() == [-2.0 * LEAKY_SLOPE, 1.0]
    delta = np.ones(2)
    d1(np.array([-0.2, 1.0]), delta)
    assert delta.tolist() == [0.1, 1.0]


@pytest.mark.parametrize("name", sorted(set(ACTIVATIONS) - {"leakyrelu"}))
def test_bind_returns_the_plain_functions_of_the_other_activations(name):
    g, g_prime = bind(name, slope=0.3)
    assert g is ACTIVATIONS[name]
    assert g_prime is DERIVATIVES.get(name)
    if name in ("abs", "softmax", "exp"):
        assert g_prime is None


def test_bind_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="Unknown activation 'swish'; expected one of"):
        bind("swish")


def _identity_and_leaky(kind, slope, rng):
    """``(z, a, dW_identity, dW_leaky)`` of the layer ``kind`` built twice from the same arrays:
    with 'identity' (its output is z) and with 'leakyrelu' of ``slope``."""
    from sknnedu.nn.layers import Activation, Dense
    from sknnedu.nn.residual import Fork, Join
    from sknnedu.nn.sequence_conv import Conv1D
    from sknnedu.nn.sequences import SequenceBatch

    if kind == "Dense":
        W, b, x = rng.randn(3, 4), rng.randn(4), rng.randn(6, 3)
        make = lambda g: Dense(W, b, g, slope=slope)  # noqa: E731
        run = lambda layer: layer.forward(x)  # noqa: E731
    elif kind == "Activation":
        x = rng.randn(6, 4)
        make = lambda g: Activation(g, slope=slope)  # noqa: E731
        run = lambda layer: layer.forward(x)  # noqa: E731
    elif kind == "Conv2D":
        K, b, x = rng.randn(2, 3, 3, 1), rng.randn(2), rng.randn(2, 4, 4, 1)
        make = lambda g: Conv2D(K, b, activation=g, slope=slope)  # noqa: E731
        run = lambda layer: layer.forward(x)  # noqa: E731
    elif kind == "Conv1D":
        W, b = rng.randn(3, 2, 4), rng.randn(4)
        x = SequenceBatch(rng.randn(4, 2, 2), np.array([4, 4]))
        make = lambda g: Conv1D(W, b, activation=g, slope=slope)  # noqa: E731
        run = lambda layer: layer.forward(x).data  # noqa: E731
    elif kind == "Join":
        W, F, x = rng.randn(2, 3), rng.randn(5, 3), rng.randn(5, 2)

        def make(g):
            layer = Join(Fork(), g, W, slope=slope)
            layer.fork.forward(x)
            return layer
        run = lambda layer: layer.forward(F)  # noqa: E731
    out = {}
    for g in ("identity", "leakyrelu"):
        layer = make(g)
        a = run(layer).copy()
        da = np.ones_like(a)
        dx = layer.backward(da)
        out[g] = a, np.array(dx, copy=True), [d.copy() for d in layer.grads]
    return out


@pytest.mark.parametrize("kind", ["Dense", "Activation", "Conv2D", "Conv1D", "Join"])
def test_every_layer_that_binds_a_slope_uses_the_one_it_was_built_with(kind):
    outputs = []
    for slope in (0.01, 0.2):
        out = _identity_and_leaky(kind, slope, np.random.RandomState(0))
        z, dx_z, dW_z = out["identity"]
        a, dx_a, dW_a = out["leakyrelu"]
        assert (z < 0).any()
        np.testing.assert_allclose(a, np.where(z > 0, z, slope * z), rtol=1e-12)
        # backward with da = 1: dz = g'(z), 1 where z > 0 and the slope elsewhere
        if kind == "Activation":
            np.testing.assert_allclose(dx_a, np.where(z > 0, 1.0, slope), rtol=1e-12)
        assert not np.allclose(dx_a, dx_z)
        if dW_z:
            assert not np.allclose(dW_a[0], dW_z[0])
        outputs.append((a, dx_a))
    assert not np.allclose(outputs[0][0], outputs[1][0])
    assert not np.allclose(outputs[0][1], outputs[1][1])


def test_a_dense_layer_built_with_slope_0_2_differs_from_0_01_on_negative_z():
    from sknnedu.nn.layers import Dense

    W, b = np.array([[1.0, -1.0]]), np.zeros(2)
    x = np.array([[2.0], [-3.0]])                # z = [[2, -2], [-3, 3]]
    a = {s: Dense(W, b, "leakyrelu", slope=s).forward(x).copy() for s in (0.2, 0.01)}
    np.testing.assert_allclose(a[0.2], [[2.0, -0.4], [-0.6, 3.0]])
    np.testing.assert_allclose(a[0.01], [[2.0, -0.02], [-0.03, 3.0]])
    layer = Dense(W, b, "leakyrelu", slope=0.2)
    layer.forward(x)
    dx = layer.backward(np.ones((2, 2)))        # dz = [[1, 0.2], [0.2, 1]], dx = dz W^T
    np.testing.assert_allclose(dx, [[0.8], [-0.8]])
    np.testing.assert_allclose(layer.grads[0], [[2.0 - 0.6, 0.4 - 3.0]])  # a_prev^T dz
