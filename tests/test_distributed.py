"""Running in parallel and distributed: dask clusters, pickling, handles, BLAS threads.

``GridSearchCV(..., n_jobs=-1)`` over a Pipeline of both estimators runs on a real
``dask.distributed`` ``LocalCluster`` (loopback only) through joblib's dask backend and finds
what the local search finds. What makes that work is checked directly too: fitted estimators
pickle (with pickle and cloudpickle, as dask does) to identical predictions, leave no files or
threads open, and do not touch the BLAS thread pools (``threadpoolctl``), so a limit set around
them, as joblib and dask set in their workers, holds.
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import re
import subprocess
import sys
import threading
import warnings
from contextlib import contextmanager

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_info, threadpool_limits

from sknnedu import NNClassifier
from sknnedu.feature_extraction import ConvFeatureTransformer

GRID = {
    "conv__pooling": ["max", "avg"],
    "nn__alpha": [1e-4, 1.0],
    "nn__hidden_layer_sizes": [(8,), (24,)],
}
GRID_CANDIDATES = list(itertools.product(*GRID.values()))
CV = 3


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:360] / 16, y[:360]


def pipeline() -> Pipeline:
    return Pipeline([
        ("conv", ConvFeatureTransformer(image_shape=(8, 8))),
        ("nn", NNClassifier((16,), max_iter=25, random_state=0)),
    ])


def search(X, y) -> GridSearchCV:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GridSearchCV(pipeline(), GRID, cv=CV, n_jobs=-1).fit(X, y)


@pytest.fixture(scope="module")
def local_search(digits):
    with joblib.parallel_config(backend="loky"):
        return search(*digits)


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {
            "pipeline": pipeline().fit(X, y),
            "kmeans_pipeline": Pipeline([
                ("conv", ConvFeatureTransformer("kmeans", n_filters=4, image_shape=(8, 8),
                                                random_state=0)),
                ("nn", NNClassifier([(16, "tanh"), (8, "leakyrelu")], solver="rmsprop",
                                    dropout=0.1, max_iter=10, random_state=0)),
            ]).fit(X, y),
            "lbfgs": NNClassifier((16,), solver="lbfgs", max_iter=30, random_state=0).fit(X, y),
            "early_stopping": NNClassifier((16,), early_stopping=True, max_iter=30,
                                           random_state=0).fit(X, y),
        }


# ------------------------------------------------------------------------------------------
# a grid search on a dask.distributed cluster
# ------------------------------------------------------------------------------------------
@contextmanager
def environ_restored():
    """Put os.environ back as it was: dask's nannies set OMP_NUM_THREADS=1 & co. in this
    process to pass them to the workers, and leave them set."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_grid_search_on_a_dask_cluster_matches_the_local_search(digits, local_search,
                                                                processes):
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    X, y = digits
    with environ_restored(), distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=processes, protocol="tcp",
        host="127.0.0.1", dashboard_address=None, worker_dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as tasks, joblib.parallel_config(
                backend="dask"):
            remote = search(X, y)
        # every fit ran on the cluster's workers: joblib sends batches of _fit_and_score
        # calls, named like 'batch_of__fit_and_score_2_calls-<hash>'
        calls = [re.search(r"_fit_and_score_(\d+)_calls", str(t["key"])) for t in tasks.data]
        assert sum(int(m.group(1)) for m in calls if m) == len(GRID_CANDIDATES) * CV
        assert {t["worker"] for t in tasks.data} <= set(client.scheduler_info()["workers"])
        if processes:
            # dask's nannies start workers with one BLAS thread each: no oversubscription
            blas = client.run(lambda: [p["num_threads"] for p in threadpool_info()
                                       if p["user_api"] == "blas"])
            assert all(n == 1 for threads in blas.values() for n in threads)
    assert remote.best_params_ == local_search.best_params_
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local_search.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(remote.predict_proba(X), local_search.predict_proba(X))


# ------------------------------------------------------------------------------------------
# pickling
# ------------------------------------------------------------------------------------------
def dumps_with(how: str, obj) -> bytes:
    if how == "cloudpickle":
        cloudpickle = pytest.importorskip("cloudpickle")
        return cloudpickle.dumps(obj)
    return pickle.dumps(obj, protocol=int(how))


@pytest.mark.parametrize("how", ["2", str(pickle.DEFAULT_PROTOCOL),
                                 str(pickle.HIGHEST_PROTOCOL), "cloudpickle"])
@pytest.mark.parametrize("name", ["pipeline", "kmeans_pipeline", "lbfgs", "early_stopping"])
def test_pickle_round_trip_predicts_identically(fitted, digits, name, how):
    X, y = digits
    model = fitted[name]
    copy = pickle.loads(dumps_with(how, model))
    assert type(copy) is type(model)
    np.testing.assert_array_equal(copy.predict(X), model.predict(X))
    np.testing.assert_array_equal(copy.predict_proba(X), model.predict_proba(X))
    if isinstance(model, Pipeline):
        np.testing.assert_array_equal(copy[0].transform(X), model[0].transform(X))
    assert copy.score(X, y) == model.score(X, y)


def test_pickle_round_trip_of_an_unfitted_pipeline_fits_identically(digits):
    X, y = digits
    a, b = pipeline(), pickle.loads(pickle.dumps(pipeline()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a.fit(X, y)
        b.fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_training_continues_identically_after_a_pickle_round_trip(digits):
    """partial_fit keeps optimiser state (Adam moments, t_) that must survive pickling."""
    X, y = digits
    clf = NNClassifier((16,), random_state=0)
    clf.partial_fit(X[:180], y[:180], classes=np.arange(10))
    copy = pickle.loads(pickle.dumps(clf))
    for model in (clf, copy):
        for _ in range(3):
            model.partial_fit(X[180:], y[180:])
    for wa, wb in zip(clf.coefs_ + clf.intercepts_, copy.coefs_ + copy.intercepts_,
                      strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_joblib_dump_and_load(fitted, digits, tmp_path):
    X, _ = digits
    path = tmp_path / "model.joblib"
    joblib.dump(fitted["kmeans_pipeline"], path)
    np.testing.assert_array_equal(joblib.load(path).predict_proba(X),
                                  fitted["kmeans_pipeline"].predict_proba(X))


# ------------------------------------------------------------------------------------------
# no open handles
# ------------------------------------------------------------------------------------------
def open_files() -> set[str]:
    """Paths of this process's open file descriptors (Linux), else empty."""
    fd_dir = "/proc/self/fd"
    if not os.path.isdir(fd_dir):
        return set()
    paths = set()
    for fd in os.listdir(fd_dir):
        try:
            paths.add(os.readlink(os.path.join(fd_dir, fd)))
        except OSError:  # closed meanwhile (the listing's own descriptor)
            pass
    return paths


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc (Linux)")
def test_fit_predict_save_and_load_leave_no_open_handles(digits, tmp_path):
    from sknnedu.persistence import load_model, save_model

    X, y = digits
    np.save(tmp_path / "X.npy", X)
    X_mm = np.load(tmp_path / "X.npy", mmap_mode="r")  # opened before the snapshot
    files, threads = open_files(), set(threading.enumerate())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = clone(pipeline()).fit(X_mm, y)
        model.predict(X_mm)
        clone(pipeline()).set_params(conv__filters="kmeans", conv__random_state=0).fit(X, y)
        NNClassifier((8,), random_state=0).partial_fit(X_mm, y, classes=np.arange(10))
    save_model(model, tmp_path / "model.skops")
    load_model(tmp_path / "model.skops")
    pickle.loads(pickle.dumps(model))
    assert open_files() <= files, f"left open: {open_files() - files}"
    new_threads = set(threading.enumerate()) - threads
    assert not [t for t in new_threads if t.is_alive()], f"threads left: {new_threads}"
    del X_mm


# ------------------------------------------------------------------------------------------
# BLAS threads
# ------------------------------------------------------------------------------------------
def pools() -> dict[str, int]:
    """The thread count of every loaded BLAS/OpenMP library, by file."""
    return {p["filepath"]: p["num_threads"] for p in threadpool_info()}


def test_fit_and_predict_leave_the_thread_pools_as_they_were(digits, fitted):
    X, y = digits
    before = pools()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for model in fitted.values():
            clone(model).fit(X, y).predict(X)
        NNClassifier((8,), random_state=0).partial_fit(X, y, classes=np.arange(10))
    after = pools()
    assert {f: n for f, n in after.items() if f in before} == before


#: Two fits in two threads, interleaved for sure: A starts, B starts while A is inside its
#: fit, A finishes, then B. (Each waits in its first forward pass.) Prints the BLAS thread
#: counts before and after, as JSON. Run in a subprocess: threadpoolctl lets only one
#: thread at a time control OpenBLAS, so this process's own history could hide the problem.
OVERLAPPING_FITS = """
import json, threading, warnings
from threadpoolctl import threadpool_info
from sklearn.datasets import load_digits
import sknnedu.nn.network
from sknnedu import NNClassifier

warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X, y = X[:360] / 16, y[:360]
pools = lambda: {p["filepath"]: p["num_threads"] for p in threadpool_info()}
a_inside, b_inside, a_done = threading.Event(), threading.Event(), threading.Event()
forward, paused = sknnedu.nn.network.Network.forward, set()

def pausing_forward(*args, **kwargs):
    name = threading.current_thread().name
    if name not in paused:
        paused.add(name)
        if name == "A":
            a_inside.set()
            b_inside.wait(timeout=10)
        else:
            b_inside.set()
            a_done.wait(timeout=10)
    return forward(*args, **kwargs)

def fit(name):
    try:
        NNClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    finally:
        if name == "A":
            a_done.set()

sknnedu.nn.network.Network.forward = pausing_forward
before = pools()
a = threading.Thread(target=fit, args=("A",), name="A")
b = threading.Thread(target=fit, args=("B",), name="B")
a.start()
a_inside.wait(timeout=10)
b.start()
a.join(timeout=60)
b.join(timeout=60)
print(json.dumps({"before": before, "after": pools()}))
"""


def test_overlapping_fits_in_threads_leave_the_thread_pools_as_they_were():
    """Thread workers (dask with processes=False, joblib's threading backend) fit at once.

    A fit that limits BLAS threads on entry and restores "the original" on exit
    (threadpoolctl's limits are process-wide) must not leave the process on fewer threads
    when two fits overlap: B would take A's limit for the original and put it back last.
    """
    # without the thread-count variables (dask's nannies leave them set to 1 in this process)
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", OVERLAPPING_FITS], capture_output=True,
                         text=True, timeout=120, check=False, env=env)
    assert out.returncode == 0, out.stderr
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts["after"] == counts["before"], (
        f"BLAS threads before two overlapping fits: {counts['before']}, "
        f"after: {counts['after']}")


def test_estimators_work_under_a_one_thread_blas_limit(digits, fitted):
    X, y = digits
    with threadpool_limits(limits=1, user_api="blas"):
        limited = pools()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            models = {name: clone(model).fit(X, y) for name, model in fitted.items()}
        outputs = {name: model.predict_proba(X) for name, model in models.items()}
        # the estimators never raise the limit (KMeans sets and restores its own)
        assert pools() == limited
        assert all(p["num_threads"] == 1 for p in threadpool_info()
                   if p["user_api"] == "blas")
    for name, model in fitted.items():
        # the same model as with all threads, up to BLAS summation order
        np.testing.assert_allclose(outputs[name], model.predict_proba(X), rtol=1e-6,
                                   atol=1e-9)


def _blas_threads_in_worker(X, y) -> list[int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline().fit(X, y)
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_joblib_workers_do_not_oversubscribe_blas(digits):
    """n_jobs workers x BLAS threads per worker stays within the machine's cores."""
    X, y = digits
    n_jobs = 2
    cores = joblib.cpu_count()
    threads = joblib.Parallel(n_jobs=n_jobs, backend="loky")(
        joblib.delayed(_blas_threads_in_worker)(X, y) for _ in range(n_jobs))
    for per_worker in threads:
        assert per_worker, "no BLAS library loaded in the worker"
        assert max(per_worker) * n_jobs <= max(cores, n_jobs)
