"""sknnedu.nn.threads: one thread splitter, safe in forked processes (hardening item 2).

A fitted CNNClassifier used to hang forever in a child made by ``fork``: the child
inherited the process-wide ThreadPoolExecutor without its threads and waited at
``future.result()``. Every test that forks waits with a timeout, so that a hang fails
instead of hanging the suite.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sknnedu import CNNClassifier, ConvFeatureTransformer, NNClassifier, NNRegressor
from sknnedu.nn import threads
from sknnedu.nn.conv_layers import Conv2D, Flatten, Pool2D
from sknnedu.nn.layers import Dense

FORK = "fork" in multiprocessing.get_all_start_methods()
needs_fork = pytest.mark.skipif(not FORK, reason="no fork start method on this platform")
# Python >= 3.12 warns that forking a process with threads may deadlock: that is the point
quiet_fork = pytest.mark.filterwarnings("ignore:.*multi-threaded.*fork:DeprecationWarning")
TIMEOUT = 120  # seconds; the work itself takes about one


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600]


@pytest.fixture
def two_threads(monkeypatch):
    """Two worker threads whatever the machine, so that the pool is used (and inherited)."""
    monkeypatch.setattr(threads, "N_THREADS", 2)


def fitted(digits, make):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make().fit(X[:500], y[:500])


MODELS = {
    "CNNClassifier": lambda: CNNClassifier(((8, 3),), (16,), max_iter=2, random_state=0),
    "ConvFeatureTransformer": lambda: ConvFeatureTransformer(image_shape=(8, 8)),
    "NNClassifier": lambda: NNClassifier((16,), max_iter=2, random_state=0),
    "NNRegressor": lambda: NNRegressor(hidden_layer_sizes=(16,), max_iter=2, random_state=0),
}

_in_child: dict = {}  # the model a forked child uses (inherited, not pickled)


def _use_in_child(_):
    model, X = _in_child["model"], _in_child["X"]
    return model.transform(X) if hasattr(model, "transform") else model.predict(X)


# ----------------------------------------------------------------------------------------
# fork
# ----------------------------------------------------------------------------------------
@needs_fork
@quiet_fork
@pytest.mark.parametrize("name", sorted(MODELS))
def test_a_fitted_model_works_in_forked_children(digits, two_threads, name):
    model = fitted(digits, MODELS[name])
    X = digits[0]
    expected = model.transform(X) if hasattr(model, "transform") else model.predict(X)
    if name in ("CNNClassifier", "ConvFeatureTransformer"):
        assert threads._pool["executor"] is not None  # the parent's pool is inherited
    _in_child.update(model=model, X=X)
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            results = pool.map_async(_use_in_child, range(2)).get(timeout=TIMEOUT)
    finally:
        _in_child.clear()
    for result in results:
        np.testing.assert_array_equal(result, expected)


@needs_fork
@quiet_fork
def test_cnn_predict_in_a_fork_pool_the_issue_example(digits, two_threads):
    """Hardening item 2, as reported: ``pool.map(work, range(2))`` never returned."""
    cnn = fitted(digits, MODELS["CNNClassifier"])
    X = digits[0]
    _in_child.update(model=cnn, X=X)
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            out = pool.map_async(_use_in_child, range(2)).get(timeout=TIMEOUT)
    finally:
        _in_child.clear()
    assert all(np.array_equal(o, cnn.predict(X)) for o in out)


@needs_fork
def test_cross_val_score_with_joblib_multiprocessing_backend():
    """cross_val_score(n_jobs=2) under joblib's 'multiprocessing' backend (forked workers),
    after the parent has used its thread pool; run in a subprocess with a timeout."""
    code = textwrap.dedent("""
        import warnings
        import joblib
        from sklearn.datasets import load_digits
        from sklearn.model_selection import cross_val_score
        from sklearn.pipeline import make_pipeline
        from sknnedu import CNNClassifier, ConvFeatureTransformer, NNClassifier
        from sknnedu.nn import threads

        warnings.simplefilter("ignore")
        threads.N_THREADS = 2
        X, y = load_digits(return_X_y=True)
        X, y = X[:300], y[:300]
        cnn = CNNClassifier(((4, 3),), (8,), max_iter=2, random_state=0)
        cnn.fit(X, y).predict(X)  # the parent's pool exists before the workers fork
        assert threads._pool["executor"] is not None
        pipe = make_pipeline(ConvFeatureTransformer(image_shape=(8, 8)),
                             NNClassifier((8,), max_iter=2, random_state=0))
        for model in (cnn, pipe):
            alone = cross_val_score(model, X, y, cv=3)
            with joblib.parallel_config(backend="multiprocessing"):
                forked = cross_val_score(model, X, y, cv=3, n_jobs=2)
            assert (forked == alone).all(), (forked, alone)
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT * 2)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


@needs_fork
@quiet_fork
def test_a_forked_child_makes_its_own_pool_and_forgets_blas_blocks(two_threads):
    threads.run_parts(16, 2, lambda start, stop, part: None)
    parent_pool = threads._pool["executor"]
    ctx = multiprocessing.get_context("fork")
    with threads.single_threaded():  # a block open in the parent while it forks
        with ctx.Pool(1) as pool:
            state = pool.apply_async(_child_state).get(timeout=TIMEOUT)
    assert state == {"pool": None, "depth": 0, "ran": [0, 1]}
    assert threads._pool["executor"] is parent_pool


def _child_state():
    state = {"pool": threads._pool["executor"], "depth": threads._blas["depth"]}
    ran = []
    threads.run_parts(16, 2, lambda start, stop, part: ran.append(part))
    return {**state, "ran": sorted(ran)}


# ----------------------------------------------------------------------------------------
# the splitter
# ----------------------------------------------------------------------------------------
def test_run_parts_gives_every_sample_once_and_raises_the_first_error(two_threads):
    seen = np.zeros(37, dtype=int)
    threads.run_parts(37, 3, lambda start, stop, part: seen.__setitem__(slice(start, stop), 1))
    assert seen.all()

    finished = []

    def work(start, stop, part):
        if part == 0:
            raise ArithmeticError("part 0")
        finished.append(part)

    with pytest.raises(ArithmeticError, match="part 0"):
        threads.run_parts(30, 3, work)
    assert sorted(finished) == [1, 2]  # the other parts ran to their end before the error


def test_work_that_splits_again_runs_inline_in_a_worker(two_threads):
    inner = []

    def work(start, stop, part):
        inner.append(threads.n_workers(100))
        threads.run_chunks(10, 1, lambda a, b, bufs: None, dict)  # no deadlock, no new pool

    threads.run_parts(16, 2, work)
    assert inner == [1, 1]
    assert threads.n_workers(100) == 2


def test_n_parts_and_n_workers_follow_the_settings(monkeypatch):
    monkeypatch.setattr(threads, "N_THREADS", 3)
    monkeypatch.setattr(threads, "MIN_PART", 8)
    assert [threads.n_parts(m) for m in (1, 8, 16, 24, 1000)] == [1, 1, 2, 3, 3]
    monkeypatch.setattr(threads, "N_THREADS", 100)
    assert threads.n_workers(1000) == threads.MAX_THREADS
    monkeypatch.setattr(threads, "N_THREADS", None)
    monkeypatch.setattr(threads, "blas_threads", lambda: 5)
    assert threads.n_workers(4) == 4


def test_single_threaded_blocks_nest_across_threads():
    outer = threads.blas_threads()
    barrier = threading.Barrier(2)

    def block():
        with threads.single_threaded():
            barrier.wait(timeout=30)
            assert threads.blas_threads() == outer  # the count from before the blocks

    workers = [threading.Thread(target=block) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert threads._blas["depth"] == 0
    assert threads._read_blas_threads() == outer  # restored by the last to leave


def test_step_blas_decides_from_the_layers_costs():
    rng = np.random.default_rng(0)
    small = Dense(rng.random((64, 32)), np.zeros(32), "relu")
    big = Dense(rng.random((1000, 1000)), np.zeros(1000), "relu")
    conv_layer = Conv2D(rng.random((4, 3, 3, 1)), np.zeros(4), input_hw=(8, 8))
    single = type(threads.single_threaded())
    assert isinstance(threads.step_blas([small], 200), single)  # 200 * 2048 < 4e6
    assert not isinstance(threads.step_blas([big], 200), single)
    assert isinstance(threads.step_blas([conv_layer, Pool2D(), Flatten(), big], 200), single)
    assert conv_layer.flops == 8 * 8 * 4 * 3 * 3 * 1  # a layer reports its cost


def test_threaded_chunks_stop_at_the_first_error(monkeypatch):
    monkeypatch.setattr(threads, "N_THREADS", 2)
    done = []

    def work(start, stop, bufs):
        if start == 3:
            raise ArithmeticError("chunk 3")
        done.append(start)

    with pytest.raises(ArithmeticError, match="chunk 3"):
        threads.run_chunks(1000, 1, work, dict)
    assert len(done) < 999  # the other thread stopped too
