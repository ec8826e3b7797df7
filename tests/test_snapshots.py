"""Numbers pinned before the engine was refactored: every training path, exactly.

``tests/data/snapshots.npz`` holds, for each case below, the fitted weights (50 entries spread
over each array, and its sum, sum of absolute values and sum of squares), ``loss_curve_``,
``gradient_norms_`` (and the validation curves with early stopping) after three epochs,
computed by the code of commit e785647, before the engine's epoch loop was restructured
(``_batches``, the training-state dataclass, ``_prepare``). A refactoring must reproduce
them to 1e-12: solvers sgd, adam, rmsprop and lbfgs, dense and sparse X, float32 and
float64, dropout on and off, early stopping on and off, warm start and partial_fit,
NNRegressor and a tiny CNNClassifier (uint8 images included).

Deliberate changes of numbers are made by regenerating the file
(``python tests/test_snapshots.py``) in the commit that changes them, saying which cases
changed and why:

- float32 with dropout: the masks are drawn in float64 whatever the dtype of X (hardening
  item 8; the 15 cases ``clf-*-f32-drop-*``, ``cnn-float32-drop-*`` and
  ``reg-adam-f32-dropout``, regenerated in commit 8e5b196).

float32 cases hold to float32's own precision (``rtol=1e-4``), float64 ones to 1e-12: a
float32 matrix product rounds differently with another BLAS kernel (numpy 2.4.6's
OpenBLAS on this machine moved the 31 float32 cases by 4e-8 to 1.8e-5 relative, with the
code unchanged), while a real change of the computation moves the numbers by far more.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sknnedu import CNNClassifier, NNClassifier, NNRegressor

PATH = Path(__file__).parent / "data" / "snapshots.npz"

_X, _Y = load_digits(return_X_y=True)
X64, Y = _X[:150] / 16, _Y[:150]


def _data(kind: str, dtype):
    X = X64.astype(dtype)
    return sp.csr_matrix(X) if kind == "sparse" else X


def _classifier_case(solver, kind, dtype, dropout, es):
    def run():
        est = NNClassifier((12,), solver=solver, max_iter=3, batch_size=32, dropout=dropout,
                           early_stopping=es, learning_rate_init=0.01, random_state=0)
        return est.fit(_data(kind, dtype), Y)
    return run


def _cases() -> dict:
    cases = {}
    for solver in ("sgd", "adam", "rmsprop"):
        for kind in ("dense", "sparse"):
            for dtype in (np.float64, np.float32):
                for dropout in (0.0, 0.2):
                    for es in (False, True):
                        name = (f"clf-{solver}-{kind}-{'f32' if dtype == np.float32 else 'f64'}"
                                f"-{'drop' if dropout else 'nodrop'}-{'es' if es else 'noes'}")
                        cases[name] = _classifier_case(solver, kind, dtype, dropout, es)
    for kind in ("dense", "sparse"):
        for dtype in (np.float64, np.float32):
            name = f"clf-lbfgs-{kind}-{'f32' if dtype == np.float32 else 'f64'}-nodrop-noes"
            cases[name] = _classifier_case("lbfgs", kind, dtype, 0.0, False)

    def auto_batch():  # batch_size='auto', shuffle off, MLPClassifier's defaults otherwise
        return NNClassifier((12,), max_iter=3, shuffle=False, random_state=0).fit(X64, Y)

    def warm_start():
        est = NNClassifier((12,), max_iter=3, batch_size=32, warm_start=True, random_state=0)
        est.fit(X64, Y)
        return est.fit(X64[::-1], Y[::-1])

    def partial_fit_dropout():
        est = NNClassifier((12,), solver="sgd", batch_size=32, dropout=0.3, random_state=0)
        for start in (0, 50, 100):
            est.partial_fit(X64[start:start + 50], Y[start:start + 50], classes=np.arange(10))
        return est

    def class_and_sample_weight():
        sw = np.linspace(0.5, 2.0, len(Y))
        return NNClassifier((12,), max_iter=3, batch_size=32, class_weight="balanced",
                            random_state=0).fit(X64, Y, sample_weight=sw)

    cases.update({"clf-auto-batch": auto_batch, "clf-warm-start": warm_start,
                  "clf-partial-fit-dropout": partial_fit_dropout,
                  "clf-weights": class_and_sample_weight})

    y_reg = Y / 9.0
    for solver in ("sgd", "adam", "rmsprop", "lbfgs"):
        def reg(solver=solver):
            return NNRegressor(hidden_layer_sizes=(12,), solver=solver, max_iter=3,
                               batch_size=32, learning_rate_init=0.01,
                               random_state=0).fit(X64, y_reg)
        cases[f"reg-{solver}"] = reg
    for name, kw, X in [("reg-adam-es", dict(early_stopping=True), X64),
                        ("reg-adam-dropout", dict(dropout=0.2), X64),
                        ("reg-adam-f32-dropout", dict(dropout=0.2), X64.astype(np.float32)),
                        ("reg-adam-sparse", {}, sp.csr_matrix(X64)),
                        ("reg-huber-es", dict(loss="huber", early_stopping=True), X64)]:
        def reg(kw=kw, X=X):
            return NNRegressor(hidden_layer_sizes=(12,), max_iter=3, batch_size=32,
                               learning_rate_init=0.01, random_state=0, **kw).fit(X, y_reg)
        cases[name] = reg

    for dtype in (np.float64, np.float32, np.uint8):
        for dropout in (0.0, 0.2):
            for es in (False, True):
                if dtype == np.uint8 and (dropout or es):
                    continue
                name = (f"cnn-{np.dtype(dtype).name}-{'drop' if dropout else 'nodrop'}"
                        f"-{'es' if es else 'noes'}")

                def cnn(dtype=dtype, dropout=dropout, es=es):
                    X = _X[:150] if dtype == np.uint8 else X64
                    return CNNClassifier(((3, 3),), (8,), max_iter=3, batch_size=32,
                                         dropout=dropout, early_stopping=es,
                                         random_state=0).fit(X.astype(dtype), Y)
                cases[name] = cnn

    def cnn_sgd_avg():
        return CNNClassifier(((3, 3), (4, 3, "tanh")), (8,), solver="sgd", pooling="avg",
                             max_iter=3, batch_size=32, random_state=0).fit(X64, Y)
    cases["cnn-sgd-avg"] = cnn_sgd_avg
    return cases


CASES = _cases()


def snapshot(est) -> dict:
    """The numbers of a fitted estimator that a refactoring must not change."""
    out = {}
    for i, p in enumerate(est._params()):  # 50 entries spread over each array, and its sums
        flat = np.asarray(p, dtype=np.float64).ravel()
        out[f"param{i}"] = np.concatenate([flat[:: max(1, flat.size // 50)],
                                           [flat.sum(), np.abs(flat).sum(), flat @ flat]])
    out["loss_curve"] = np.array(est.loss_curve_, dtype=np.float64)
    out["gradient_norms"] = np.array(est.gradient_norms_, dtype=np.float64)
    out["n_iter"] = np.array(est.n_iter_)
    out["dtype"] = np.array(str(est._params()[0].dtype))
    if est.validation_scores_ is not None:
        out["validation_scores"] = np.array(est.validation_scores_, dtype=np.float64)
        out["validation_loss_curve"] = np.array(est.validation_loss_curve_, dtype=np.float64)
    return out


def _run(name: str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return snapshot(CASES[name]())


@pytest.fixture(scope="module")
def saved():
    with np.load(PATH) as f:
        return {k: f[k] for k in f.files}


def test_every_case_is_saved(saved):
    names = {k.split("/")[0] for k in saved}
    assert names == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_numbers_are_unchanged(saved, name):
    now = _run(name)
    before = {k.split("/", 1)[1]: v for k, v in saved.items() if k.split("/")[0] == name}
    assert now.keys() == before.keys()
    for key, value in before.items():
        if value.dtype.kind in "fc":
            single = value.dtype == np.float32 or "f32" in name or "float32" in name
            np.testing.assert_allclose(now[key], value, rtol=1e-4 if single else 1e-12,
                                       atol=1e-6 if single else 1e-15,
                                       err_msg=f"{name}: {key}")
        else:
            np.testing.assert_array_equal(now[key], value, err_msg=f"{name}: {key}")


def write(names=None) -> None:
    """Recompute the cases ``names`` (default: all) and save the file."""
    data = {}
    if PATH.exists() and names:
        with np.load(PATH) as f:
            data = {k: f[k] for k in f.files if k.split("/")[0] not in names}
    for name in names or sorted(CASES):
        for key, value in _run(name).items():
            data[f"{name}/{key}"] = value
    np.savez_compressed(PATH, **data)


if __name__ == "__main__":  # python tests/test_snapshots.py [case ...]
    write(sys.argv[1:] or None)
