"""SequenceCNNClassifier and SequenceCNNRegressor: gradients through the whole estimator
(prediction and training mode), padding, input forms, dtypes, the engine's features,
persistence, batch norm's running statistics and sample weights, learning, and errors."""

import copy
import inspect
import pickle
import warnings

import numpy as np
import pytest
from plain_data import not_plain
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from sknnedu import SequenceCNNClassifier, SequenceCNNRegressor, TextSequencer, gradient_check
from sknnedu.gradcheck import relative_error
from sknnedu.nn.network import pack, unpack
from sknnedu.nn.normalization import BatchNorm, init_norm, init_running
from sknnedu.nn.sequences import SequenceBatch
from sknnedu.persistence import load_model, save_model

RNG = np.random.RandomState(0)
RAGGED = [RNG.randn(RNG.randint(3, 12), 2) for _ in range(40)]
Y_RAGGED = np.array([int(x[:, 0].mean() > 0) for x in RAGGED])
SHORT = [RNG.randn(n, 2) for n in (5, 3, 1, 4, 2, 6, 3, 5)]      # for gradient checks
Y_SHORT = np.array([0, 1, 1, 0, 1, 0, 0, 1])
SW_SHORT = RNG.uniform(0.2, 2.0, len(SHORT))


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def small(cls=SequenceCNNClassifier, **kw):
    kw.setdefault("conv_layers", ((4, 3), (4, 3)))
    kw.setdefault("max_iter", 3)
    kw.setdefault("random_state", 0)
    return cls(**kw)


def _targets(est, X, y):
    return y if isinstance(est, SequenceCNNClassifier) else np.array([x.sum() for x in X])


# ------------------------------------------------------------------------------------------
# gradients
# ------------------------------------------------------------------------------------------
CONFIGS = [
    dict(conv_layers=((3, 3), (3, 2))),                                   # FCN: batch norm
    dict(conv_layers=((3, 3), (3, 2)), batch_norm=False, readout="max"),
    dict(conv_layers=((3, 3), (3, 2)), residual=2),                       # projection 2 -> 3
    dict(conv_layers=((2, 3), (2, 2)), residual=1, batch_norm=False),     # identity skips
    dict(conv_layers=((3, 3, 2), (3, 2, 3)), hidden_layer_sizes=(3,), readout="max"),
]


@pytest.mark.parametrize("cls", [SequenceCNNClassifier, SequenceCNNRegressor])
@pytest.mark.parametrize("kw", CONFIGS)
def test_gradient_check_through_the_estimator(cls, kw):
    est = cls(activation="tanh", alpha=0.01, random_state=0, **kw)
    y = _targets(est, SHORT, Y_SHORT)
    assert gradient_check(est, SHORT, y, sample_weight=SW_SHORT) < 1e-6


def test_gradient_check_of_a_fitted_model_and_of_token_ids():
    fitted = small(activation="tanh", residual=2, max_iter=4).fit(RAGGED, Y_RAGGED)
    assert np.abs(fitted.batch_norm_means_[0]).max() > 0      # running statistics in use
    assert gradient_check(fitted, SHORT, Y_SHORT, sample_weight=SW_SHORT) < 1e-6
    ids = [RNG.randint(2, 7, size=len(x)) for x in SHORT]
    est = small(activation="tanh", embedding_dim=3, conv_layers=((3, 3),))
    assert gradient_check(est, ids, Y_SHORT, sample_weight=SW_SHORT) < 1e-6


def _training_gradient_error(est, X, y, sample_weight, h=1e-6):
    """Backprop against centred differences in *training* mode, where batch norm uses
    (and differentiates) the batch's own weighted statistics; gradient_check evaluates
    the network as it predicts, with the running statistics."""
    est = clone(est)
    data = est._prepare(X, y, sample_weight, first_pass=True)
    net = data.network

    def loss_grad(theta):
        unpack(theta, net.params)
        # the estimator's own step, which hands the batch's weights to batch norm
        loss = est._loss_grad(net, data.X, data.Y, data.sample_weight)
        return loss, pack(net.grads)

    theta = pack(net.params)
    _, analytic = loss_grad(theta)
    numeric = np.empty_like(theta)
    for i in range(theta.size):
        old = theta[i]
        theta[i] = old + h
        plus, _ = loss_grad(theta)
        theta[i] = old - h
        minus, _ = loss_grad(theta)
        theta[i] = old
        numeric[i] = (plus - minus) / (2 * h)
    return float(relative_error(analytic, numeric).max())


@pytest.mark.parametrize("kw", [
    dict(conv_layers=((3, 3), (3, 2))),
    dict(conv_layers=((3, 3), (3, 2, 2)), residual=2, readout="max"),
])
def test_gradients_in_training_mode_through_weighted_batch_statistics(kw):
    est = small(activation="tanh", **kw)
    assert _training_gradient_error(est, SHORT, Y_SHORT, SW_SHORT) < 1e-6


# ------------------------------------------------------------------------------------------
# batch norm with sample weights: frequencies
# ------------------------------------------------------------------------------------------
def _bn(c=3, dtype=np.float64):
    gamma, beta = init_norm(c, dtype)
    gamma += np.linspace(0.5, 1.5, c).astype(dtype)
    return BatchNorm(gamma, beta, *init_running(c, dtype))


def _batch(seqs):
    T = max(len(s) for s in seqs)
    data = np.zeros((T, len(seqs), seqs[0].shape[1]))
    for i, s in enumerate(seqs):
        data[:len(s), i] = s
    return SequenceBatch(data, np.array([len(s) for s in seqs]))


def test_batch_norm_weight_two_is_a_sample_twice_and_zero_its_absence():
    rng = np.random.RandomState(1)
    a, b, c = rng.randn(4, 3), rng.randn(2, 3), rng.randn(5, 3)
    weighted, twice = _bn(), _bn()
    weighted.sample_weight = np.array([2.0, 0.0, 1.0])
    out = weighted.forward(_batch([a, b, c]), training=True).data
    ref = twice.forward(_batch([a, a, c]), training=True).data
    np.testing.assert_allclose(out[:4, 0], ref[:4, 0], rtol=1e-12)
    np.testing.assert_allclose(out[:5, 2], ref[:5, 2], rtol=1e-12)
    assert not out[2:, 1].any()                            # padding stays 0
    for w, t in zip(weighted.state, twice.state):         # running statistics too
        np.testing.assert_allclose(w, t, rtol=1e-12)
    # backward: a loss that weighs each sample's outputs by its weight (as the network's
    # dz[L] does) gives the sample of weight 2 the sum of its two copies' gradients
    R = rng.randn(*out.shape)
    R2 = np.stack([R[:, 0], R[:, 0], R[:, 2]], axis=1)
    R *= weighted.sample_weight[None, :, None]
    dx = weighted.backward(R.copy())
    dx2 = twice.backward(R2.copy())
    np.testing.assert_allclose(dx[:, 0], dx2[:, 0] + dx2[:, 1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dx[:, 2], dx2[:, 2], rtol=1e-10, atol=1e-14)
    # weight 0: as if b were not in the batch
    zero, absent = _bn(), _bn()
    zero.sample_weight = np.array([1.0, 0.0, 1.0])
    out = zero.forward(_batch([a, b, c]), training=True).data
    ref = absent.forward(_batch([a, c]), training=True).data
    np.testing.assert_allclose(out[:, [0, 2]], ref, rtol=1e-12, atol=1e-15)
    for w, t in zip(zero.state, absent.state):
        np.testing.assert_allclose(w, t, rtol=1e-12)


def test_batch_norm_weighted_backward_against_finite_differences():
    rng = np.random.RandomState(2)
    layer = _bn()
    layer.sample_weight = np.array([0.5, 2.0, 0.0, 1.5])
    x = _batch([rng.randn(n, 3) for n in (4, 2, 3, 1)])
    R = rng.randn(*x.data.shape)

    def J():
        return float(np.sum(R * layer.forward(x, training=True).data))

    J()
    analytic = [layer.backward(R.copy()).copy()] + [g.copy() for g in layer.grads]
    for array, grad in zip([x.data] + layer.params, analytic):
        numeric = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            old = array[i]
            array[i] = old + 1e-6
            plus = J()
            array[i] = old - 1e-6
            minus = J()
            array[i] = old
            numeric[i] = (plus - minus) / 2e-6
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_estimator_sample_weights_are_frequencies_with_batch_norm():
    X, y = RAGGED[:12], Y_RAGGED[:12]
    sw = np.array([2, 0, 1, 3, 1, 1, 0, 2, 1, 1, 2, 1])
    rep_X = [x for x, k in zip(X, sw) for _ in range(k)]
    rep_y = np.repeat(y, sw)
    kw = dict(residual=2, max_iter=5)                      # one batch per epoch (auto)
    weighted = small(**kw).fit(X, y, sample_weight=sw)
    repeated = small(**kw).fit(rep_X, rep_y)
    np.testing.assert_allclose(weighted.predict_proba(RAGGED), repeated.predict_proba(RAGGED),
                               rtol=1e-7)
    for a, b in zip(weighted.batch_norm_vars_, repeated.batch_norm_vars_):
        np.testing.assert_allclose(a, b, rtol=1e-7)


# ------------------------------------------------------------------------------------------
# padding, input forms, dtypes
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-10), (np.float32, 1e-5)])
@pytest.mark.parametrize("kw", [
    dict(),
    dict(conv_layers=((4, 3, 2), (5, 5)), residual=2, readout="max", hidden_layer_sizes=(3,)),
    dict(conv_layers=((4, 4), (4, 2, 3)), batch_norm=False),
])
def test_a_sequence_alone_equals_it_in_a_batch(dtype, tol, kw):
    X = [x.astype(dtype) for x in RAGGED]
    clf = small(max_iter=4, **kw).fit(X, Y_RAGGED)
    together = clf.predict_proba(X + [RNG.randn(30, 2).astype(dtype)])[:-1]
    assert together.dtype == dtype
    for i in (0, 5, 17):
        alone = clf.predict_proba([X[i]])
        np.testing.assert_allclose(alone[0], together[i], rtol=tol, atol=tol)
    # in another company and order, and in batches of one: the same numbers
    np.testing.assert_allclose(clf.predict_proba(X[::-1])[::-1], together, rtol=tol, atol=tol)


def test_a_3d_array_a_table_and_lists_are_the_same_data():
    X = RNG.randn(24, 9)
    y = (X[:, 3] > 0).astype(int)
    a = small().fit(X, y).predict_proba(X)
    b = small().fit(X[:, :, None], y).predict_proba(X[:, :, None])
    c = small().fit(list(X[:, :, None]), y).predict_proba(list(X[:, :, None]))
    np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(a, c, rtol=1e-12)
    reg = small(SequenceCNNRegressor).fit(RAGGED, Y_RAGGED.astype(float))
    assert reg.predict(RAGGED).shape == (40,) and reg.n_step_features_ == 2


def test_token_ids_read_through_an_embedding():
    rng = np.random.RandomState(0)
    X = [rng.randint(2, 8, size=rng.randint(1, 10)) for _ in range(40)]
    y = np.array([int(3 in x) for x in X])
    clf = small(embedding_dim=3).fit(X, y)
    assert clf.embeddings_.shape == (8, 3) and clf.conv_kernels_[0].shape == (3, 3, 4)
    assert not clf.embeddings_[0].any()                    # padding id 0: never learnt
    alone = clf.predict_proba([X[3]])
    np.testing.assert_allclose(alone[0], clf.predict_proba(X)[3], rtol=1e-10)


def _text_task(n=80, seed=0):
    """Random letters with 'aaa' or 'bbb' inside: which one."""
    rng = np.random.RandomState(seed)
    texts, y = [], rng.randint(0, 2, n)
    for label in y:
        noise = "".join(rng.choice(list("xyz"), rng.randint(2, 12)))
        k = rng.randint(0, len(noise) + 1)
        texts.append(noise[:k] + ("aaa" if label else "bbb") + noise[k:])
    return texts, y


def test_a_text_pipeline():
    texts, y = _text_task()
    pipe = make_pipeline(TextSequencer(), small(embedding_dim=4, conv_layers=((8, 3),),
                                                max_iter=15, learning_rate_init=0.01))
    pipe.fit(texts[:60], y[:60])
    assert pipe.score(texts[60:], y[60:]) > 0.9


def test_float32_stays_float32():
    X = [x.astype(np.float32) for x in RAGGED]
    clf = small(residual=2, conv_layers=((3, 3), (4, 3))).fit(X, Y_RAGGED)
    arrays = [a for name in clf._param_attrs for a in getattr(clf, name)]
    arrays += clf.batch_norm_means_ + clf.batch_norm_vars_ + [clf.input_mean_,
                                                               clf.input_scale_]
    assert clf.shortcut_weights_ and all(a.dtype == np.float32 for a in arrays)
    assert clf.predict_proba(X).dtype == np.float32
    reg = small(SequenceCNNRegressor).fit(X, Y_RAGGED.astype(np.float32))
    assert reg.predict(X).dtype == np.float32


# ------------------------------------------------------------------------------------------
# the engine's features, persistence
# ------------------------------------------------------------------------------------------
def test_random_state_reproduces_a_fit():
    a = small(residual=2).fit(RAGGED, Y_RAGGED)
    b = small(residual=2).fit(RAGGED, Y_RAGGED)
    c = small(residual=2, random_state=1).fit(RAGGED, Y_RAGGED)
    for x, z in zip(a._params(), b._params()):
        np.testing.assert_array_equal(x, z)
    assert not np.array_equal(a.conv_kernels_[0], c.conv_kernels_[0])


def test_warm_start_and_partial_fit_go_on():
    clf = small(warm_start=True).fit(RAGGED, Y_RAGGED)
    means = [m.copy() for m in clf.batch_norm_means_]
    kernel = clf.conv_kernels_[0].copy()
    clf.fit(RAGGED, Y_RAGGED)
    assert len(clf.loss_curve_) == 6 and not np.array_equal(kernel, clf.conv_kernels_[0])
    assert not np.allclose(means[0], clf.batch_norm_means_[0])
    clf.partial_fit(RAGGED, Y_RAGGED)
    assert len(clf.loss_curve_) == 7
    fresh = small(max_iter=1)
    for _ in range(3):
        fresh.partial_fit(RAGGED, Y_RAGGED, classes=[0, 1])
    assert len(fresh.loss_curve_) == 3


@pytest.mark.parametrize("change", [
    dict(conv_layers=((4, 3), (5, 3))), dict(conv_layers=((4, 3), (4, 3, 2))),
    dict(batch_norm=False), dict(residual=2), dict(readout="max"), dict(embedding_dim=2),
])
def test_warm_start_refuses_another_architecture(change):
    clf = small(warm_start=True).fit(RAGGED, Y_RAGGED)
    before = copy.deepcopy(clf.conv_kernels_)
    clf.set_params(**change)
    with pytest.raises(ValueError, match="architecture changed|embedding_dim changed"):
        clf.fit(RAGGED, Y_RAGGED)
    for a, b in zip(before, clf.conv_kernels_):             # the model is as it was
        np.testing.assert_array_equal(a, b)




@pytest.mark.parametrize("cls", [SequenceCNNClassifier, SequenceCNNRegressor])
def test_persistence_round_trips(cls, tmp_path):
    y = Y_RAGGED if cls is SequenceCNNClassifier else Y_RAGGED + 0.5
    est = small(cls, residual=2, conv_layers=((3, 3), (4, 3)), early_stopping=True,
                max_iter=4).fit(RAGGED, y)
    assert not_plain({k: v for k, v in vars(est).items()
                       if k not in est.get_params()}) == []
    save_model(est, tmp_path / "m.skops")
    for back in (load_model(tmp_path / "m.skops"), pickle.loads(pickle.dumps(est))):
        assert type(back) is cls
        np.testing.assert_array_equal(back.predict(RAGGED), est.predict(RAGGED))
        back.set_params(warm_start=True, early_stopping=False).fit(RAGGED, y)   # trains on


def test_the_source_of_every_class_can_be_read():
    for cls in (SequenceCNNClassifier, SequenceCNNRegressor):
        assert f"class {cls.__name__}(" in inspect.getsource(cls)


# ------------------------------------------------------------------------------------------
# batch norm's running statistics
# ------------------------------------------------------------------------------------------
def test_running_statistics_are_learned_and_used_at_predict():
    clf = small(conv_layers=((4, 3), (5, 3))).fit(RAGGED, Y_RAGGED)
    for name in ("batch_norm_scales_", "batch_norm_offsets_", "batch_norm_means_",
                 "batch_norm_vars_"):
        assert [a.shape for a in getattr(clf, name)] == [(4,), (5,)]
    assert all(np.abs(m).max() > 0 for m in clf.batch_norm_means_)        # moved from 0
    assert all(np.abs(v - 1).max() > 0 for v in clf.batch_norm_vars_)     # and from 1
    P = clf.predict_proba(RAGGED)
    np.testing.assert_array_equal(P, clf.predict_proba(RAGGED))           # deterministic
    np.testing.assert_allclose(clf.predict_proba(RAGGED[:3]), P[:3], rtol=1e-10)
    clf.batch_norm_means_[1] += 1.0                                       # they are used
    assert np.abs(clf.predict_proba(RAGGED) - P).max() > 1e-3
    # every fitted array once in what early stopping keeps, the running statistics too
    ids = [id(a) for a in clf._params()]
    assert len(ids) == len(set(ids))
    assert {id(a) for a in clf.batch_norm_means_ + clf.batch_norm_vars_} <= set(ids)
    none = small(batch_norm=False).fit(RAGGED, Y_RAGGED)
    assert none.batch_norm_means_ == none.batch_norm_scales_ == []


def test_fitted_arrays_have_the_documented_layout():
    clf = small(conv_layers=((3, 5), (4, 3, 2), (4, 3), (6, 3)), residual=2,
                hidden_layer_sizes=(5,)).fit(RAGGED, Y_RAGGED)
    assert [W.shape for W in clf.conv_kernels_] == [(5, 2, 3), (3, 3, 4), (3, 4, 4),
                                                    (3, 4, 6)]
    assert [b.shape for b in clf.conv_intercepts_] == [(3,), (4,), (4,), (6,)]
    assert [P.shape for P in clf.shortcut_weights_] == [(2, 4), (4, 6)]
    assert clf.dilations_ == [1, 2, 1, 1]
    assert [c.shape for c in clf.coefs_] == [(6, 5), (5, 1)]


# ------------------------------------------------------------------------------------------
# learning
# ------------------------------------------------------------------------------------------
def _pulses(n, seed):
    """Series of 20-40 steps of noise with one pulse up (1) or down (0) somewhere."""
    rng = np.random.RandomState(seed)
    X, y = [], rng.randint(0, 2, n)
    for label in y:
        x = rng.randn(rng.randint(20, 41), 1) * 0.3
        t = rng.randint(0, len(x) - 3)
        x[t:t + 3, 0] += 2.0 if label else -2.0
        X.append(x)
    return X, y


def test_learns_where_the_pulse_points():
    X, y = _pulses(200, 0)
    clf = SequenceCNNClassifier(((8, 3), (8, 3)), max_iter=10, learning_rate_init=0.01,
                                random_state=0).fit(X[:150], y[:150])
    assert clf.score(X[150:], y[150:]) > 0.95


def test_regresses_the_maximum_of_a_series():
    rng = np.random.RandomState(0)
    X = [rng.randn(rng.randint(10, 30), 1) for _ in range(200)]
    y = np.array([x.max() for x in X])
    reg = SequenceCNNRegressor(((8, 3),), readout="max", max_iter=30, learning_rate_init=0.01,
                               random_state=0).fit(X[:150], y[:150])
    assert reg.score(X[150:], y[150:]) > 0.8


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("params, match", [
    (dict(conv_layers=()), "conv_layers must be a non-empty sequence"),
    (dict(conv_layers="abc"), "conv_layers must be a non-empty sequence"),
    (dict(conv_layers=(8, 3)), r"conv_layers\[0\] must be \(filters, kernel\)"),
    (dict(conv_layers=((8, 3), (8,))), r"conv_layers\[1\] must be .*got \(8,\)"),
    (dict(conv_layers=((8, 0),)), r"conv_layers\[0\] .*ints >= 1"),
    (dict(conv_layers=((8, 3, 1, 1),)), r"conv_layers\[0\]"),
    (dict(conv_layers=((8.5, 3),)), r"conv_layers\[0\]"),
    (dict(residual=2, conv_layers=((4, 3),) * 3), "residual blocks of 2 layers need a "
                                                  "multiple of 2 conv_layers; got 3"),
    (dict(residual=-1), "residual must be True, False or the number of layers"),
    (dict(residual=1.5), "residual must be"),
    (dict(batch_norm="yes"), "batch_norm must be True or False"),
    (dict(readout="mean"), r"readout must be one of \['avg', 'max'\]"),
    (dict(clip_norm=0.0), "clip_norm"),
    (dict(embedding_dim=0), "embedding_dim must be None or an int >= 1"),
])
def test_bad_parameters_get_a_clear_error(params, match):
    with pytest.raises(ValueError, match=match):
        small(**params).fit(RAGGED, Y_RAGGED)


def test_a_feature_count_at_predict_that_differs_from_fit():
    clf = small().fit(RAGGED, Y_RAGGED)
    with pytest.raises(ValueError, match="3 features per step.*expecting 2"):
        clf.predict([RNG.randn(4, 3)])
