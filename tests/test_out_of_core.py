"""Out-of-core use: data that never has to sit in memory as a whole.

``NNClassifier.partial_fit`` over chunks streamed from a memory-mapped ``.npy`` file or from a
dask array reaches the accuracy of ``fit`` on the whole array, and
``ConvFeatureTransformer.transform`` applied block by block with ``dask.array.map_blocks``
gives exactly the in-memory result.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sknnedu import NNClassifier
from sknnedu.feature_extraction import ConvFeatureTransformer

EPOCHS = 40
CHUNK = 256
CLASSES = np.arange(10)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def on_disk(digits, tmp_path_factory):
    """The training set as memory-mapped .npy files (read-only), and their digests."""
    X_train, _, y_train, _ = digits
    folder = tmp_path_factory.mktemp("out_of_core")
    np.save(folder / "X.npy", X_train)
    np.save(folder / "y.npy", y_train)
    X = np.load(folder / "X.npy", mmap_mode="r")
    y = np.load(folder / "y.npy", mmap_mode="r")
    return X, y, {p.name: digest(p) for p in folder.iterdir()}, folder


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fit_in_memory(X, y, epochs: int = EPOCHS) -> NNClassifier:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return NNClassifier((64,), max_iter=epochs, random_state=0).fit(X, y)


def stream(chunks, epochs: int = EPOCHS) -> NNClassifier:
    """partial_fit over ``chunks()`` (a fresh iterator of (X, y) per epoch), epoch by epoch."""
    clf = NNClassifier((64,), random_state=0)
    for _ in range(epochs):
        for X_chunk, y_chunk in chunks():
            clf.partial_fit(X_chunk, y_chunk, classes=CLASSES)
    return clf


def assert_same_weights(a: NNClassifier, b: NNClassifier) -> None:
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert wa.dtype == wb.dtype
        np.testing.assert_array_equal(wa, wb)


# ------------------------------------------------------------------------------------------
# partial_fit over a memory-mapped file
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def memmap_model(on_disk):
    X, y, _, _ = on_disk

    def chunks():
        for start in range(0, len(X), CHUNK):
            yield X[start:start + CHUNK], y[start:start + CHUNK]  # views into the file

    return stream(chunks)


def test_partial_fit_over_memmap_reaches_fit_accuracy(digits, memmap_model):
    X_train, X_test, y_train, y_test = digits
    full = fit_in_memory(X_train, y_train)
    streamed = memmap_model.score(X_test, y_test)
    assert full.score(X_test, y_test) > 0.9
    assert streamed == pytest.approx(full.score(X_test, y_test), abs=0.03)
    assert memmap_model.coefs_[0].dtype == np.float32  # float32 on disk, float32 weights


def test_partial_fit_over_memmap_equals_the_same_stream_in_memory(digits, memmap_model):
    X_train, _, y_train, _ = digits

    def chunks():
        for start in range(0, len(X_train), CHUNK):
            yield X_train[start:start + CHUNK].copy(), y_train[start:start + CHUNK].copy()

    assert_same_weights(memmap_model, stream(chunks))


def test_streaming_leaves_the_files_untouched(on_disk, memmap_model):
    X, _, digests, folder = on_disk
    assert not X.flags.writeable
    assert {p.name: digest(p) for p in folder.iterdir()} == digests


def test_memmap_predict_and_score(digits, on_disk, memmap_model):
    X, y, _, _ = on_disk
    X_train, _, y_train, _ = digits
    np.testing.assert_array_equal(memmap_model.predict(X), memmap_model.predict(X_train))
    assert memmap_model.score(X, y) == memmap_model.score(X_train, y_train)


# ------------------------------------------------------------------------------------------
# dask arrays
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def da():
    return pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def dask_data(da, on_disk):
    """The memory-mapped training set as lazy dask arrays, CHUNK rows per block."""
    X, y, _, _ = on_disk
    return da.from_array(X, chunks=(CHUNK, -1)), da.from_array(y, chunks=CHUNK)


def test_partial_fit_over_dask_blocks(dask_data, memmap_model):
    X, y = dask_data
    assert X.numblocks == (int(np.ceil(X.shape[0] / CHUNK)), 1)

    def chunks():  # one block computed at a time: the whole array is never in memory
        for X_block, y_block in zip(X.blocks.ravel(), y.blocks.ravel(), strict=True):
            yield X_block.compute(scheduler="synchronous"), y_block.compute(
                scheduler="synchronous")

    assert_same_weights(stream(chunks), memmap_model)


def test_partial_fit_over_dask_delayed_chunks(dask_data, memmap_model):
    import dask

    X, y = dask_data
    pieces = list(zip(X.to_delayed().ravel(), y.to_delayed().ravel(), strict=True))

    def chunks():
        for X_block, y_block in pieces:
            yield dask.compute(X_block, y_block, scheduler="synchronous")

    assert_same_weights(stream(chunks), memmap_model)


def test_predict_blockwise_over_dask(dask_data, memmap_model):
    X, _ = dask_data
    labels = X.map_blocks(memmap_model.predict, drop_axis=1, dtype=np.int64,
                          meta=np.empty((0,), np.int64))
    proba = X.map_blocks(memmap_model.predict_proba, chunks=(X.chunks[0], (10,)),
                         dtype=np.float32, meta=np.empty((0, 0), np.float32))
    X_mem = X.compute(scheduler="synchronous")
    np.testing.assert_array_equal(labels.compute(scheduler="synchronous"),
                                  memmap_model.predict(X_mem))
    # float32 products of a row can round differently at another place in a block (BLAS
    # edge kernels), so blocks agree with the whole to float32 precision, not bit for bit
    np.testing.assert_allclose(proba.compute(scheduler="synchronous"),
                               memmap_model.predict_proba(X_mem), rtol=1e-5, atol=1e-7)


def transform_blockwise(da, conv: ConvFeatureTransformer, images):
    """``conv.transform`` of a dask array of rows (n, h*w*c) or images (n, h, w[, c])."""
    n_out = int(np.prod(conv.output_shape_))
    dtype = np.float32 if images.dtype == np.float32 else np.float64
    return images.map_blocks(
        conv.transform,
        drop_axis=list(range(2, images.ndim)),  # (n, h, w[, c]) -> (n, n_out)
        chunks=(images.chunks[0], (n_out,)),
        dtype=dtype,
        meta=np.empty((0, 0), dtype),  # so dask does not call transform on an empty array
    )


@pytest.mark.parametrize("form", ["rows", "3d", "4d"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("params", [
    dict(),
    dict(filters="kmeans", n_filters=6, pooling="avg", random_state=0),
    dict(filters="random", n_filters=4, stride=2, padding="valid", pooling=None,
         random_state=0),
], ids=["edges", "kmeans", "random-valid"])
def test_conv_transform_blockwise_over_dask_is_identical(da, digits, form, dtype, params):
    X_train, _, _, _ = digits
    images = X_train.astype(dtype)
    images = {"rows": images, "3d": images.reshape(-1, 8, 8),
              "4d": images.reshape(-1, 8, 8, 1)}[form]
    conv = ConvFeatureTransformer(**params).fit(images[:200])  # fitted on a sample
    lazy = da.from_array(images, chunks=(300,) + images.shape[1:])  # uneven last block
    features = transform_blockwise(da, conv, lazy)
    expected = conv.transform(images)
    assert features.shape == expected.shape
    assert features.dtype == expected.dtype
    # a row's products can round differently at another place in a block (BLAS edge
    # kernels): blocks agree with the whole to the dtype's precision, not bit for bit
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(features.compute(scheduler="synchronous"), expected,
                               rtol=tol, atol=tol)


def test_out_of_core_pipeline_conv_features_then_partial_fit(da, digits, dask_data):
    """Features block by block, each block straight into partial_fit: nothing held whole."""
    X_train, X_test, y_train, y_test = digits
    X, y = dask_data
    conv = ConvFeatureTransformer(image_shape=(8, 8)).fit(X.blocks[0].compute())
    features = transform_blockwise(da, conv, X)
    clf = NNClassifier((64,), random_state=0)
    blocks = list(zip(features.blocks.ravel(), y.blocks.ravel(), strict=True))
    for _ in range(EPOCHS // 2):
        for F_block, y_block in blocks:
            clf.partial_fit(F_block.compute(scheduler="synchronous"),
                            y_block.compute(scheduler="synchronous"), classes=CLASSES)
    full = fit_in_memory(conv.transform(X_train), y_train, epochs=EPOCHS // 2)
    score = clf.score(conv.transform(X_test), y_test)
    assert score == pytest.approx(full.score(conv.transform(X_test), y_test), abs=0.03)
    assert score > 0.9
