"""sknnedu._params: which values count as integers and reals, check_sample_weight (against
scikit-learn's _check_sample_weight where they should agree), size_pairs (the parser of
hidden_layer_sizes and recurrent_layers), hidden_layer_sizes through NNClassifier, and the
parameter checks that tests/test_neural_network.py::test_bad_parameters does not cover."""

import fractions
import re
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight

from sknnedu import NNClassifier
from sknnedu._params import _integer, _real, check_sample_weight, size_pairs
from sknnedu.nn.activations import HIDDEN_ACTIVATIONS

# ------------------------------------------------------------------ _integer and _real


@pytest.mark.parametrize("v", [0, 3, -7, 2**62, np.int8(1), np.int64(-2), np.uint16(5)])
def test_integers_are_integers_and_reals(v):
    assert _integer(v)
    assert _real(v)


@pytest.mark.parametrize("v", [True, False, np.bool_(True)])
def test_bools_are_neither_integers_nor_reals(v):
    assert not _integer(v)
    assert not _real(v)


@pytest.mark.parametrize("v", [0.5, -2.0, 1e300, np.float32(0.1), np.float64(3.0)])
def test_finite_floats_are_reals_not_integers(v):
    assert _real(v)
    assert not _integer(v)


@pytest.mark.parametrize("v", [10**30, fractions.Fraction(1, 3)])
def test_reals_numpy_cannot_hold_are_reals(v):
    # numbers.Real and finite, though numpy holds them only as objects
    assert _real(v)


@pytest.mark.parametrize("v", [np.nan, np.inf, -np.inf, float("nan"), np.float32(np.inf)])
def test_nonfinite_floats_are_not_reals(v):
    assert not _real(v)
    assert not _integer(v)


@pytest.mark.parametrize("v", ["3", b"3", None, 1 + 2j, np.complex128(1), [3], (3,),
                               np.array(3), np.array([3]), np.array(0.5)])
def test_other_values_are_neither(v):
    assert not _integer(v)
    assert not _real(v)


# ------------------------------------------------------------------ check_sample_weight


def test_none_stays_none():
    assert check_sample_weight(None, 5) is None


@pytest.mark.parametrize("sw", [
    [1, 2, 3, 0],                                  # ints in a list
    np.array([0.5, 1.0, 0.0, 2.0], dtype=np.float32),
    np.arange(4, dtype=np.int64),
    np.array([0.25, 4.0, 1.0, 3.0]),
    2, 2.5, np.float32(0.5), np.int64(3),         # scalars fill the n samples
])
def test_valid_weights_agree_with_scikit_learn(sw):
    ours = check_sample_weight(sw, 4)
    ref = _check_sample_weight(sw, np.zeros((4, 2)), ensure_non_negative=True)
    assert isinstance(ours, np.ndarray)
    assert ours.dtype == np.float64 and ours.shape == (4,)
    np.testing.assert_array_equal(ours, ref.astype(np.float64))


def test_a_scalar_fills_every_sample():
    np.testing.assert_array_equal(check_sample_weight(1.5, 3), [1.5, 1.5, 1.5])
    assert check_sample_weight(0, 0).shape == (0,)


@pytest.mark.parametrize("sw, shape", [
    (np.ones(3), (3,)),
    (np.ones(5), (5,)),
    (np.ones((4, 1)), (4, 1)),
    (np.ones((1, 4)), (1, 4)),
    ([[1.0, 2.0]], (1, 2)),
])
def test_a_wrong_shape_is_refused_like_scikit_learn(sw, shape):
    with pytest.raises(ValueError, match=re.escape(
            f"sample_weight must have shape (4,) like X; got {shape}.")):
        check_sample_weight(sw, 4)
    with pytest.raises(ValueError):
        _check_sample_weight(sw, np.zeros((4, 2)))


@pytest.mark.parametrize("sw", [
    [1.0, -1.0, 2.0, 0.0],
    [1.0, -1e-300, 2.0, 0.0],
    -1,
    [1.0, np.nan, 2.0, 0.0],
    [1.0, np.inf, 2.0, 0.0],
    [-np.inf, 1.0, 2.0, 0.0],
    np.nan,
    np.inf,
])
def test_negative_nan_and_infinite_weights_are_refused_like_scikit_learn(sw):
    with pytest.raises(ValueError, match=r"^sample_weight must be finite and non-negative\.$"):
        check_sample_weight(sw, 4)
    if np.ndim(sw):  # scikit-learn fills a scalar without checking its value
        with pytest.raises(ValueError):
            _check_sample_weight(sw, np.zeros((4, 2)), ensure_non_negative=True)


def test_weights_whose_sum_overflows_are_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the overflow is the error, not a RuntimeWarning too
        with pytest.raises(ValueError, match=re.escape(
            "sample_weight sums to inf; rescale the weights (only their ratios matter, "
            "and alpha's strength).")):
            check_sample_weight(np.full(3, 1e308), 3)
    assert np.isfinite(check_sample_weight(np.full(3, 1e307), 3).sum())


def test_strings_are_refused():
    with pytest.raises(ValueError):
        check_sample_weight(["a", "b"], 2)


def test_zero_weights_pass_here():
    # all-zero weights are the estimator's to refuse (engine._prepare), not this function's
    np.testing.assert_array_equal(check_sample_weight([0, 0], 2), [0.0, 0.0])


# ------------------------------------------------------------------ size_pairs


class Kinds:
    """A check_kind that records its calls and refuses the kind 'bad'."""

    def __init__(self):
        self.calls = []

    def __call__(self, kind, i):
        self.calls.append((kind, i))
        if kind == "bad":
            raise ValueError(f"bad kind at {i}")


def pairs(spec, check=None):
    return size_pairs(spec, "sizes", "(size, kind)", "dflt", check or Kinds(), "(4, 'k')")


@pytest.mark.parametrize("spec, expected", [
    (5, [(5, "dflt")]),
    (np.int64(5), [(5, "dflt")]),
    ((3, 4), [(3, "dflt"), (4, "dflt")]),
    ([3], [(3, "dflt")]),
    ((), []),
    ([], []),
    (np.array([2, 7]), [(2, "dflt"), (7, "dflt")]),
    ([(3, "a"), 4, [5, "b"]], [(3, "a"), (4, "dflt"), (5, "b")]),
    ([(np.int32(6), "a")], [(6, "a")]),
    (range(1, 3), [(1, "dflt"), (2, "dflt")]),
])
def test_size_pairs_parses(spec, expected):
    out = pairs(spec)
    assert out == expected
    assert all(type(size) is int and type(kind) is str for size, kind in out)


def test_the_default_kind_is_the_one_passed():
    out = size_pairs((2, (3, "x")), "n", "p", "other", Kinds(), "e")
    assert out == [(2, "other"), (3, "x")]


def test_check_kind_is_called_with_each_pair_kind_and_its_position():
    check = Kinds()
    pairs([1, (2, "a"), 3, (4, "b"), [5, "c"]], check)
    assert check.calls == [("a", 1), ("b", 3), ("c", 4)]  # int entries: not checked


def test_check_kind_raising_names_the_position():
    check = Kinds()
    with pytest.raises(ValueError, match="^bad kind at 2$"):
        pairs([1, (2, "ok"), (3, "bad"), (4, "never")], check)
    assert check.calls == [("ok", 1), ("bad", 2)]  # stops at the first bad one


@pytest.mark.parametrize("spec", ["5", "relu", "", True, False, 2.0, None, np.float64(3)])
def test_a_spec_that_is_no_int_nor_sequence_is_refused(spec):
    with pytest.raises(ValueError, match=re.escape(
            f"sizes must be an int or a sequence of ints and (size, kind) pairs; "
            f"got {spec!r}.")):
        pairs(spec)


def test_bytes_are_refused():
    with pytest.raises(ValueError, match="sizes must be an int or a sequence"):
        pairs(b"ab")


def test_a_0d_array_is_refused_with_the_message():
    with pytest.raises(ValueError, match="sizes must be an int or a sequence"):
        pairs(np.array(5))


@pytest.mark.parametrize("spec, i", [
    ([3, 2.0], 1),
    ([True], 0),
    ([1, 2, "relu"], 2),
    ([(3, "a", 1)], 0),
    ([("a", 3)], 0),
    ([(3,)], 0),
    ([(True, "a")], 0),
    ([(3.0, "a")], 0),
    ([(3, None)], 0),
    ([4, (3, 5)], 1),
    ([None], 0),
    ([np.array([3, 4])], 0),
])
def test_a_bad_entry_is_refused_with_its_position(spec, i):
    with pytest.raises(ValueError, match=re.escape(
            f"sizes[{i}] must be an int or a (size, kind) pair such as (4, 'k'); "
            f"got {spec[i]!r}.")):
        pairs(spec)


@pytest.mark.parametrize("spec, size, i", [
    (0, 0, 0),
    (-3, -3, 0),
    ((4, 0), 0, 1),
    ([2, 3, -1], -1, 2),
    ([2, (0, "a")], 0, 1),
    ([np.int64(0)], 0, 0),
])
def test_a_size_below_one_is_refused_with_its_position(spec, size, i):
    with pytest.raises(ValueError, match=re.escape(
            f"sizes must be > 0; got {size} at position {i} of {spec!r}.")):
        pairs(spec)


# ---------------------------------------------------- hidden_layer_sizes through an estimator


@pytest.mark.parametrize("hls, activation, expected", [
    ((100,), "relu", [(100, "relu")]),
    (7, "tanh", [(7, "tanh")]),
    ((3, 4), "logistic", [(3, "logistic"), (4, "logistic")]),
    ([3, (4, "tanh"), 5], "leakyrelu", [(3, "leakyrelu"), (4, "tanh"), (5, "leakyrelu")]),
    ((), "relu", []),
    (np.array([2, 3]), "identity", [(2, "identity"), (3, "identity")]),
])
def test_hidden_layers_take_the_activation_as_default(hls, activation, expected):
    assert NNClassifier(hls, activation)._hidden_layers() == expected


@pytest.mark.parametrize("act", HIDDEN_ACTIVATIONS)
def test_every_hidden_activation_is_accepted_in_a_pair(act):
    assert NNClassifier([(2, act)])._hidden_layers() == [(2, act)]


def test_a_bad_activation_is_refused_even_when_every_layer_names_its_own():
    with pytest.raises(ValueError, match=r"^Unknown activation 'softmax'; expected one of"):
        NNClassifier([(3, "relu")], activation="softmax")._hidden_layers()


@pytest.mark.parametrize("bad", ["abs", "softmax", "exp", "ReLU"])
def test_a_bad_pair_activation_names_its_hidden_layer(bad):
    expected = re.escape(f"Unknown activation of hidden layer 2 {bad!r}; expected one of "
                         f"{sorted(HIDDEN_ACTIVATIONS)}.")
    with pytest.raises(ValueError, match=f"^{expected}$"):
        NNClassifier([3, (4, "tanh"), (5, bad)])._hidden_layers()


def test_hidden_layer_sizes_messages_name_the_parameter():
    with pytest.raises(ValueError, match=re.escape(
            "hidden_layer_sizes must be > 0; got -2 at position 0 of (-2, 3).")):
        NNClassifier((-2, 3))._hidden_layers()
    with pytest.raises(ValueError, match=re.escape(
            "hidden_layer_sizes[1] must be an int or a (size, activation) pair such as "
            "(24, 'relu'); got 3.5.")):
        NNClassifier((2, 3.5))._hidden_layers()


# --------------------------------------------------------------------- _check_params

# test_neural_network.py::test_bad_parameters covers solver, learning_rate, init, alpha=-1,
# batch_size=0, learning_rate_init=0, max_iter=0, momentum=2, dropout=1,
# validation_fraction=1, beta_1=1, epsilon=0, n_iter_no_change=0 (and dropout with lbfgs at
# its own test); test_rnn.py covers clip_norm. Here: the rest, bools, NaN and infinity.


@pytest.mark.parametrize("params, message", [
    (dict(power_t=-0.5), "power_t must be a float >= 0; got -0.5."),
    (dict(power_t=np.nan), "power_t must be a float >= 0; got nan."),
    (dict(tol=-1e-4), "tol must be a float >= 0; got -0.0001."),
    (dict(tol=np.inf), "tol must be a float >= 0; got inf."),
    (dict(beta_2=1.0), "beta_2 must be in [0, 1); got 1.0."),
    (dict(beta_2=-0.1), "beta_2 must be in [0, 1); got -0.1."),
    (dict(beta_1=-0.1), "beta_1 must be in [0, 1); got -0.1."),
    (dict(max_fun=0), "max_fun must be an int >= 1; got 0."),
    (dict(max_fun=10.0), "max_fun must be an int >= 1; got 10.0."),
    (dict(rho=1.0), "rho must be in [0, 1); got 1.0."),
    (dict(rho=-0.5), "rho must be in [0, 1); got -0.5."),
    (dict(negative_slope=1.0), "negative_slope must be in [0, 1); got 1.0."),
    (dict(negative_slope=-0.01), "negative_slope must be in [0, 1); got -0.01."),
    (dict(negative_slope=np.nan), "negative_slope must be in [0, 1); got nan."),
    (dict(early_stopping=True, validation_fraction=0.0),
     "validation_fraction must be in (0, 1) with early_stopping=True (it is the share of the "
     "data held out to decide when to stop); got 0.0."),
    (dict(validation_fraction=-0.1), "validation_fraction must be in [0, 1); got -0.1."),
    (dict(momentum=-0.1), "momentum must be in [0, 1]; got -0.1."),
    (dict(dropout=-0.1), "dropout must be in [0, 1); got -0.1."),
    (dict(epsilon=-1e-8), "epsilon must be a float > 0; got -1e-08."),
    (dict(n_iter_no_change=2.5), "n_iter_no_change must be an int >= 1 or np.inf; got 2.5."),
    (dict(n_iter_no_change=-np.inf),
     "n_iter_no_change must be an int >= 1 or np.inf; got -inf."),
    (dict(batch_size=2.0), "batch_size must be 'auto' or an int >= 1; got 2.0."),
    (dict(batch_size="full"), "batch_size must be 'auto' or an int >= 1; got 'full'."),
    (dict(max_iter=10.0), "max_iter must be an int >= 1; got 10.0."),
    # bools are not numbers here
    (dict(max_iter=True), "max_iter must be an int >= 1; got True."),
    (dict(batch_size=True), "batch_size must be 'auto' or an int >= 1; got True."),
    (dict(max_fun=True), "max_fun must be an int >= 1; got True."),
    (dict(n_iter_no_change=True), "n_iter_no_change must be an int >= 1 or np.inf; got True."),
    (dict(alpha=False), "alpha must be a float >= 0; got False."),
    (dict(learning_rate_init=True), "learning_rate_init must be a float > 0; got True."),
    (dict(dropout=False), "dropout must be in [0, 1); got False."),
    # NaN and infinity
    (dict(alpha=np.nan), "alpha must be a float >= 0; got nan."),
    (dict(alpha=np.inf), "alpha must be a float >= 0; got inf."),
    (dict(learning_rate_init=np.inf), "learning_rate_init must be a float > 0; got inf."),
    (dict(momentum=np.nan), "momentum must be in [0, 1]; got nan."),
    (dict(epsilon=np.inf), "epsilon must be a float > 0; got inf."),
    (dict(alpha="0.1"), "alpha must be a float >= 0; got '0.1'."),
])
def test_check_params_refuses(params, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        NNClassifier(**params)._check_params()


@pytest.mark.parametrize("params", [
    dict(),
    dict(momentum=0.0), dict(momentum=1.0), dict(beta_1=0.0), dict(beta_2=0.0),
    dict(rho=0.0), dict(negative_slope=0.0), dict(power_t=0.0), dict(tol=0.0),
    dict(alpha=0), dict(validation_fraction=0.0), dict(dropout=0.0),
    dict(n_iter_no_change=np.inf), dict(n_iter_no_change=1), dict(batch_size=1),
    dict(max_iter=np.int64(3)), dict(batch_size=np.int32(4)), dict(max_fun=1),
    dict(alpha=np.float32(0.1)), dict(learning_rate_init=np.float64(1e-3)),
    dict(init="auto"), dict(solver="lbfgs"), dict(solver="rmsprop", dropout=0.5),
    dict(early_stopping=True, validation_fraction=0.5),
])
def test_check_params_accepts_the_edges(params):
    NNClassifier(**params)._check_params()


def test_fit_checks_the_parameters_before_the_data():
    X, y = np.zeros((4, 2)), [0, 1, 0, 1]
    with pytest.raises(ValueError, match=r"^rho must be in \[0, 1\); got 1\.5\.$"):
        NNClassifier((2,), rho=1.5).fit(X, y)
    with pytest.raises(ValueError, match=r"^power_t must be a float >= 0"):
        NNClassifier((2,), power_t=-1).fit(np.full((4, 2), np.nan), y)  # bad data too


def test_numpy_integer_parameters_train():
    X = np.random.RandomState(0).randn(8, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NNClassifier((2,), max_iter=np.int64(2), batch_size=np.int32(4),
                           random_state=0).fit(X, [0, 1] * 4)
    assert clf.n_iter_ == 2
