"""The embedding layer: token ids in, one learned vector per token out.

A text of ``T`` tokens is a sequence of ids ``x_1 .. x_T``, integers in ``[0, V)`` for a
vocabulary of ``V`` ids. The layer holds a table ``E`` of shape ``(V, d)``, one row per
id, and its output at step ``t`` is the row of that step's id::

    a_t = E[x_t]                         (d,)
        = onehot(x_t) E                  the lookup is a product by a one-hot row

Id 0 is **padding**, never a token: its row ``E[0]`` starts at 0 and never learns, so a
padded step reads the zero vector (as every padded step of a
:class:`~sknnedu.nn.sequences.SequenceBatch` does).

**Backward.** ``a = S E`` with ``S`` the one-hot matrix of the batch's ids, one row per
position (``n = T m`` rows of ``V``), so ``dE = S^T da``: row ``v`` of ``dE`` is the sum
of ``da`` over every position whose id is ``v``::

    dE[v] = sum_{t, i : x[t, i] = v} da[t, i]        (V, d)
    dE[0] = 0                                         the padding row does not learn

A token that occurs five times in a batch collects five gradients; a token absent from
the batch gets a zero gradient. Whether its row then moves is the optimiser's affair, not
the gradient's: under plain SGD (``momentum=0``) and RMSProp a zero gradient is a zero
step, so the row stays; under **Adam** and **SGD with momentum** (both defaults) the row
keeps moving after its token's last occurrence, by what the optimiser remembers of its
earlier gradients (Adam's first moment ``m`` decays by ``beta_1`` per step, so the row
drifts for some tens of steps, each at most about the learning rate; momentum's velocity
decays by ``mu``). A row whose token never occurs in training (an id no sequence holds)
never moves: its moments stay 0. torch's ``nn.Embedding`` with dense gradients and
``Adam`` behaves the same; a lazy step (``torch.optim.SparseAdam``, TensorFlow Addons'
``LazyAdam``) would update only the rows present.

**Cost.** ``S^T da`` is one sparse product over the rows present only: the ``k``
distinct ids of the batch (``np.unique``, a sort of the ``n`` ids), ``S^T`` of shape
``(k, n)`` with a single 1 per column, so the backward pass costs ``O(n log n + n d)``
whatever ``V``: no Python loop over tokens, and no ``(V, d)`` temporary. ``dE`` stays
the full ``(V, d)`` array the optimiser reads: the backward zeroes only the rows the
previous batch wrote, every other row is 0 already. (The optimiser's step and
``clip_norm``'s norm still run over the whole table, ``O(V d)`` per batch.) Ids have no
gradient: nothing upstream of an embedding learns.

Plain numpy and scipy.sparse; nothing from scikit-learn.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .layers import Layer, Param
from .sequences import SequenceBatch, Sequences

#: the padding id: never a token, its row of ``E`` is 0 and never learns (the one
#: definition: TextSequencer and the estimators' token-id input pad with it too)
PAD = 0


class Embedding(Layer):
    """A learned lookup table from token ids to vectors: ``a[t, i] = E[x[t, i]]``.

    Parameters
    ----------
    E : ndarray of shape (V, d)
        The table, a reference to the estimator's fitted ``embeddings_``; row 0 (padding)
        should be 0. It is **not penalised** by L2: the penalty would shrink every row at
        every step, including the rows of the tokens that the batch does not contain, so
        a rare token's vector would decay towards 0 between its occurrences (Keras does
        not regularise embeddings by default either). The next layer's ``W_x``, which is
        penalised, keeps the scale of what the embeddings feed in.

    The input is the :class:`~sknnedu.nn.sequences.Sequences` of a batch, each sequence
    a ``(T_i, 1)`` array of ids, or its padded :class:`~sknnedu.nn.sequences.SequenceBatch`
    ``(T, m, 1)`` (padded with 0). The output is a ``SequenceBatch`` of shape
    ``(T, m, d)`` with the same lengths, which a recurrent layer reads.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.nn.embedding import Embedding
    >>> from sknnedu.nn.sequences import Sequences
    >>> E = np.arange(8.0).reshape(4, 2); E[0] = 0        # V = 4 ids, d = 2
    >>> layer = Embedding(E)
    >>> out = layer.forward(Sequences([np.array([[2], [3], [2]]), np.array([[1]])]))
    >>> out.data[:, 0].tolist(), out.data[:, 1].tolist()  # time-major; padding reads 0
    ([[4.0, 5.0], [6.0, 7.0], [4.0, 5.0]], [[2.0, 3.0], [0.0, 0.0], [0.0, 0.0]])
    >>> layer.backward(np.ones_like(out.data), need_input_grad=False)
    >>> layer.grads[0].tolist()                           # id 2 occurs twice
    [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [1.0, 1.0]]
    """

    #: the dtype a network pads its batches of token ids into for this first layer
    input_dtype = np.dtype(np.intp)

    def __init__(self, E: np.ndarray) -> None:
        if E.ndim != 2:
            raise ValueError(f"E must be a 2-D array (V, d); got shape {E.shape}.")
        self.declare(Param("E", E, False))
        # a copy of d numbers per step: no product, but count it as one multiply-add each
        self.flops = float(E.shape[1])
        # the dE buffer known to be 0 outside _rows (the network may swap it for a view)
        self._clean, self._rows = None, None

    def forward(self, a_prev, training: bool = False) -> SequenceBatch:
        """``E[ids]`` of shape ``(T, m, d)``, from ids of shape ``(T, m, 1)`` (padded with 0).

        One gather (``np.take``) into a buffer reused between batches; the ids are kept
        for the backward pass.
        """
        E = self.params[0]
        batch = a_prev.pad(self.input_dtype) if isinstance(a_prev, Sequences) else a_prev
        ids = batch.data[:, :, 0]
        if ids.dtype.kind not in "iu":
            ids = ids.astype(np.intp)
        T, m = ids.shape
        out = self.buffer("out", (T, m, E.shape[1]), E.dtype)
        np.take(E, ids, axis=0, out=out)
        self._ids = ids
        return SequenceBatch(out, batch.lengths)

    def backward(self, da, need_input_grad: bool = True) -> None:
        """``dE = S^T da`` with ``S`` the one-hot matrix of the ids; ``dE[0] = 0``.

        Only the rows of the ids present are computed: with ``rows`` the ``k`` distinct
        ids of the batch and ``slot[j]`` the place of position ``j``'s id among them,
        ``dE[rows] = S_k^T da``, ``S_k^T`` of shape ``(k, n)`` with one 1 per column. The
        rows written by the previous batch are zeroed first; the rest of ``dE`` is 0.

        Parameters
        ----------
        da : ndarray of shape (T, m, d)
            ``dJ/da`` at every step (0 at padded steps, as a recurrent layer sends).
        need_input_grad : bool
            Ignored: ids are integers and have no gradient, so this returns None.
        """
        dE = self.grads[0]
        if dE is not self._clean:  # a new buffer (e.g. the network's view): zero it once
            dE[...] = 0
            self._clean, self._rows = dE, None
        elif self._rows is not None:
            dE[self._rows] = 0
        ids = self._ids.ravel()
        n = ids.size
        rows, slot = np.unique(ids, return_inverse=True)
        # S_k^T: column j holds a single 1, at row slot[j]; (k, n) in CSC form needs no sort
        St = sp.csc_matrix((np.ones(n, dtype=dE.dtype), slot.ravel(), np.arange(n + 1)),
                           shape=(rows.size, n))
        dE[rows] = St @ da.reshape(n, -1)
        dE[PAD] = 0
        self._rows = rows
        return None


def init_embedding(vocabulary_size: int, dim: int, rng, dtype,
                   scale: float = 0.1) -> np.ndarray:
    """Initial ``E`` of shape ``(V, d)``: ``E[v] ~ N(0, scale^2 I)`` for ``v >= 1``, ``E[0] = 0``.

    Small rows (``scale = 0.1``, between Keras' ``U(-0.05, 0.05)`` and torch's
    ``N(0, 1)``): a row moves only when its token occurs, so what the table holds after
    training is then mostly what the task taught it, not its random start. Tokens that
    play the same part end up near each other (the letters of
    ``examples/plot_text_brackets.py``), which unit-variance rows would hide under their
    random spread; accuracy was the same with both on the brackets and on
    ``benchmarks/bench_text.py``. The padding row is 0.

    Parameters
    ----------
    vocabulary_size, dim : int
        ``V`` and ``d``.
    rng : numpy.random.RandomState
    dtype : numpy dtype
    scale : float, default=0.1
        Standard deviation of each entry.
    """
    E = scale * rng.normal(size=(vocabulary_size, dim))
    E[PAD] = 0.0
    return np.ascontiguousarray(E, dtype=dtype)
