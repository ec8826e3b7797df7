"""sknnedu.nn.sequences: ragged sequences as one padded, masked, time-major batch."""

import numpy as np
import pytest

from sknnedu.nn.sequences import Sequences


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
