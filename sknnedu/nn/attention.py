"""Attention: every step reads every other step, and the Transformer encoder layer.

**From one state to all of them.** A recurrent layer (:mod:`sknnedu.nn.recurrent`) carries
the past in one state ``h_t`` of ``h`` numbers: whatever step 3 means to step 90 has to
survive 87 products by ``W_h``, and the gradient the same way back. Attention drops the
bottleneck. Each step's output is a weighted mean of *all* the steps' values, with weights
computed from the data, so any two steps are one product apart, and all steps are computed
at once (a few large products, no loop over time).

**Queries, keys, values.** For a sequence ``X`` of ``T`` steps of ``d`` features
(``(T, d)``), three projections, as a dense layer's ``z[l] = a[l-1] W[l] + b[l]``::

    Q = X W_q + b_q,   K = X W_k + b_k,   V = X W_v + b_v          (T, d_k) each
    S = Q K^T / sqrt(d_k)                 S[t, t'] = q_t . k_t' / sqrt(d_k)   (T, T)
    P = softmax(S) row by row             P[t, :] >= 0, sums to 1             (T, T)
    out = P V                             out_t = sum_t' P[t, t'] v_t'        (T, d_k)

Step ``t`` asks a question ``q_t``; each step ``t'`` advertises a key ``k_t'`` and offers a
value ``v_t'``; ``t`` takes the values in proportion to ``exp(q_t . k_t')``. **Multi-head**
attention runs ``H`` of these side by side on ``d_k = d / H`` features each (one head can
follow the previous token while another matches brackets), concatenates the ``H`` outputs
back to ``d`` features and mixes them with an output projection ``W_o``.

**The scale.** If the ``d_k`` entries of ``q`` and ``k`` are independent with mean 0 and
variance 1, ``q . k`` is a sum of ``d_k`` unit-variance terms: variance ``d_k``. For
``d_k = 64`` the scores spread over +-8 and more, the softmax puts nearly all its weight on
one key, and its gradient (below) nearly vanishes. Dividing by ``sqrt(d_k)`` brings the
scores back to variance 1, out of saturation (Vaswani et al. 2017, section 3.2.1).

**The backward pass** is three products and the softmax's Jacobian-vector product::

    dV = P^T dout                                     (T, d_k)
    dP = dout V^T                                     (T, T)
    dS = P * (dP - sum_t' (dP * P)[:, t'])            (T, T)
    dQ = dS K / sqrt(d_k),   dK = dS^T Q / sqrt(d_k)  (T, d_k)

The third line is ``dS = J^T dP`` row by row, ``J = diag(p) - p p^T`` the softmax's
Jacobian: ``(diag(p) - p p^T) g = p * g - p (p . g) = p * (g - p . g)``. It costs one
element-wise product and one sum per row; the ``(T, T)`` Jacobian of each row is never built.

**Masks.** A batch of ragged sequences is one zero-padded array
(:class:`~sknnedu.nn.sequences.SequenceBatch`). A padded key ``t' >= T_i`` gets
``S = -inf`` before the softmax, so ``P = exp(-inf) = 0`` there: no query reads it, and
``dS = P * (...) = 0`` sends it no gradient. (A large negative number would not do: with
every key masked, ``softmax`` of equal numbers spreads the weight evenly over padding.)
A query of a sequence of length 0 has every key masked; its row of ``P`` is 0, not NaN.
A **causal** mask also hides the future, ``t' > t``, so that step ``t`` reads ``x_1..x_t``
only (a language model; a classifier reads both ways). The padded steps of the output are
set to 0, and since only valid queries and keys carry gradient, a sequence's result does
not depend on the rest of its batch.

**Positions.** ``P V`` is a weighted *sum*: shuffle the steps and each output is
shuffled the same way, otherwise unchanged. Attention alone sees a set, not a sequence, so
the order is added to the input as a vector per position (:mod:`sknnedu.nn.positions`):
sines and cosines of the position at geometric frequencies, or a learned table.

**The encoder layer** (:func:`encoder_layer`) is attention and a position-wise two-layer
network, each wrapped in a residual connection and a layer normalisation, as torch's
``nn.TransformerEncoderLayer``.

Plain numpy; nothing from scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .layers import Layer, Param, buffer, dropout_layers
from .normalization import LayerNorm
from .residual import Fork, Join
from .sequence_conv import Conv1D
from .sequences import SequenceBatch, Sequences


def attention_forward(Q: np.ndarray, K: np.ndarray, V: np.ndarray,
                      key_mask: np.ndarray | None, causal: bool = False,
                      dropout: float = 0.0, rng=None, *,
                      bufs: dict | None = None) -> tuple[np.ndarray, dict]:
    """Scaled dot-product attention of ``m`` samples and ``H`` heads at once.

    ::

        S   = Q K^T / sqrt(d_k)                    (m, H, T, T)
        S[..., t, t'] = -inf  where key t' is masked (padded, or t' > t when causal)
        P   = softmax(S) over the keys t'          (m, H, T, T), rows of 0 if all masked
        P~  = P * keep / (1 - p)                   dropout (inverted), training only
        out = P~ V                                 (m, H, T, d_k)

    Dividing by ``sqrt(d_k)``: a dot product of ``d_k`` terms of unit variance has
    variance ``d_k``; scaled back to 1, the softmax stays out of saturation, where its
    gradient vanishes. The softmax subtracts each row's maximum before ``exp``.

    Parameters
    ----------
    Q, K, V : ndarrays of shape (m, H, T, d_k)
        Queries, keys and values of every sample, head and step.
    key_mask : ndarray of bool, shape (m, T), or None
        ``key_mask[i, t]``: step ``t`` of sample ``i`` is a valid key (not padding).
        None: every key is valid.
    causal : bool, default=False
        Also mask the keys after the query (``t' > t``).
    dropout : float in [0, 1), default=0.0
        Probability of dropping each attention weight ``P[..., t, t']``; 0 outside training.
    rng : numpy.random.Generator or RandomState, optional
        Draws the dropout mask (uniform float64 numbers, kept where one is ``>= p``, as
        :class:`~sknnedu.nn.layers.Dropout`). Needed when ``dropout > 0``.
    bufs : dict, optional
        Buffers reused between calls (a layer passes its own); None allocates.

    Returns
    -------
    out : ndarray of shape (m, H, T, d_k)
    cache : dict
        What :func:`attention_backward` needs: ``Q, K, V, P``, the dropped ``P~``, the
        dropout's scaled mask ``keep`` (or None) and ``scale = 1 / sqrt(d_k)``.
    """
    bufs = {} if bufs is None else bufs
    m, H, T, d_k = Q.shape
    dtype = Q.dtype
    scale = dtype.type(1.0 / np.sqrt(d_k))
    S = buffer(bufs, "S", (m, H, T, T), dtype)
    np.matmul(Q, K.swapaxes(-1, -2), out=S)
    S *= scale
    allowed = None if key_mask is None else key_mask[:, None, None, :]  # (m, 1, 1, T)
    if causal:
        past = np.tri(T, dtype=bool)                                    # t' <= t
        allowed = past if allowed is None else allowed & past
    if allowed is not None:
        np.copyto(S, -np.inf, where=~allowed)
    # stable softmax: subtract the row's maximum; a row of -inf only has maximum 0
    row_max = S.max(axis=-1, keepdims=True)
    row_max[~np.isfinite(row_max)] = 0
    S -= row_max
    P = np.exp(S, out=S)
    total = P.sum(axis=-1, keepdims=True)
    total[total == 0] = 1                           # every key masked: P stays 0
    P /= total
    keep, P_drop = None, P
    if dropout > 0:
        # drawn in float64 whatever the dtype, as nn.layers.Dropout
        keep = (rng.random(P.shape) >= dropout) * dtype.type(1.0 / (1.0 - dropout))
        P_drop = P * keep
    out = buffer(bufs, "out", (m, H, T, d_k), dtype)
    np.matmul(P_drop, V, out=out)
    cache = {"Q": Q, "K": K, "V": V, "P": P, "P_drop": P_drop, "keep": keep,
             "scale": scale, "bufs": bufs}
    return out, cache


def attention_backward(dout: np.ndarray, cache: dict, *,
                       out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of :func:`attention_forward`: three products and the softmax's JVP.

    ::

        dV  = P~^T dout                            (m, H, T, d_k)
        dP~ = dout V^T,   dP = dP~ * keep / (1-p)  (m, H, T, T)
        dS  = P * (dP - sum_t' dP * P)             (m, H, T, T)  softmax JVP, per row
        dQ  = dS K / sqrt(d_k)                     (m, H, T, d_k)
        dK  = dS^T Q / sqrt(d_k)                   (m, H, T, d_k)

    ``dS = (diag(p) - p p^T) dP`` for each row ``p`` of ``P``, written without the
    Jacobian. A masked key has ``P = 0``, so ``dS = 0`` there: no gradient reaches it.

    Parameters
    ----------
    dout : ndarray of shape (m, H, T, d_k)
        ``dJ/dout``.
    cache : dict
        From :func:`attention_forward`.
    out : tuple of three ndarrays of shape (m, H, T, d_k), optional
        Where to write ``dQ, dK, dV`` (a layer passes views of one buffer).

    Returns
    -------
    dQ, dK, dV : ndarrays of shape (m, H, T, d_k)
    """
    Q, K, V, P = cache["Q"], cache["K"], cache["V"], cache["P"]
    scale, bufs = cache["scale"], cache["bufs"]
    dQ, dK, dV = (np.empty_like(Q), np.empty_like(K), np.empty_like(V)) if out is None else out
    np.matmul(cache["P_drop"].swapaxes(-1, -2), dout, out=dV)
    dS = buffer(bufs, "dS", P.shape, P.dtype)
    np.matmul(dout, V.swapaxes(-1, -2), out=dS)                         # dP~
    if cache["keep"] is not None:
        dS *= cache["keep"]                                             # dP
    dS -= np.einsum("...ij,...ij->...i", dS, P)[..., None]              # dP - sum(dP * P)
    dS *= P                                                             # dS
    np.matmul(dS, K, out=dQ)
    dQ *= scale
    np.matmul(dS.swapaxes(-1, -2), Q, out=dK)
    dK *= scale
    return dQ, dK, dV


class MultiHeadSelfAttention(Layer):
    """Multi-head self-attention over a padded batch of sequences.

    For each sequence, ``d`` features split into ``H`` heads of ``d_k = d / H``::

        [Q | K | V] = X W_qkv + b_qkv              (T, 3 d), one product over all T m steps
        Q, K, V     -> (m, H, T, d_k)              split into heads (reshape, transpose)
        O           = attention(Q, K, V)           (m, H, T, d_k), :func:`attention_forward`
        Y           = concat_heads(O) W_o + b_o    (T, m, d), 0 at padded steps

    Backward: ``dW_o = O^T dY``, ``dO = dY W_o^T``, :func:`attention_backward` for
    ``dQ, dK, dV``, merged into ``dZ`` of shape (T m, 3 d); then ``dW_qkv = X^T dZ`` (one
    product), ``db_qkv = sum dZ``, ``dX = dZ W_qkv^T``.

    Parameters
    ----------
    W_qkv : ndarray of shape (d, 3 d)
        Columns ``[W_q | W_k | W_v]``, each head's ``d_k`` columns consecutive in each.
    b_qkv : ndarray of shape (3 d,)
    W_o : ndarray of shape (d, d)
    b_o : ndarray of shape (d,)
    n_heads : int
        ``H``; must divide ``d``.
    causal : bool, default=False
        Step ``t`` attends only to steps ``t' <= t``.
    dropout : float in [0, 1), default=0.0
        Dropout on the attention weights, when ``forward(..., training=True)`` only.
    rng : numpy.random.Generator, optional
        Draws the dropout masks (as :class:`~sknnedu.nn.layers.Dropout`); needed when
        ``dropout > 0``.

    The input is a :class:`~sknnedu.nn.sequences.SequenceBatch` ``(T, m, d)``, time-major
    (or :class:`~sknnedu.nn.sequences.Sequences`, padded here); the output a new one of
    the same shape and lengths. Keys are masked by the lengths.

    Notes
    -----
    torch's ``nn.MultiheadAttention(d, H, batch_first=True)`` holds the same arrays,
    transposed: ``in_proj_weight = W_qkv.T`` (3 d, d), ``in_proj_bias = b_qkv``,
    ``out_proj.weight = W_o.T``, ``out_proj.bias = b_o``. Call it as
    ``attn(x, x, x, key_padding_mask=~mask.T)`` with ``x = data.transpose(1, 0, 2)``
    (torch masks where the flag is True). Its output at padded queries is not 0; here it is.
    """

    def __init__(self, W_qkv: np.ndarray, b_qkv: np.ndarray, W_o: np.ndarray,
                 b_o: np.ndarray, n_heads: int, causal: bool = False,
                 dropout: float = 0.0, rng: np.random.Generator | None = None) -> None:
        d = W_o.shape[0]
        if W_qkv.shape != (d, 3 * d) or b_qkv.shape != (3 * d,) or W_o.shape != (d, d) \
                or b_o.shape != (d,):
            raise ValueError(
                f"For a model width d = {d}, W_qkv must be ({d}, {3 * d}), b_qkv ({3 * d},), "
                f"W_o ({d}, {d}) and b_o ({d},); got {W_qkv.shape}, {b_qkv.shape}, "
                f"{W_o.shape} and {b_o.shape}.")
        if n_heads < 1 or d % n_heads:
            raise ValueError(f"n_heads must divide the model width {d}; got {n_heads}.")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}.")
        if dropout > 0 and rng is None:
            raise ValueError("dropout > 0 needs rng, a numpy Generator, to draw its masks.")
        self.declare(Param("W_qkv", W_qkv, True), Param("b_qkv", b_qkv, False),
                     Param("W_o", W_o, True), Param("b_o", b_o, False))
        self.n_heads, self.causal, self.dropout, self.rng = n_heads, causal, dropout, rng
        # multiply-adds per sample and step: the projections; forward adds 2 T d for S, P V
        self.flops = float(4 * d * d)
        self._attention_bufs: dict = {}

    def forward(self, a_prev, training: bool = False) -> SequenceBatch:
        """``Y`` of shape (T, m, d) from ``X`` of shape (T, m, d), 0 at padded steps."""
        W_qkv, b_qkv, W_o, b_o = self.params
        dtype = W_qkv.dtype
        batch = a_prev.pad(dtype) if isinstance(a_prev, Sequences) else a_prev
        X = batch.data
        T, m, d = X.shape
        H = self.n_heads
        d_k = d // H
        self.flops = float(4 * d * d + 2 * T * d)
        Z = self.buffer("Z", (T, m, 3 * d), dtype)
        np.matmul(X.reshape(T * m, d), W_qkv, out=Z.reshape(T * m, 3 * d))
        Z += b_qkv
        # (T, m, [Q|K|V], H, d_k) -> ([Q|K|V], m, H, T, d_k): one copy, contiguous heads
        heads = self.buffer("heads", (3, m, H, T, d_k), dtype)
        np.copyto(heads, Z.reshape(T, m, 3, H, d_k).transpose(2, 1, 3, 0, 4))
        p = self.dropout if training else 0.0
        O, self._cache = attention_forward(heads[0], heads[1], heads[2], batch.mask.T,
                                           self.causal, p, self.rng,
                                           bufs=self._attention_bufs)
        merged = self.buffer("merged", (T, m, H, d_k), dtype)
        np.copyto(merged, O.transpose(2, 0, 1, 3))                     # concat the heads
        Y = self.buffer("Y", (T, m, d), dtype)
        np.matmul(merged.reshape(T * m, d), W_o, out=Y.reshape(T * m, d))
        Y += b_o
        if not batch.full.all():
            np.copyto(Y, 0, where=~batch.mask[:, :, None])
        self._batch, self._merged = batch, merged
        return SequenceBatch(Y, batch.lengths)

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dJ/dX`` (T, m, d) from ``dJ/dY`` (T, m, d); fills ``grads``."""
        W_qkv, _, W_o, _ = self.params
        dW_qkv, db_qkv, dW_o, db_o = self.grads
        batch = self._batch
        X = batch.data
        T, m, d = X.shape
        H = self.n_heads
        d_k = d // H
        dtype = W_qkv.dtype
        dY = da
        if not batch.full.all():  # a padded step's gradient reaches nothing
            dY = self.buffer("dY", (T, m, d), dtype)
            np.multiply(da, batch.mask[:, :, None], out=dY)
        dY2 = dY.reshape(T * m, d)
        np.matmul(self._merged.reshape(T * m, d).T, dY2, out=dW_o)
        np.sum(dY2, axis=0, out=db_o)
        d_merged = self.buffer("d_merged", (T, m, H, d_k), dtype)
        np.matmul(dY2, W_o.T, out=d_merged.reshape(T * m, d))
        dO = self.buffer("dO", (m, H, T, d_k), dtype)
        np.copyto(dO, d_merged.transpose(1, 2, 0, 3))                   # split the heads
        d_heads = self.buffer("d_heads", (3, m, H, T, d_k), dtype)
        attention_backward(dO, self._cache, out=(d_heads[0], d_heads[1], d_heads[2]))
        dZ = self.buffer("dZ", (T, m, 3 * d), dtype)
        np.copyto(dZ.reshape(T, m, 3, H, d_k), d_heads.transpose(3, 1, 0, 2, 4))
        dZ2 = dZ.reshape(T * m, 3 * d)
        np.matmul(X.reshape(T * m, d).T, dZ2, out=dW_qkv)
        np.sum(dZ2, axis=0, out=db_qkv)
        if not need_input_grad:
            return None
        dX = self.buffer("dX", (T, m, d), dtype)
        np.matmul(dZ2, W_qkv.T, out=dX.reshape(T * m, d))   # 0 at padded steps: dZ is
        return dX


def init_attention(d: int, rng, dtype) -> list[np.ndarray]:
    """Initial ``[W_qkv, b_qkv, W_o, b_o]``, as torch's ``nn.MultiheadAttention``.

    ``W_qkv ~ U(-r, r)``, ``r = sqrt(6 / (d + 3 d))``: Xavier-uniform over the ``(3 d, d)``
    ``in_proj_weight`` as a whole, as torch does; ``W_o ~ U(-1/sqrt(d), 1/sqrt(d))``,
    torch's ``nn.Linear`` default that ``out_proj`` keeps; both biases 0.

    Parameters
    ----------
    d : int
        Model width.
    rng : numpy.random.RandomState or Generator
    dtype : numpy dtype

    Returns
    -------
    [W_qkv, b_qkv, W_o, b_o] : arrays of shapes (d, 3 d), (3 d,), (d, d), (d,)
    """
    r = np.sqrt(6.0 / (d + 3 * d))
    W_qkv = rng.uniform(-r, r, (d, 3 * d))
    W_o = rng.uniform(-1 / np.sqrt(d), 1 / np.sqrt(d), (d, d))
    return [np.ascontiguousarray(a, dtype=dtype)
            for a in (W_qkv, np.zeros(3 * d), W_o, np.zeros(d))]


#: The arrays of one encoder layer, in the order of :func:`init_encoder_layer`.
ENCODER_PARAMS = ("W_qkv", "b_qkv", "W_o", "b_o", "W_1", "b_1", "W_2", "b_2",
                  "gamma_1", "beta_1", "gamma_2", "beta_2")


def encoder_layer(params, n_heads: int, norm_first: bool = False, activation: str = "relu",
                  dropout: float = 0.0, rng: np.random.Generator | None = None, *,
                  causal: bool = False, eps: float = 1e-5) -> list[Layer]:
    """One Transformer encoder layer as a flat list of layers, applied in order.

    Post-norm (``norm_first=False``, Vaswani et al. and torch's default)::

        x = LN_1(x + Drop(MHSA(x)))
        x = LN_2(x + Drop(FF(x)))

    Pre-norm (``norm_first=True``; trains deep stacks more easily, and a stack of them
    wants one more :class:`~sknnedu.nn.normalization.LayerNorm` at its end, as torch's
    ``nn.TransformerEncoder(norm=...)``)::

        x = x + Drop(MHSA(LN_1(x)))
        x = x + Drop(FF(LN_2(x)))

    with the position-wise feed-forward network, the same two-layer network at every
    step (two :class:`~sknnedu.nn.sequence_conv.Conv1D` of kernel size 1)::

        FF(x) = Drop(g(x W_1 + b_1)) W_2 + b_2        (T, m, d) -> (T, m, d_ff) -> (T, m, d)

    Each ``x + ...`` is a :class:`~sknnedu.nn.residual.Fork` before the branch and a
    :class:`~sknnedu.nn.residual.Join` after it. Dropout is where torch's
    ``nn.TransformerEncoderLayer`` puts it: on the attention weights, after the attention,
    after ``g`` inside ``FF`` and after ``FF``; with ``dropout = 0`` no dropout layer is made.

    Parameters
    ----------
    params : dict or sequence of 12 ndarrays
        Keyed by, or in the order of, :data:`ENCODER_PARAMS` (:func:`init_encoder_layer`)::

            W_qkv (d, 3 d), b_qkv (3 d,), W_o (d, d), b_o (d,)        attention
            W_1 (1, d, d_ff), b_1 (d_ff,), W_2 (1, d_ff, d), b_2 (d,)  feed-forward
            gamma_1, beta_1, gamma_2, beta_2 (d,)                      the two LayerNorms

        The layers hold references to them (the estimator's fitted arrays).
    n_heads : int
    norm_first : bool, default=False
    activation : str, default='relu'
        ``g`` of the feed-forward network, a key of
        :data:`sknnedu.nn.activations.DERIVATIVES`.
    dropout : float in [0, 1), default=0.0
    rng : numpy.random.Generator, optional
        Draws every dropout mask; needed when ``dropout > 0``.
    causal : bool, default=False
        Attention reads only the steps up to its own.
    eps : float, default=1e-5
        The LayerNorms' ``eps``, torch's ``layer_norm_eps``.

    Returns
    -------
    layers : list of Layer
        Input and output: :class:`~sknnedu.nn.sequences.SequenceBatch` ``(T, m, d)``.

    Notes
    -----
    torch's ``nn.TransformerEncoderLayer(d, n_heads, dim_feedforward=d_ff,
    dropout=dropout, activation=activation, norm_first=norm_first, batch_first=True)``
    holds the same arrays::

        self_attn.in_proj_weight  = W_qkv.T        self_attn.in_proj_bias  = b_qkv
        self_attn.out_proj.weight = W_o.T          self_attn.out_proj.bias = b_o
        linear1.weight = W_1[0].T  (d_ff, d)       linear1.bias = b_1
        linear2.weight = W_2[0].T  (d, d_ff)       linear2.bias = b_2
        norm1.weight = gamma_1    norm1.bias = beta_1
        norm2.weight = gamma_2    norm2.bias = beta_2

    called as ``layer(x, src_key_padding_mask=~mask.T)`` with ``x = data.transpose(1, 0, 2)``
    (its output at padded steps is not 0; here it is).
    """
    if isinstance(params, dict):
        missing = [name for name in ENCODER_PARAMS if name not in params]
        if missing:
            raise ValueError(f"params lacks {missing}; an encoder layer needs "
                             f"{list(ENCODER_PARAMS)}.")
        params = [params[name] for name in ENCODER_PARAMS]
    if len(params) != len(ENCODER_PARAMS):
        raise ValueError(f"params must be the {len(ENCODER_PARAMS)} arrays "
                         f"{list(ENCODER_PARAMS)}; got {len(params)}.")
    W_qkv, b_qkv, W_o, b_o, W_1, b_1, W_2, b_2, gamma_1, beta_1, gamma_2, beta_2 = params

    attention = [MultiHeadSelfAttention(W_qkv, b_qkv, W_o, b_o, n_heads, causal=causal,
                                        dropout=dropout, rng=rng), *dropout_layers(dropout, rng)]
    feed_forward = [Conv1D(W_1, b_1, activation=activation), *dropout_layers(dropout, rng),
                    Conv1D(W_2, b_2), *dropout_layers(dropout, rng)]
    norm_1, norm_2 = LayerNorm(gamma_1, beta_1, eps), LayerNorm(gamma_2, beta_2, eps)
    fork_1, fork_2 = Fork(), Fork()
    if norm_first:
        return [fork_1, norm_1, *attention, Join(fork_1),
                fork_2, norm_2, *feed_forward, Join(fork_2)]
    return [fork_1, *attention, Join(fork_1), norm_1,
            fork_2, *feed_forward, Join(fork_2), norm_2]


def init_encoder_layer(d: int, d_ff: int, rng, dtype) -> list[np.ndarray]:
    """Initial arrays of an encoder layer, in the order of :data:`ENCODER_PARAMS`.

    As torch's ``nn.TransformerEncoderLayer``: the attention as :func:`init_attention`;
    each feed-forward layer torch's ``nn.Linear`` default, weight and bias
    ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (``fan_in = d`` for ``W_1``, ``d_ff`` for
    ``W_2``); the LayerNorms ``gamma = 1``, ``beta = 0``.

    Parameters
    ----------
    d, d_ff : int
        Model width and the feed-forward network's hidden width (torch's
        ``dim_feedforward``, 4 d in Vaswani et al.).
    rng : numpy.random.RandomState or Generator
    dtype : numpy dtype

    Returns
    -------
    list of 12 ndarrays
        ``W_qkv (d, 3 d), b_qkv (3 d,), W_o (d, d), b_o (d,), W_1 (1, d, d_ff), b_1 (d_ff,),
        W_2 (1, d_ff, d), b_2 (d,), gamma_1, beta_1, gamma_2, beta_2 (d,)``.
    """
    def linear(fan_in: int, fan_out: int) -> list[np.ndarray]:
        r = 1 / np.sqrt(fan_in)
        return [rng.uniform(-r, r, (1, fan_in, fan_out)), rng.uniform(-r, r, fan_out)]

    arrays = init_attention(d, rng, dtype) + linear(d, d_ff) + linear(d_ff, d)
    arrays += [np.ones(d), np.zeros(d), np.ones(d), np.zeros(d)]
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]
