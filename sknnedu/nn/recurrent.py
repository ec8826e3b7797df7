"""Recurrent layers and backpropagation through time.

A sequence is ``x_1 .. x_T``, each ``x_t`` of shape ``(m, f)`` for a batch of ``m``.
A recurrent layer carries a state ``h_t`` of ``h`` units from step to step, starting
at ``h_0 = 0``. Its three parameters hold all its gates side by side, ``G`` of them::

    W_x : (f, G h)     input weights       (penalised by L2)
    W_h : (h, G h)     recurrent weights   (penalised by L2)
    b   : (G h,)       bias

The cells, each gate's slice of a ``G h``-wide array in the order listed:

``'rnn'`` (Elman), G = 1::

    h_t = tanh(x_t W_x + h_{t-1} W_h + b)

``'lstm'``, torch's form and gate order, G = 4::

    [i, f, g, o] = x_t W_x + h_{t-1} W_h + b
    i, f, o = sigmoid(.),  g = tanh(.)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

``'gru'``, Cho et al. 2014 (reset gate before the product), G = 3::

    [r, z] = sigmoid(x_t W_x[:, :2h] + h_{t-1} W_h[:, :2h] + b[:2h])
    n      = tanh(x_t W_x[:, 2h:] + (r * h_{t-1}) W_h[:, 2h:] + b[2h:])
    h_t    = (1 - z) * n + z * h_{t-1}

**Backpropagation through time.** Unrolled, the layer is a deep network with one layer
per step that shares ``W_x, W_h, b``. Going back from ``t = T`` to 1, the gradient of
the state collects what step ``t``'s output sends (``dH[t]``) and what step ``t + 1``
sends back through ``W_h``; each step turns it into ``dA[t] = dJ/d(pre-activations)``.
Shared weights add up their steps' gradients::

    dW_x = sum_t x_t^T dA[t]          one product after the loop: X^T dA
    dW_h = sum_t h_{t-1}^T dA[t]      one product after the loop
    db   = sum_t sum_i dA[t]

The input projection ``x_t W_x + b`` of every step is one product before the loop, so
only ``h_{t-1} W_h`` stays inside it. A mask carries ragged lengths: at a padded step
(``t >= T_i``) the state is copied through (``h_t = h_{t-1}``, ``c_t = c_{t-1}``) and
no gradient reaches the weights or the input. So the state after the last step equals
the state at each sequence's own last valid step, and the backward direction of a
bidirectional layer, which runs ``t = T .. 1``, starts every sequence at its own end.

Memory is ``O(T m G h)``: one batch's steps, never the data set's. Plain numpy (and
scipy's ``expit``); nothing from scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .layers import Layer
from .sequences import SequenceBatch, Sequences

#: cell name -> number of gates G
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def sigmoid(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``sigma(z) = 1 / (1 + exp(-z))`` into ``out`` (which may be ``z``).

    Four ufuncs that numpy runs in SIMD: several times faster than scipy's ``expit`` on
    the small float32 blocks of one step. ``exp(-z)`` overflows to inf for very negative
    ``z``, giving the right limit 0 (callers silence the warning with ``np.errstate``).
    """
    np.negative(z, out=out)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def tanh(z: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``tanh(z) = 2 sigma(2 z) - 1`` into ``out`` (which may be ``z``): as :func:`sigmoid`,
    faster than ``np.tanh`` on small blocks; exact to a few units of the dtype's rounding."""
    np.multiply(z, -2, out=out)
    np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)
    out *= 2
    out -= 1
    return out


def _buffer(bufs: dict, name: str, shape: tuple, dtype) -> np.ndarray:
    """A reused buffer of ``shape``: one flat array per name, grown when too small."""
    size = int(np.prod(shape))
    buf = bufs.get(name)
    if buf is None or buf.size < size or buf.dtype != dtype:
        buf = bufs[name] = np.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)


class Recurrent(Layer):
    """A recurrent layer, one or two directions, with its backward pass through time.

    Parameters
    ----------
    params : list of ndarray
        ``[W_x, W_h, b]`` for one direction, ``[W_x, W_h, b, W_x', W_h', b']`` for two
        (forward first), of shapes ``(f, G h)``, ``(h, G h)``, ``(G h,)``. References to
        the estimator's fitted arrays.
    cell : {'rnn', 'lstm', 'gru'}

    The input is a :class:`~sknnedu.nn.sequences.Sequences` (the first layer pads it)
    or the :class:`~sknnedu.nn.sequences.SequenceBatch` of the layer below; the output
    is a ``SequenceBatch`` of the states, ``(T, m, D h)`` for ``D`` directions
    (forward first). ``backward`` takes ``dJ/dH`` of that shape and returns ``dJ/dX``.
    """

    def __init__(self, params: list[np.ndarray], cell: str) -> None:
        if cell not in GATES:
            raise ValueError(f"Unknown cell {cell!r}; expected one of {sorted(GATES)}.")
        if len(params) not in (3, 6):
            raise ValueError(f"params must be [W_x, W_h, b] per direction; got {len(params)}.")
        self.cell = cell
        self.params = list(params)
        self.grads = [np.empty_like(p) for p in params]
        self.directions = len(params) // 3
        names = ("W_x", "W_h", "b")
        self.param_names = names if self.directions == 1 else tuple(
            n + s for s in ("", "_reverse") for n in names)
        self.penalized = (True, True, False) * self.directions
        f, gh = params[0].shape
        self.units = params[1].shape[0]
        # multiply-adds per sample and step: the input projection and the recurrence
        self.flops = float(self.directions * (f + self.units) * gh)
        self._bufs: dict = {}

    # ----------------------------------------------------------------- forward

    def forward(self, a_prev, training: bool = False) -> SequenceBatch:
        """The states ``h_t`` of every step, ``(T, m, D h)``, keeping what backward needs."""
        W_x = self.params[0]
        batch = a_prev.pad(W_x.dtype) if isinstance(a_prev, Sequences) else a_prev
        T, m, _ = batch.data.shape
        h, D = self.units, self.directions
        self._steps = [self._direction_forward(d, batch, *self.params[3 * d: 3 * d + 3])
                       for d in range(D)]
        self._batch = batch
        if D == 1:  # the states themselves: no copy
            return SequenceBatch(self._steps[0]["H"], batch.lengths)
        out = _buffer(self._bufs, "out", (T, m, D * h), W_x.dtype)
        for d, cache in enumerate(self._steps):  # forward first, then backward
            out[:, :, d * h:(d + 1) * h] = cache["H"]
        return SequenceBatch(out, batch.lengths)

    def _direction_forward(self, d: int, batch: SequenceBatch, W_x, W_h, b) -> dict:
        X = batch.data
        T, m, f = X.shape
        h, dtype = self.units, W_x.dtype
        # the input projection of every step at once: (T m, f) (f, G h), then + b
        A = _buffer(self._bufs, f"A{d}", (T, m, W_x.shape[1]), dtype)
        np.matmul(X.reshape(T * m, f), W_x, out=A.reshape(T * m, -1))
        A += b
        H = _buffer(self._bufs, f"H{d}", (T, m, h), dtype)
        cache = {"A": A, "H": H}
        if self.cell == "lstm":
            cache["C"] = _buffer(self._bufs, f"C{d}", (T, m, h), dtype)
            cache["TC"] = _buffer(self._bufs, f"TC{d}", (T, m, h), dtype)
        elif self.cell == "gru":
            cache["RH"] = _buffer(self._bufs, f"RH{d}", (T, m, h), dtype)
        zeros = np.zeros((m, h), dtype=dtype)
        tmp = _buffer(self._bufs, "tmp", (m, W_x.shape[1]), dtype)
        step = getattr(self, f"_{self.cell}_step")
        h_prev, c_prev = zeros, zeros
        with np.errstate(over="ignore"):  # exp(-z) -> inf is sigma's right limit 0
            self._loop(d, T, batch, step, cache, W_h, h_prev, c_prev, tmp)
        return cache

    def _loop(self, d, T, batch, step, cache, W_h, h_prev, c_prev, tmp) -> None:
        """The loop over time: one step, then padded rows keep their state."""
        H = cache["H"]
        for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
            step(t, cache, W_h, h_prev, c_prev, tmp)
            if not batch.full[t]:  # padded rows keep their state
                keep = ~batch.mask[t][:, None]
                np.copyto(H[t], h_prev, where=keep)
                if self.cell == "lstm":
                    np.copyto(cache["C"][t], c_prev, where=keep)
            h_prev = H[t]
            if self.cell == "lstm":
                c_prev = cache["C"][t]

    def _rnn_step(self, t, cache, W_h, h_prev, c_prev, tmp) -> None:
        """``h_t = tanh(a_t)``, ``a_t = x_t W_x + b + h_{t-1} W_h``."""
        a = cache["A"][t]
        a += np.matmul(h_prev, W_h, out=tmp)
        tanh(a, out=cache["H"][t])

    def _lstm_step(self, t, cache, W_h, h_prev, c_prev, tmp) -> None:
        """Gates ``[i, f, g, o]`` (kept in ``A[t]``), then ``c_t``, ``tanh(c_t)``, ``h_t``."""
        h = self.units
        a = cache["A"][t]
        a += np.matmul(h_prev, W_h, out=tmp)
        i, f, g, o = a[:, :h], a[:, h:2 * h], a[:, 2 * h:3 * h], a[:, 3 * h:]
        g *= 2                # all four gates in one pass: tanh(x) = 2 sigma(2 x) - 1
        sigmoid(a, out=a)
        g *= 2
        g -= 1
        c = cache["C"][t]
        np.multiply(f, c_prev, out=c)
        c += np.multiply(i, g, out=tmp[:, :h])
        tc = tanh(c, out=cache["TC"][t])
        np.multiply(o, tc, out=cache["H"][t])

    def _gru_step(self, t, cache, W_h, h_prev, c_prev, tmp) -> None:
        """Gates ``[r, z, n]`` (kept in ``A[t]``), ``r * h_{t-1}`` kept for backward."""
        h = self.units
        a = cache["A"][t]
        rz = a[:, :2 * h]
        rz += np.matmul(h_prev, W_h[:, :2 * h], out=tmp[:, :2 * h])
        sigmoid(rz, out=rz)
        r, z, n = a[:, :h], a[:, h:2 * h], a[:, 2 * h:]
        rh = np.multiply(r, h_prev, out=cache["RH"][t])
        n += np.matmul(rh, W_h[:, 2 * h:], out=tmp[:, 2 * h:])
        tanh(n, out=n)
        # h_t = (1 - z) n + z h_{t-1} = n + z (h_{t-1} - n)
        out = cache["H"][t]
        np.subtract(h_prev, n, out=out)
        out *= z
        out += n

    # ---------------------------------------------------------------- backward

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dJ/dX`` (T, m, f) from ``dJ/dH`` (T, m, D h); fills ``grads``."""
        batch = self._batch
        X = batch.data
        T, m, f = X.shape
        h = self.units
        dX = _buffer(self._bufs, "dX", (T, m, f), X.dtype) if need_input_grad else None
        for d, cache in enumerate(self._steps):
            W_x, W_h, _ = self.params[3 * d: 3 * d + 3]
            dW_x, dW_h, db = self.grads[3 * d: 3 * d + 3]
            dA = self._direction_backward(d, cache, batch, W_h, da[:, :, d * h:(d + 1) * h])
            dA2 = dA.reshape(T * m, -1)
            # shared weights: every step's gradient, summed by one product each
            np.matmul(X.reshape(T * m, f).T, dA2, out=dW_x)
            np.sum(dA2, axis=0, out=db)
            self._recurrent_weight_grad(d, cache, dA, dW_h)
            if need_input_grad:
                if d == 0:
                    np.matmul(dA2, W_x.T, out=dX.reshape(T * m, f))
                else:
                    dX.reshape(T * m, f)[...] += dA2 @ W_x.T
        return dX

    def _recurrent_weight_grad(self, d: int, cache: dict, dA: np.ndarray, dW_h) -> None:
        """``dW_h = sum_t h_{t-1}^T dA[t]``: ``h_{t-1}`` is the state one step earlier in
        this direction's order (``H[t - 1]`` forward, ``H[t + 1]`` backward, 0 at the start)."""
        H = cache["H"]
        T, m, h = H.shape
        if d == 0:
            prev, grads = H[:T - 1], dA[1:]
        else:
            prev, grads = H[1:], dA[:T - 1]
        prev, grads = prev.reshape((T - 1) * m, h), grads.reshape((T - 1) * m, dA.shape[2])
        if self.cell == "gru":  # the candidate's product reads r * h_{t-1}, not h_{t-1}
            np.matmul(prev.T, grads[:, :2 * h], out=dW_h[:, :2 * h])
            RH = cache["RH"].reshape(T * m, h)
            np.matmul(RH.T, dA.reshape(T * m, -1)[:, 2 * h:], out=dW_h[:, 2 * h:])
        else:
            np.matmul(prev.T, grads, out=dW_h)

    def _direction_backward(self, d: int, cache: dict, batch: SequenceBatch, W_h,
                            dH: np.ndarray) -> np.ndarray:
        """``dA[t]``, the gradient of every step's pre-activations, from ``t = T`` back."""
        T, m, _ = dH.shape
        h, dtype = self.units, W_h.dtype
        dA = _buffer(self._bufs, f"dA{d}", cache["A"].shape, dtype)
        dh = np.zeros((m, h), dtype=dtype)   # dJ/dh_t from the steps after t
        dc = np.zeros((m, h), dtype=dtype) if self.cell == "lstm" else None
        zeros = np.zeros((m, h), dtype=dtype)
        order = range(T - 1, -1, -1) if d == 0 else range(T)
        step = getattr(self, f"_{self.cell}_step_backward")
        for t in order:
            prev = t - 1 if d == 0 else t + 1
            has_prev = 0 <= prev < T
            dh += dH[t]
            keep = None if batch.full[t] else batch.mask[t][:, None]
            dh, dc = step(t, cache, W_h, dA[t], dh, dc, keep,
                          cache["H"][prev] if has_prev else zeros,
                          cache["C"][prev] if has_prev and dc is not None else zeros)
        return dA

    @staticmethod
    def _masked(grad: np.ndarray, keep) -> np.ndarray:
        """The gradient of the rows whose step is valid (others: 0)."""
        return grad if keep is None else grad * keep

    def _rnn_step_backward(self, t, cache, W_h, da, dh, dc, keep, h_prev, c_prev):
        """``da_t = dh_t (1 - h_t^2)``; ``dh_{t-1} = da_t W_h^T`` (+ ``dh_t`` where padded)."""
        H = cache["H"][t]
        np.multiply(self._masked(dh, keep), 1 - H * H, out=da)
        dh_prev = da @ W_h.T
        if keep is not None:
            dh_prev += dh * ~keep
        return dh_prev, None

    def _lstm_step_backward(self, t, cache, W_h, da, dh, dc, keep, h_prev, c_prev):
        """Through ``h_t = o tanh(c_t)`` and ``c_t = f c_{t-1} + i g`` to the four gates::

            dc_t = dc + dh o (1 - tanh(c_t)^2)
            da_i = dc_t g i (1 - i)       da_f = dc_t c_{t-1} f (1 - f)
            da_g = dc_t i (1 - g^2)       da_o = dh tanh(c_t) o (1 - o)
        """
        h = self.units
        a = cache["A"][t]
        i, f, g, o = a[:, :h], a[:, h:2 * h], a[:, 2 * h:3 * h], a[:, 3 * h:]
        tc = cache["TC"][t]
        dh_t = self._masked(dh, keep)
        dc_t = np.multiply(tc, tc)
        np.subtract(1, dc_t, out=dc_t)
        dc_t *= o
        dc_t *= dh_t
        dc_t += self._masked(dc, keep)
        # every gate's derivative at once, s (1 - s), then the candidate's 1 - g^2
        np.subtract(1, a, out=da)
        da *= a
        da_g = da[:, 2 * h:3 * h]
        np.multiply(g, g, out=da_g)
        np.subtract(1, da_g, out=da_g)
        for block, first, second in ((da[:, :h], dc_t, g), (da[:, h:2 * h], dc_t, c_prev),
                                     (da_g, dc_t, i), (da[:, 3 * h:], dh_t, tc)):
            block *= first
            block *= second
        dh_prev = da @ W_h.T
        dc_prev = np.multiply(dc_t, f)
        if keep is not None:
            dh_prev += dh * ~keep
            dc_prev += dc * ~keep
        return dh_prev, dc_prev

    def _gru_step_backward(self, t, cache, W_h, da, dh, dc, keep, h_prev, c_prev):
        """Through ``h_t = (1 - z) n + z h_{t-1}``, the candidate ``n`` and the gates."""
        h = self.units
        a = cache["A"][t]
        r, z, n = a[:, :h], a[:, h:2 * h], a[:, 2 * h:]
        dh_t = self._masked(dh, keep)
        da_n = np.multiply(dh_t * (1 - z), 1 - n * n, out=da[:, 2 * h:])
        d_rh = da_n @ W_h[:, 2 * h:].T                         # dJ/d(r * h_{t-1})
        np.multiply(d_rh * h_prev, r * (1 - r), out=da[:, :h])  # r
        np.multiply(dh_t * (h_prev - n), z * (1 - z), out=da[:, h:2 * h])  # z
        dh_prev = da[:, :2 * h] @ W_h[:, :2 * h].T
        dh_prev += dh_t * z
        dh_prev += d_rh * r
        if keep is not None:
            dh_prev += dh * ~keep
        return dh_prev, None


class Readout(Layer):
    """From the states of every step to one vector per sequence.

    ``'last'``: each sequence's state at its own last valid step, ``h_{T_i}``; with two
    directions, the forward state at the end and the backward state at the start
    (which has read the whole sequence), concatenated forward first.
    ``'mean'``: the mean of the states over the valid steps, ``sum_t m_t h_t / T_i``.

    Parameters
    ----------
    mode : {'last', 'mean'}
    directions : int
        1 or 2: how the ``D h`` features of the states split into directions.
    """

    def __init__(self, mode: str, directions: int = 1) -> None:
        if mode not in ("last", "mean"):
            raise ValueError(f"readout must be 'last' or 'mean'; got {mode!r}.")
        self.mode, self.directions = mode, directions
        self._bufs: dict = {}

    def forward(self, a_prev: SequenceBatch, training: bool = False) -> np.ndarray:
        """``(m, D h)`` from states of shape ``(T, m, D h)``."""
        H = a_prev.data
        T, m, Dh = H.shape
        self._batch = a_prev
        out = _buffer(self._bufs, "out", (m, Dh), H.dtype)
        if self.mode == "last":
            # padded steps copy the state through, so step T - 1 holds h_{T_i}
            h = Dh // self.directions
            out[:, :h] = H[T - 1, :, :h]
            if self.directions == 2:
                out[:, h:] = H[0, :, h:]
        else:
            w = (a_prev.mask / a_prev.lengths).astype(H.dtype)   # (T, m): m_t / T_i
            np.einsum("tm,tmh->mh", w, H, out=out)
            self._w = w
        return out

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dJ/dH`` of shape (T, m, D h): ``da`` at the steps read, 0 elsewhere."""
        if not need_input_grad:
            return None
        T, m, Dh = self._batch.data.shape
        dH = _buffer(self._bufs, "dH", (T, m, Dh), da.dtype)
        if self.mode == "last":
            dH[...] = 0
            h = Dh // self.directions
            dH[T - 1, :, :h] = da[:, :h]
            if self.directions == 2:
                dH[0, :, h:] = da[:, h:]
        else:
            np.multiply(self._w[:, :, None], da[None], out=dH)
        return dH


def init_recurrent(n_in: int, units: int, cell: str, rng, dtype) -> list[np.ndarray]:
    """Initial ``[W_x, W_h, b]`` of one direction.

    Each gate's block of ``W_x`` is Glorot-uniform (``U(-s, s)``, ``s = sqrt(6 / (f + h))``),
    each gate's block of ``W_h`` an orthogonal ``(h, h)`` matrix (a product by it keeps
    the norm of the state, so gradients neither vanish nor explode at the start), ``b``
    zeros except the LSTM's forget gate, which starts at 1 (Jozefowicz et al. 2015): the
    cell keeps its memory until it learns to forget.

    Parameters
    ----------
    n_in, units : int
        ``f`` and ``h``.
    cell : {'rnn', 'lstm', 'gru'}
    rng : numpy.random.RandomState
    dtype : numpy dtype

    Returns
    -------
    [W_x, W_h, b] : arrays of shapes (f, G h), (h, G h), (G h,)
    """
    G = GATES[cell]
    s = np.sqrt(6.0 / (n_in + units))
    W_x = rng.uniform(-s, s, (n_in, G * units))
    blocks = []
    for _ in range(G):
        q, r = np.linalg.qr(rng.normal(size=(units, units)))
        blocks.append(q * np.sign(np.diag(r)))  # Haar-distributed (Mezzadri 2007)
    W_h = np.concatenate(blocks, axis=1)
    b = np.zeros(G * units)
    if cell == "lstm":
        b[units:2 * units] = 1.0
    return [np.ascontiguousarray(a, dtype=dtype) for a in (W_x, W_h, b)]
