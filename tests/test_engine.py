"""The engine's structure: batches from any container of rows, gradient clipping, the
order of the random draws, one preparation shared with gradient_check, the training
state that lives only during a call.

(The numbers of every training path are pinned in test_snapshots.py.)
"""

import inspect
import re
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
from quiet_fits import quiet
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

from sknnedu import (
    CNNClassifier,
    NNClassifier,
    NNRegressor,
    TrainingDivergedError,
    gradcheck,
    gradient_check,
)
from sknnedu.engine import BaseNetwork
from sknnedu.nn.network import batches

DIGITS_X, DIGITS_Y = load_digits(return_X_y=True)
X, Y = DIGITS_X[:300] / 16, DIGITS_Y[:300]


# ------------------------------------------------------------------------ batches


class Rows:
    """A container of rows that is neither an ndarray nor a sparse matrix: X[rows] is
    the batch (as the recurrent estimators' sequences are)."""

    def __init__(self, a):
        self.a, self.shape, self.dtype = a, a.shape, a.dtype
        self.seen = []

    def __getitem__(self, rows):
        self.seen.append(rows)
        return self.a[rows]


@pytest.mark.parametrize("shuffle", [False, True])
def test_batches_of_any_container_are_taken_by_indexing(shuffle):
    rows = Rows(X[:23])
    order = np.random.RandomState(0).permutation(23) if shuffle else None
    got = list(batches(rows, order, 10))
    assert [len(b) for _, b in got] == [10, 10, 3]
    for (index, batch), seen in zip(got, rows.seen):
        assert seen is index
        np.testing.assert_array_equal(batch, X[:23][index])
    if shuffle:
        np.testing.assert_array_equal(np.concatenate([i for i, _ in got]), order)
    else:
        assert [i for i, _ in got] == [slice(0, 10), slice(10, 20), slice(20, 23)]


@pytest.mark.parametrize("kind", ["dense", "csr"])
def test_batches_of_arrays_gather_into_the_buffer(kind):
    data = X[:23] if kind == "dense" else sp.csr_matrix(X[:23])
    order = np.random.RandomState(0).permutation(23)
    buffer = np.empty((10, 64)) if kind == "dense" else None
    for index, batch in batches(data, order, 10, buffer):
        dense = batch if kind == "dense" else batch.toarray()
        np.testing.assert_array_equal(dense, X[:23][index])
        if kind == "dense":
            assert np.shares_memory(batch, buffer)


class RowsClassifier(NNClassifier):
    """NNClassifier whose validated X is a :class:`Rows` container."""

    def _validate_X_y(self, X, y, reset):
        X, y = super()._validate_X_y(X, y, reset)
        return Rows(X), y


@pytest.mark.parametrize("params", [dict(), dict(shuffle=False),
                                    dict(early_stopping=True, dropout=0.2)])
def test_a_container_of_rows_trains_as_the_array(params):
    kw = dict(hidden_layer_sizes=(8,), max_iter=4, batch_size=32, random_state=0, **params)
    ours = quiet(RowsClassifier(**kw), "fit", X, Y)
    ref = quiet(NNClassifier(**kw), "fit", X, Y)
    for a, b in zip(ours._params(), ref._params()):
        np.testing.assert_array_equal(a, b)
    assert ours.loss_curve_ == ref.loss_curve_


# ----------------------------------------------------------------------- clipping


class ClippedRegressor(NNRegressor):
    """NNRegressor with the recurrent estimators' clip_norm."""

    def __init__(self, clip_norm=None, hidden_layer_sizes=(8,), solver="sgd",
                 learning_rate_init=0.1, momentum=0.0, max_iter=3, random_state=0):
        super().__init__(hidden_layer_sizes=hidden_layer_sizes, solver=solver,
                         learning_rate_init=learning_rate_init, momentum=momentum,
                         max_iter=max_iter, random_state=random_state)
        self.clip_norm = clip_norm


def _step_norms(est, monkeypatch):
    """The global gradient norm of every step that fit takes."""
    from sknnedu.nn.optimizers import OPTIMIZERS

    norms = []
    real = OPTIMIZERS["sgd"].update_params

    def spy(self, params, grads, *vector):
        norms.append(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
        return real(self, params, grads, *vector)

    monkeypatch.setattr(OPTIMIZERS["sgd"], "update_params", spy)
    quiet(est, "fit", X, Y / 9.0)
    return np.array(norms)


def test_clip_norm_bounds_the_global_gradient_norm(monkeypatch):
    free = _step_norms(ClippedRegressor(), monkeypatch)
    clipped = _step_norms(ClippedRegressor(clip_norm=0.05), monkeypatch)
    assert free.max() > 0.05
    assert clipped.max() <= 0.05 * (1 + 1e-9)
    # no clip_norm (None, or the attribute absent): the estimator's own numbers
    plain = quiet(NNRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.1,
                              momentum=0.0, max_iter=3, random_state=0), "fit", X, Y / 9.0)
    unclipped = quiet(ClippedRegressor(), "fit", X, Y / 9.0)
    for a, b in zip(plain._params(), unclipped._params()):
        np.testing.assert_array_equal(a, b)


def test_clip_without_a_gradient_vector():
    # layers of different dtypes keep their own gradient arrays (grad_vector is None)
    est = ClippedRegressor(clip_norm=1.0)
    grads = [np.full(4, 3.0), np.full(2, 4.0, dtype=np.float32)]
    net = SimpleNamespace(grad_vector=None, grads=grads)
    est._clip(net)
    total = np.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    assert total == pytest.approx(1.0)
    assert grads[1].dtype == np.float32


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, "1", True])
def test_clip_norm_is_checked(bad):
    with pytest.raises(ValueError, match="clip_norm must be None or a float > 0"):
        ClippedRegressor(clip_norm=bad).fit(X, Y / 9.0)


# ------------------------------------------------------------ the order of the draws


@pytest.mark.parametrize("target", ["multiclass", "binary"])
def test_the_random_draws_are_mlpclassifiers(target):
    # the weights, the validation split (stratified for a binary y), then every epoch's
    # shuffle: the same stream in the same order as MLPClassifier, so the same model
    y = Y if target == "multiclass" else Y % 2
    params = dict(hidden_layer_sizes=(16,), max_iter=6, early_stopping=True,
                  n_iter_no_change=100, batch_size=50, random_state=0)
    ours = quiet(NNClassifier(init="glorot", **params), "fit", X, y)
    ref = quiet(MLPClassifier(**params), "fit", X, y)
    np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-9)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


# --------------------------------------------------- one preparation, shared with gradcheck


def test_gradient_check_prepares_as_fit_does(monkeypatch):
    calls = []
    real = BaseNetwork._prepare

    def spy(self, *args, **kwargs):
        calls.append(kwargs.get("first_pass"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(BaseNetwork, "_prepare", spy)
    gradient_check(NNClassifier((4,), random_state=0), X[:20], Y[:20], n_params=5)
    assert calls == [True]
    # and calls no other private method of the estimator
    source = inspect.getsource(gradcheck)
    assert set(re.findall(r"\best\._(\w+)", source)) == {"prepare", "param_attrs"}


# -------------------------------------------------- the training state lives in one call


def test_the_running_state_is_gone_after_a_call():
    est = quiet(NNClassifier((4,), max_iter=2, random_state=0), "fit", X, Y)
    assert not hasattr(est, "_state")
    assert set(est._train_state) == {"optimizer", "no_improvement_count", "runaway_epochs"}
    est.set_params(learning_rate_init=1e6, solver="sgd", warm_start=True)
    with pytest.raises(TrainingDivergedError):
        quiet(est, "fit", X * 100, Y)
    assert not hasattr(est, "_state")


# ------------------------------------------------------------------ hardening, round four


def _ragged(lengths, seed=0):
    rng = np.random.RandomState(seed)
    seqs = [rng.randn(n, 2) for n in lengths]
    return seqs, np.array([s[:, 0].sum() for s in seqs])


def _loss_and_grad(net, data, chunks):
    from sknnedu.nn.network import pack

    if chunks is None:
        loss = net.loss_grad(data.X, data.Y, data.sample_weight, training=False)
    else:
        loss = net.loss_grad_in_chunks(data.X, data.Y, data.sample_weight, chunks)
    return loss, pack(net.grads)


@pytest.mark.parametrize("case", ["sequences", "dense", "dense float32"])
def test_r4_11_the_full_batch_in_chunks_is_the_whole_batch(case):
    from sknnedu import RNNRegressor
    from sknnedu.nn.network import row_chunks

    if case == "sequences":
        est = RNNRegressor((3,), alpha=0.3, random_state=0)
        X_, y_ = _ragged([5, 3, 1, 7, 2, 4, 6, 1, 3, 2, 5])
    else:
        est = NNClassifier((5,), alpha=0.3, random_state=0)
        X_, y_ = X[:11], Y[:11]
        if case == "dense float32":
            X_ = X_.astype(np.float32)
    sw = np.linspace(0.0, 2.0, 11)
    sw[[4, 5, 6]] = 0  # a chunk of zero weight adds nothing
    data = est._prepare(X_, y_, sw)
    chunks = row_chunks(data.X, 3)
    assert sorted(np.concatenate([np.arange(11)[c] for c in chunks]).tolist()) == list(range(11))
    assert all(np.arange(11)[c].size <= 3 for c in chunks)
    whole, g_whole = _loss_and_grad(data.network, data, None)
    chunked, g_chunked = _loss_and_grad(data.network, data, chunks)
    tol = 1e-5 if case == "dense float32" else 1e-10
    assert chunked == pytest.approx(whole, rel=tol)
    np.testing.assert_allclose(g_chunked, g_whole, rtol=tol, atol=tol * np.abs(g_whole).max())


def test_r4_11_lbfgs_holds_one_chunk_of_similar_lengths(monkeypatch):
    # one long sequence among short ones: the whole batch was padded to its length
    from sknnedu import RNNRegressor
    from sknnedu.nn.network import Network

    seen = []
    real = Network.forward

    def spy(self, X_batch, training=False):
        seen.append(X_batch.shape[:2])  # (sequences, longest)
        return real(self, X_batch, training)

    monkeypatch.setattr(Network, "forward", spy)
    X_, y_ = _ragged([5, 2, 40, 3, 5, 4, 3, 5, 2, 5, 3, 4, 5])
    est = RNNRegressor((3,), solver="lbfgs", max_iter=2, random_state=0)
    est._predict_chunk = 4
    quiet(est, "fit", X_, y_)
    assert seen and {m for m, _ in seen} <= {1, 4}
    assert {T for _, T in seen} == {3, 5, 40}  # lengths [2 2 3 3] [3 4 4 5] [5 5 5 5] [40]


def test_r4_13_early_stopping_validates_in_training_batches(monkeypatch):
    # the RNN's 'auto' batch is 32 sequences: validation took 200 at a time
    from sknnedu import RNNClassifier
    from sknnedu.nn.network import Network

    seen = []
    real = Network.forward

    def spy(self, X_batch, training=False):
        seen.append(X_batch.shape[0])
        return real(self, X_batch, training)

    monkeypatch.setattr(Network, "forward", spy)
    X_, y_ = _ragged([3, 1, 4, 2] * 20)
    clf = RNNClassifier((2,), early_stopping=True, validation_fraction=0.5, max_iter=2,
                        random_state=0)
    quiet(clf, "fit", X_, y_ > 0)
    assert max(seen) == 32 and len(clf.validation_scores_) == 2


def test_r4_13_validation_in_order_of_length_keeps_each_prediction_its_row():
    from sknnedu import RNNRegressor
    from sknnedu._training_state import TrainState

    X_, y_ = _ragged([5, 1, 3, 2, 4, 1, 6, 2])
    reg = quiet(RNNRegressor((3,), max_iter=3, random_state=0), "fit", X_, y_)
    seqs = reg._validate_X(X_)
    reg._state = TrainState()
    reg.validation_scores_, reg.validation_loss_curve_ = [], []
    reg.best_validation_score_ = -np.inf
    net = reg._network()
    reg._update_no_improvement_count(net, (seqs, y_[:, None], y_, None), 3)
    assert reg.validation_scores_ == [pytest.approx(reg.score(X_, y_), rel=1e-12)]


# ------------------ hardening item 5: warm_start with early stopping keeps this fit's best epoch


X400, Y400 = DIGITS_X[:400] / 16, DIGITS_Y[:400]


def tiny_cnn(**kw):
    return CNNClassifier(**{"conv_layers": ((4, 3),), "hidden_layer_sizes": (16,),
                            "random_state": 0, **kw})


@pytest.mark.parametrize("make", [
    lambda: NNClassifier((32,), max_iter=60, learning_rate_init=0.01, random_state=0),
    lambda: NNRegressor(hidden_layer_sizes=(32,), max_iter=60, learning_rate_init=0.01,
                        random_state=0),
    lambda: tiny_cnn(max_iter=30, learning_rate_init=0.01),
], ids=["NNClassifier", "NNRegressor", "CNNClassifier"])
def test_a_warm_started_fit_with_early_stopping_keeps_its_own_best_epoch(make):
    # a second task, learnt in 3 epochs to below the first task's best validation score:
    # its weights were discarded for those of the start of the fit
    est = make().set_params(early_stopping=True)
    target = Y400 / 9.0 if isinstance(est, NNRegressor) else Y400
    quiet(est, "fit", X400, target)
    upside_down = X400.reshape(-1, 8, 8)[:, ::-1].reshape(len(X400), -1)
    n_before, before = len(est.validation_scores_), est.score(upside_down, target)
    quiet(est.set_params(warm_start=True, max_iter=3), "fit", upside_down, target)
    assert est.best_validation_score_ == max(est.validation_scores_[n_before:])
    assert est.score(upside_down, target) > before + 0.05
