"""sknnedu.nn.sequences: ragged sequences as one padded, masked, time-major batch, against
plain loops over the steps; step_moments against np.mean, np.std and np.average with
weights; Standardize against its formula."""

import numpy as np
import pytest

from sknnedu.nn.sequences import SequenceBatch, Sequences, Standardize, step_moments


def test_sequences_index_pad_and_refuse_other_keys():
    rng = np.random.RandomState(5)
    seqs = [rng.randn(T, 2) for T in (3, 5, 1, 4)]
    X = Sequences(seqs)
    sub = X[[3, 0]]
    assert sub.lengths.tolist() == [4, 3] and sub.shape == (2, 4, 2)
    batch = sub.pad()
    np.testing.assert_array_equal(batch.data[:4, 0], seqs[3])
    np.testing.assert_array_equal(batch.data[:3, 1], seqs[0])
    assert np.all(batch.data[3:, 1] == 0)
    np.testing.assert_array_equal(X[1:][1:].sequence(0), seqs[2])
    np.testing.assert_array_equal(X[[True, False, True, False]].lengths, [3, 1])
    with pytest.raises(IndexError):
        X[0, 1]
    # an equal-length 3-D array is kept as it is and padded by one copy
    A = rng.randn(3, 4, 2)
    np.testing.assert_array_equal(Sequences(A)[[2, 0]].pad().data, A[[2, 0]].transpose(1, 0, 2))


# ----------------------------------------------------------------------------- references


def _loop_pad(seqs, dtype=None):
    """The padded time-major batch, its mask and its full steps, one step at a time."""
    m, T, f = len(seqs), max(len(s) for s in seqs), seqs[0].shape[1]
    data = np.zeros((T, m, f), dtype=dtype or seqs[0].dtype)
    mask = np.zeros((T, m), dtype=bool)
    for i, s in enumerate(seqs):
        for t in range(len(s)):
            data[t, i] = s[t]
            mask[t, i] = True
    full = np.array([all(mask[t]) for t in range(T)])
    return data, mask, full


def _ragged(rng, lengths, f=3, dtype=np.float64):
    return [rng.randn(T, f).astype(dtype) for T in lengths]


def _assert_batch(batch, seqs, dtype=None):
    data, mask, full = _loop_pad(seqs, dtype)
    assert batch.data.dtype == data.dtype
    np.testing.assert_array_equal(batch.data, data)
    np.testing.assert_array_equal(batch.mask, mask)
    np.testing.assert_array_equal(batch.full, full)
    np.testing.assert_array_equal(batch.lengths, [len(s) for s in seqs])
    assert batch.shape == (len(seqs), data.shape[0], data.shape[2])


# --------------------------------------------------------------------- Sequences and pad


LENGTHS = [5, 3, 1, 4, 5, 2]


def test_pad_is_the_loop_over_steps():
    seqs = _ragged(np.random.RandomState(0), LENGTHS)
    X = Sequences(seqs)
    assert X.shape == (6, 5, 3) and len(X) == 6
    np.testing.assert_array_equal(X.lengths, LENGTHS)
    _assert_batch(X.pad(), seqs)
    for i, s in enumerate(seqs):
        np.testing.assert_array_equal(X.sequence(i), s)


@pytest.mark.parametrize("key", [slice(1, 5), slice(None, None, -2), [4, 0, 2],
                                 np.array([5, 5, 1]),
                                 np.array([True, False, False, True, True, False])],
                         ids=["slice", "reversed", "list", "repeated", "mask"])
def test_rows_of_any_key_pad_as_the_loop_over_those_sequences(key):
    seqs = _ragged(np.random.RandomState(1), LENGTHS)
    X = Sequences(seqs)
    picked = [seqs[i] for i in np.arange(6)[key]]
    _assert_batch(X[key].pad(), picked)
    _assert_batch(X[key, ...].pad(), picked)  # as scikit-learn's splitters index
    _assert_batch(X[key][::-1].pad(), picked[::-1])  # rows of rows
    _assert_batch(X.take(np.arange(6)[key]).pad(), picked)


@pytest.mark.parametrize("rows", [None, [2, 0]])
def test_equal_lengths_as_one_array_pad_as_the_list_does(rows):
    A = np.random.RandomState(2).randn(3, 4, 2)
    X, L = Sequences(A), Sequences(list(A))
    if rows is not None:
        X, L = X[rows], L[rows]
    np.testing.assert_array_equal(X.pad().data, L.pad().data)
    _assert_batch(X.pad(), [A[i] for i in (range(3) if rows is None else rows)])


def test_pad_converts_the_dtype_and_pads_with_exact_zeros_after_any_earlier_batch():
    seqs = _ragged(np.random.RandomState(3), [2, 6, 4])
    X = Sequences(seqs)
    first = X.pad()
    first.data[...] = np.nan  # whatever the caller does to a batch it was given
    _assert_batch(X.pad(), seqs)
    _assert_batch(X.pad(np.float32), seqs, np.float32)
    _assert_batch(X[[1]].pad(), [seqs[1]])


def test_a_sequence_batch_says_its_mask_full_steps_and_shape():
    data = np.zeros((4, 3, 2))
    batch = SequenceBatch(data, np.array([4, 2, 4]))
    assert batch.data is data and batch.shape == (3, 4, 2)
    np.testing.assert_array_equal(batch.mask, [[t < L for L in (4, 2, 4)] for t in range(4)])
    np.testing.assert_array_equal(batch.full, [True, True, False, False])


# ------------------------------------------------------------------------ step_moments


def _steps(seqs, weights):
    """Every valid step, each with its sequence's weight (a plain loop)."""
    rows, w = [], []
    for s, wi in zip(seqs, weights):
        for step in s:
            rows.append(step)
            w.append(wi)
    return np.array(rows), np.array(w)


def test_step_moments_are_numpys_mean_and_std_of_the_valid_steps():
    seqs = _ragged(np.random.RandomState(4), LENGTHS)
    mean, std = step_moments(Sequences(seqs))
    steps = np.concatenate(seqs)
    np.testing.assert_allclose(mean, np.mean(steps, axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, np.std(steps, axis=0), rtol=1e-12)


@pytest.mark.parametrize("block", [65536, 4, 1])
@pytest.mark.parametrize("rows", [None, [5, 1, 3, 1]])
def test_weighted_step_moments_against_np_average(block, rows):
    rng = np.random.RandomState(5)
    seqs = _ragged(rng, LENGTHS)
    weights = rng.uniform(0.0, 3.0, 6)
    X = Sequences(seqs)
    if rows is not None:
        X, seqs, weights = X[rows], [seqs[i] for i in rows], weights[rows]
    mean, std = step_moments(X, weights, block=block)
    steps, w = _steps(seqs, weights)
    expected_mean = np.average(steps, axis=0, weights=w)
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(
        std, np.sqrt(np.average((steps - expected_mean) ** 2, axis=0, weights=w)), rtol=1e-12)


def test_a_weight_of_two_is_the_sequence_twice():
    seqs = _ragged(np.random.RandomState(6), [3, 5, 2])
    weighted = step_moments(Sequences(seqs), np.array([1.0, 2.0, 1.0]))
    repeated = step_moments(Sequences(seqs + [seqs[1]]))
    np.testing.assert_allclose(weighted, repeated, rtol=1e-12)


def test_step_moments_of_equal_lengths_and_of_huge_values():
    A = np.random.RandomState(7).randn(4, 3, 2)
    for scale in (1.0, 1e300, 1e-300):
        mean, std = step_moments(Sequences(A * scale))
        steps = A.reshape(-1, 2)
        assert np.all(np.isfinite(mean)) and np.all(np.isfinite(std))
        np.testing.assert_allclose(mean / scale, steps.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(std / scale, steps.std(axis=0), rtol=1e-12)


# ---------------------------------------------------------------------------- Standardize


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_standardize_is_x_minus_mean_over_scale_at_every_valid_step(dtype):
    rng = np.random.RandomState(8)
    seqs = _ragged(rng, [4, 1, 3])
    mean, scale = rng.randn(3).astype(dtype), rng.uniform(0.5, 2.0, 3).astype(dtype)
    out = Standardize(mean, scale).forward(Sequences(seqs))
    assert isinstance(out, SequenceBatch) and out.data.dtype == dtype
    np.testing.assert_array_equal(out.lengths, [4, 1, 3])
    for i, s in enumerate(seqs):
        for t in range(len(s)):
            np.testing.assert_allclose(out.data[t, i], (s[t] - mean) / scale,
                                       rtol=1e-6 if dtype == np.float32 else 1e-14)


# ------------------------------------- pad: one buffer for the data and its row views, per dtype
def _data_set(rng, kind):
    if kind == "ragged":
        seqs = _ragged(rng, [3, 5, 2, 4, 1, 5])
        return Sequences(seqs), seqs
    A = rng.randn(6, 4, 3)
    return Sequences(A), list(A)


@pytest.mark.parametrize("kind", ["ragged", "equal"])
def test_row_views_of_the_same_data_pad_into_the_same_memory(kind):
    rng = np.random.RandomState(0)
    X, seqs = _data_set(rng, kind)
    first = X[[0, 1, 2]].pad()
    _assert_batch(first, seqs[:3])
    second = X[3:].pad()                 # a view of other rows, a batch no larger
    assert np.shares_memory(first.data, second.data)
    _assert_batch(second, seqs[3:])
    # a view of a view, and the data itself, still share it (the whole set is larger: it grows)
    third = X[1:][[1, 0]].pad()
    assert np.shares_memory(third.data, second.data)
    _assert_batch(third, [seqs[2], seqs[1]])
    whole = X.pad()
    _assert_batch(whole, seqs)
    assert np.shares_memory(X[[4]].pad().data, whole.data)


def test_another_data_set_pads_into_other_memory():
    rng = np.random.RandomState(1)
    seqs = _ragged(rng, [3, 2])
    one, two = Sequences(seqs), Sequences(seqs)
    assert not np.shares_memory(one.pad().data, two.pad().data)


def test_a_float32_and_a_float64_pad_do_not_share():
    rng = np.random.RandomState(2)
    seqs = _ragged(rng, [3, 5, 2])
    X = Sequences(seqs)
    b64 = X[[0, 1]].pad(np.float64)
    kept = b64.data.copy()
    b32 = X[[0, 1]].pad(np.float32)
    assert b32.data.dtype == np.float32 and b64.data.dtype == np.float64
    assert not np.shares_memory(b32.data, b64.data)
    np.testing.assert_array_equal(b64.data, kept)          # the float32 pad left it alone
    _assert_batch(b32, seqs[:2], np.float32)
    # and the float64 buffer is still the one reused
    assert np.shares_memory(X[[2]].pad(np.float64).data, b64.data)


def test_a_pickled_sequences_pads_into_its_own_memory():
    import copy
    import pickle

    rng = np.random.RandomState(3)
    seqs = _ragged(rng, [3, 5, 2, 4])
    X = Sequences(seqs)
    view = X[[1, 3]]
    before = view.pad()
    for restored in (pickle.loads(pickle.dumps(X)), pickle.loads(pickle.dumps(view)),
                     copy.deepcopy(X), copy.copy(view)):
        batch = restored.pad()
        assert not np.shares_memory(batch.data, before.data)
    _assert_batch(pickle.loads(pickle.dumps(X)).pad(), seqs)
    _assert_batch(pickle.loads(pickle.dumps(view)).pad(), [seqs[1], seqs[3]])
    # pickling does not empty the original's buffers
    assert np.shares_memory(X[[0, 2]].pad().data, before.data)
    # nor does the pickle carry a buffer
    assert pickle.loads(pickle.dumps(view))._bufs == {} != X._bufs


@pytest.mark.parametrize("kind", ["ragged", "equal"])
def test_padding_in_another_thread_leaves_this_threads_batch_alone(kind):
    import threading

    rng = np.random.RandomState(4)
    X, seqs = _data_set(rng, kind)
    mine = X[[0, 1, 2]].pad()
    kept = mine.data.copy()
    theirs = []

    def work():
        for rows in ([3, 4, 5], [5, 4, 3], slice(None)):
            theirs.append((rows, X[rows].pad()))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    np.testing.assert_array_equal(mine.data, kept)
    rows, last = theirs[-1]
    _assert_batch(last, seqs)
    assert not any(np.shares_memory(b.data, mine.data) for _, b in theirs)
    # the other thread's first batch and its second shared their own buffer
    assert np.shares_memory(theirs[0][1].data, theirs[1][1].data)
    _assert_batch(theirs[1][1], [seqs[5], seqs[4], seqs[3]])
    # and this thread keeps reusing its own
    assert np.shares_memory(X[[5]].pad().data, mine.data)
