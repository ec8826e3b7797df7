"""The conv core and CNN training give the numbers they gave before the core was split.

``tests/data/conv_snapshot.npz`` was saved (``python tests/test_conv_snapshot.py``) before
``sknnedu.nn.conv`` was split into geometry, convolution, pooling and threads modules and
its two im2col routines merged into one: the fused transformer path, the backward
functions, the training layers and two epochs of CNNClassifier must give the same arrays
(bit for bit on the machine that saved them; the tolerance allows another BLAS build).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sknnedu import CNNClassifier, ConvFeatureTransformer
from sknnedu.nn.conv import (
    avg_pool2d_backward,
    conv2d_backward,
    conv_pool2d,
    max_pool2d,
    max_pool2d_backward,
)
from sknnedu.nn.conv_layers import Conv2D, Pool2D

PATH = Path(__file__).parent / "data" / "conv_snapshot.npz"

CNN_RUNS = {
    "adam_max": dict(),
    "sgd_avg_tanh": dict(solver="sgd", pooling="avg", activation="tanh"),
    "float32_stride2_valid": dict(stride=2, padding="valid"),
    "two_convs_dropout": dict(conv_layers=((4, 3), (6, (2, 3), "leakyrelu")), dropout=0.2),
}


def compute() -> dict[str, np.ndarray]:
    """Every array of the snapshot, by name."""
    out = {}
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 9, 8, 3))
    u8 = rng.integers(0, 256, (4, 8, 9, 3)).astype(np.uint8)
    kernels = rng.standard_normal((5, 3, 4, 3))
    for name, images in (("f64", x), ("f32", x.astype(np.float32)), ("u8", u8)):
        k = kernels.astype(np.float32) if name == "f32" else kernels
        for pooling, act, stride, padding in ((None, None, 1, "same"), ("max", "relu", 2, 1),
                                              ("avg", "abs", 1, "valid")):
            key = f"conv_pool2d_{name}_{pooling}_{act}"
            out[key] = conv_pool2d(images, k, stride=stride, padding=padding, activation=act,
                                   pooling=pooling, pool_stride=1 if pooling == "avg" else None)
        shared = conv_pool2d(images, k[..., 0], padding="same", pooling="max")
        out[f"conv_pool2d_{name}_shared"] = shared
    dz = np.cos(np.arange(6 * 5 * 4 * 5)).reshape(6, 5, 4, 5)
    for j, grad in enumerate(conv2d_backward(dz, x, kernels, stride=2, padding="same")):
        out[f"conv2d_backward_{j}"] = grad
    pooled = max_pool2d(x, 3, stride=2)
    out["max_pool2d_backward"] = max_pool2d_backward(np.sin(pooled), x, 3, stride=2)
    out["avg_pool2d_backward"] = avg_pool2d_backward(np.sin(pooled), x, 3, stride=2)
    for dtype in (np.float64, np.float32):
        K = rng.standard_normal((6, 3, 3, 3)).astype(dtype)
        layer = Conv2D(K, rng.standard_normal(6).astype(dtype), stride=2, activation="tanh")
        a = layer.forward(x.astype(dtype)).copy()
        dx = layer.backward(np.cos(a)).copy()
        name = np.dtype(dtype).name
        out[f"Conv2D_{name}_a"], out[f"Conv2D_{name}_dx"] = a, dx
        out[f"Conv2D_{name}_dK"], out[f"Conv2D_{name}_db"] = layer.grads
        for kind in ("max", "avg"):
            pool = Pool2D(kind, 3, 2)
            a = pool.forward(x.astype(dtype)).copy()
            out[f"Pool2D_{kind}_{name}_a"] = a
            out[f"Pool2D_{kind}_{name}_dx"] = pool.backward(np.cos(a)).copy()
    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300]
    for name, params in CNN_RUNS.items():
        params = dict(params)
        Xf = X.astype(np.float32) if name.startswith("float32") else X
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            cnn = CNNClassifier(params.pop("conv_layers", ((8, 3),)), (16,), max_iter=2,
                                random_state=0, **params).fit(Xf, y)
        arrays = cnn.conv_kernels_ + cnn.conv_intercepts_ + cnn.coefs_ + cnn.intercepts_
        for j, array in enumerate(arrays):
            out[f"cnn_{name}_{j}"] = array
        out[f"cnn_{name}_proba"] = cnn.predict_proba(Xf[:40])
    for name, params in (("defaults", {}), ("kmeans", dict(filters="kmeans", random_state=0))):
        out[f"transformer_{name}"] = ConvFeatureTransformer(**params).fit_transform(X[:100])[:10]
    return {key: np.array(value) for key, value in out.items()}


def test_arrays_equal_the_snapshot():
    computed, expected = compute(), np.load(PATH)
    assert sorted(expected.files) == sorted(computed)
    differ = []
    for name in expected.files:
        want, got = expected[name], computed[name]
        rtol = 1e-5 if want.dtype == np.float32 else 1e-12
        same = got.dtype == want.dtype and got.shape == want.shape and np.allclose(
            got, want, rtol=rtol, atol=rtol * np.abs(want).max(initial=0))
        if not same:
            differ.append(name)
    assert not differ, f"arrays that changed: {differ}"


if __name__ == "__main__":
    np.savez_compressed(PATH, **compute())
    print(f"saved {PATH} ({PATH.stat().st_size // 1024} KiB)", file=sys.stderr)
