"""Optimisers step for step against scikit-learn's own, and RMSProp against its formula."""

import numpy as np
import pytest
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from sknnedu.nn.optimizers import SGD, Adam, RMSProp


def _params(seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randn(4, 3), rng.randn(3)]


def _grads(step):
    rng = np.random.RandomState(100 + step)
    return [rng.randn(4, 3), rng.randn(3)]


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("schedule", ["constant", "invscaling"])
def test_sgd_matches_sklearn(nesterov, schedule):
    ours, ref = _params(), _params()
    opt = SGD(ours, 0.1, schedule, momentum=0.8, nesterov=nesterov, power_t=0.5)
    sk = SGDOptimizer(ref, 0.1, schedule, momentum=0.8, nesterov=nesterov, power_t=0.5)
    for step in range(5):
        opt.update_params(ours, _grads(step))
        sk.update_params(ref, _grads(step))
        opt.iteration_ends(10 * step)
        sk.iteration_ends(10 * step)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_adam_matches_sklearn():
    ours, ref = _params(), _params()
    opt = Adam(ours, 0.01, 0.9, 0.999, 1e-8)
    sk = AdamOptimizer(ref, 0.01, 0.9, 0.999, 1e-8)
    for step in range(5):
        opt.update_params(ours, _grads(step))
        sk.update_params(ref, _grads(step))
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_rmsprop_formula():
    params = _params()
    expected = [p.copy() for p in params]
    s = [np.zeros_like(p) for p in params]
    opt = RMSProp(params, 0.01, rho=0.9, epsilon=1e-8)
    for step in range(4):
        grads = _grads(step)
        opt.update_params(params, grads)
        for p, g, si in zip(expected, grads, s):
            si[...] = 0.9 * si + 0.1 * g**2
            p -= 0.01 * g / (np.sqrt(si) + 1e-8)
    for a, b in zip(params, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_state_round_trip_continues_identically():
    a, b = _params(), _params()
    opt_a = Adam(a, 0.01)
    for step in range(3):
        opt_a.update_params(a, _grads(step))
    opt_b = Adam(b, 0.01)
    for step in range(2):
        opt_b.update_params(b, _grads(step))
    opt_b = Adam(b, 0.01, state=opt_b.state)  # as partial_fit rebuilds it
    opt_b.update_params(b, _grads(2))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_adaptive_divides_learning_rate_by_five():
    params = _params()
    opt = SGD(params, 0.1, "adaptive")
    assert opt.trigger_stopping("no progress", verbose=False) is False
    assert opt.learning_rate == pytest.approx(0.02)
    opt.state["learning_rate"] = 1e-7
    assert opt.trigger_stopping("no progress", verbose=False) is True


def test_float32_stays_float32():
    params = [p.astype(np.float32) for p in _params()]
    for cls in (SGD, Adam, RMSProp):
        opt = cls(params, 0.01)
        opt.update_params(params, [g.astype(np.float32) for g in _grads(0)])
        assert all(p.dtype == np.float32 for p in params)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_a_gradient_vector_is_read_as_it_is_and_steps_as_the_copies_do(name, monkeypatch):
    """Given the vector the gradients are views of, the step reads that vector (no copy
    into the optimiser's own) and moves the parameters exactly as from the list."""
    from sknnedu.nn.optimizers import OPTIMIZERS, consecutive_views

    rng = np.random.RandomState(0)
    shapes = [(3, 4), (4,), (4, 2)]
    start = [rng.randn(*s) for s in shapes]
    vector = rng.randn(sum(int(np.prod(s)) for s in shapes))
    grads = consecutive_views(vector, start)
    a, b = [p.copy() for p in start], [p.copy() for p in start]
    opt_a, opt_b = OPTIMIZERS[name](a), OPTIMIZERS[name](b)
    seen = []
    real = type(opt_a)._step
    monkeypatch.setattr(type(opt_a), "_step", lambda self, g: (seen.append(g), real(self, g)))
    for _ in range(3):
        opt_a.update_params(a, grads, vector)
        opt_b.update_params(b, [g.copy() for g in grads])
    assert seen[0] is vector and seen[1] is not vector
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
