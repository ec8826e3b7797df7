"""Recurrent layers and backpropagation through time.

A sequence is ``x_1 .. x_T``, each ``x_t`` of shape ``(m, f)`` for a batch of ``m``.
A recurrent layer carries a state ``h_t`` of ``h`` units from step to step, starting
at ``h_0 = 0``. Its three parameters hold all its gates side by side, ``G`` of them::

    W_x : (f, G h)     input weights       (penalised by L2)
    W_h : (h, G h)     recurrent weights   (penalised by L2)
    b   : (G h,)       bias

Every step starts from the same pre-activation, each gate's slice of a ``G h``-wide
array in the order listed below::

    Z_t = x_t W_x + h_{t-1} W_h + b                                   (m, G h)

**The cells.** A cell is one step forward and its step backward, written one below the
other with their formulas (:class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`), and
listed by name in :data:`CELLS`; a new cell is one class and one entry. ``'rnn'``
(Elman), G = 1::

    h_t = tanh(Z_t)

``'lstm'``, torch's form and gate order, G = 4::

    [i, f, g, o] = Z_t
    i, f, o = sigmoid(.),  g = tanh(.)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

``'gru'``, Cho et al. 2014 (reset gate before the product), G = 3::

    [r, z] = sigmoid(x_t W_x[:, :2h] + h_{t-1} W_h[:, :2h] + b[:2h])
    n      = tanh(x_t W_x[:, 2h:] + (r * h_{t-1}) W_h[:, 2h:] + b[2h:])
    h_t    = (1 - z) * n + z * h_{t-1}

(the update gate ``z`` is the GRU's usual name; ``Z_t`` is the pre-activation).

**Backpropagation through time.** Unrolled, the layer is a deep network with one layer
per step that shares ``W_x, W_h, b``. Going back from ``t = T`` to 1, the gradient of
the state collects what step ``t``'s output sends (``dH[t]``) and what step ``t + 1``
sends back; each step backward turns it into ``dZ[t] = dJ/dZ_t`` and what goes on to
step ``t - 1`` (``dh_{t-1}``, and the LSTM's ``dc_{t-1}``). Shared weights add up their
steps' gradients::

    dW_x = sum_t x_t^T dZ[t]          one product after the loop: X^T dZ
    dW_h = sum_t h_{t-1}^T dZ[t]      one product after the loop
    db   = sum_t sum_i dZ[t]
    dX   = dZ W_x^T                   one product after the loop

The input projection ``x_t W_x + b`` of every step is one product before the loop, so
only ``h_{t-1} W_h`` stays inside it. :class:`Recurrent` holds the loop over time, the
masks, the directions and these three products; the cells hold the arithmetic of a step.

**Ragged lengths.** At a padded step (``t >= T_i``) the state is copied through
(``h_t = h_{t-1}``, ``c_t = c_{t-1}``), and going back the padded rows hand ``dh_t``
(``dc_t``) to step ``t - 1`` unchanged, while the step backward sees only the valid
rows: no gradient reaches the weights or the input from a padded step. So the state
after the last step equals the state at each sequence's own last valid step, and the
backward direction of a bidirectional layer, which runs ``t = T .. 1``, starts every
sequence at its own end.

Memory is ``O(T m G h)``: one batch's steps, never the data set's. Plain numpy;
nothing from scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .layers import Layer, Param
from .sequences import SequenceBatch, Sequences


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


class _DirectionCache:
    """What one direction's forward pass keeps for its backward, every step's arrays.

    Attributes
    ----------
    Z : ndarray of shape (T, m, G h)
        The pre-activations ``Z_t``: ``x_t W_x + b`` from the product before the loop,
        to which each step adds ``h_{t-1} W_h``.
    gates : ndarray of shape (T, m, G h) or None
        The gate values after each step, ``[i, f, g, o]`` (LSTM) or ``[r, z, n]`` (GRU),
        which those cells write over their own pre-activations (``Z``'s memory: backward
        needs the gates, not ``Z``). None for the RNN, whose backward reads ``h_t``.
    H : ndarray of shape (T, m, h)
        The states ``h_t``.
    C, TC : ndarray of shape (T, m, h) or None
        The LSTM's ``c_t`` and ``tanh(c_t)``; None for the other cells.
    RH : ndarray of shape (T, m, h) or None
        The GRU's ``r * h_{t-1}``, the input of its candidate's product; None otherwise.
    """

    __slots__ = ("Z", "gates", "H", "C", "TC", "RH")

    def __init__(self, Z: np.ndarray, H: np.ndarray, gates: np.ndarray | None = None,
                 C: np.ndarray | None = None, TC: np.ndarray | None = None,
                 RH: np.ndarray | None = None) -> None:
        self.Z, self.gates, self.H, self.C, self.TC, self.RH = Z, gates, H, C, TC, RH


class RNNCell:
    """Elman's cell, G = 1: ``h_t = tanh(Z_t)``."""

    gates = 1
    #: what its step keeps for backward besides ``H``, fields of :class:`_DirectionCache`
    #: (``'gates'``: the gate values, written over ``Z``)
    keeps: tuple[str, ...] = ()

    @staticmethod
    def step(cache: _DirectionCache, t: int, W_h, h_prev, c_prev, tmp) -> None:
        """``Z_t += h_{t-1} W_h`` (the input's part is already there), ``h_t = tanh(Z_t)``."""
        z = cache.Z[t]
        z += np.matmul(h_prev, W_h, out=tmp)
        tanh(z, out=cache.H[t])

    @staticmethod
    def step_backward(cache: _DirectionCache, t: int, W_h, dz, dh, dc, h_prev, c_prev):
        """``dz`` (m, h) from ``dh = dJ/dh_t`` (m, h), with ``tanh' = 1 - h_t^2``::

            dZ_t     = dh (1 - h_t^2)
            dh_{t-1} = dZ_t W_h^T

        Returns ``(dh_{t-1}, None)``: no cell state.
        """
        H = cache.H[t]
        np.multiply(dh, 1 - H * H, out=dz)
        return dz @ W_h.T, None


class LSTMCell:
    """Long short-term memory, G = 4, gates ``[i, f, g, o]``: input, forget, candidate,
    output (torch's order)."""

    gates = 4
    keeps = ("gates", "C", "TC")

    @staticmethod
    def step(cache: _DirectionCache, t: int, W_h, h_prev, c_prev, tmp) -> None:
        """``Z_t += h_{t-1} W_h``, then, in ``Z_t``'s place, the gates::

            i, f, o = sigmoid(Z_t[i, f, o]),   g = tanh(Z_t[g]) = 2 sigmoid(2 Z_t[g]) - 1
            c_t = f c_{t-1} + i g,             h_t = o tanh(c_t)

        All four gates go through one sigmoid: ``g``'s block is doubled before it and
        mapped ``2 s - 1`` after it. ``tanh(c_t)`` is kept for backward.
        """
        h = W_h.shape[0]
        a = cache.Z[t]
        a += np.matmul(h_prev, W_h, out=tmp)
        i, f, g, o = a[:, :h], a[:, h:2 * h], a[:, 2 * h:3 * h], a[:, 3 * h:]
        g *= 2
        sigmoid(a, out=a)     # a now holds the gates
        g *= 2
        g -= 1
        c = cache.C[t]
        np.multiply(f, c_prev, out=c)
        c += np.multiply(i, g, out=tmp[:, :h])
        tc = tanh(c, out=cache.TC[t])
        np.multiply(o, tc, out=cache.H[t])

    @staticmethod
    def step_backward(cache: _DirectionCache, t: int, W_h, dz, dh, dc, h_prev, c_prev):
        """Through ``h_t = o tanh(c_t)`` and ``c_t = f c_{t-1} + i g`` to the four gates,
        from ``dh = dJ/dh_t`` and ``dc = dJ/dc_t`` from step ``t + 1``::

            dc_t     = dc + dh o (1 - tanh(c_t)^2)
            dZ_i = dc_t g i (1 - i)       dZ_f = dc_t c_{t-1} f (1 - f)
            dZ_g = dc_t i (1 - g^2)       dZ_o = dh tanh(c_t) o (1 - o)
            dh_{t-1} = dZ_t W_h^T,        dc_{t-1} = dc_t f

        Returns ``(dh_{t-1}, dc_{t-1})``.
        """
        h = W_h.shape[0]
        a = cache.gates[t]
        i, f, g, o = a[:, :h], a[:, h:2 * h], a[:, 2 * h:3 * h], a[:, 3 * h:]
        tc = cache.TC[t]
        dc_t = np.multiply(tc, tc)
        np.subtract(1, dc_t, out=dc_t)
        dc_t *= o
        dc_t *= dh
        dc_t += dc
        # every gate's derivative at once, s (1 - s), then the candidate's 1 - g^2
        np.subtract(1, a, out=dz)
        dz *= a
        dz_g = dz[:, 2 * h:3 * h]
        np.multiply(g, g, out=dz_g)
        np.subtract(1, dz_g, out=dz_g)
        for block, first, second in ((dz[:, :h], dc_t, g), (dz[:, h:2 * h], dc_t, c_prev),
                                     (dz_g, dc_t, i), (dz[:, 3 * h:], dh, tc)):
            block *= first
            block *= second
        return dz @ W_h.T, np.multiply(dc_t, f)


class GRUCell:
    """Gated recurrent unit (Cho et al. 2014), G = 3, gates ``[r, z, n]``: reset, update
    (not the pre-activation ``Z_t``), candidate."""

    gates = 3
    keeps = ("gates", "RH")

    @staticmethod
    def step(cache: _DirectionCache, t: int, W_h, h_prev, c_prev, tmp) -> None:
        """The gates in ``Z_t``'s place, ``r * h_{t-1}`` kept for backward::

            [r, z] = sigmoid(Z_t[r, z] + h_{t-1} W_h[:, :2h])
            n      = tanh(Z_t[n] + (r h_{t-1}) W_h[:, 2h:])
            h_t    = (1 - z) n + z h_{t-1} = n + z (h_{t-1} - n)
        """
        h = W_h.shape[0]
        a = cache.Z[t]
        rz = a[:, :2 * h]
        rz += np.matmul(h_prev, W_h[:, :2 * h], out=tmp[:, :2 * h])
        sigmoid(rz, out=rz)
        r, z, n = a[:, :h], a[:, h:2 * h], a[:, 2 * h:]
        rh = np.multiply(r, h_prev, out=cache.RH[t])
        n += np.matmul(rh, W_h[:, 2 * h:], out=tmp[:, 2 * h:])
        tanh(n, out=n)
        out = cache.H[t]
        np.subtract(h_prev, n, out=out)
        out *= z
        out += n

    @staticmethod
    def step_backward(cache: _DirectionCache, t: int, W_h, dz, dh, dc, h_prev, c_prev):
        """Through ``h_t = (1 - z) n + z h_{t-1}``, the candidate ``n`` and the gates, from
        ``dh = dJ/dh_t``; ``W_hr, W_hz, W_hn`` are ``W_h``'s three blocks of columns::

            dn       = dh (1 - z),              dZ_n = dn (1 - n^2)
            d(r h)   = dZ_n W_hn^T              (what the candidate's product sends back)
            dr       = d(r h) h_{t-1},          dZ_r = dr r (1 - r)
            dz       = dh (h_{t-1} - n),        dZ_z = dz z (1 - z)
            dh_{t-1} = [dZ_r, dZ_z] [W_hr, W_hz]^T + dh z + d(r h) r

        ``h_{t-1}`` reaches ``h_t`` by three paths, one term each: through the gates'
        product, directly through ``z h_{t-1}``, and through ``r h_{t-1}`` in the
        candidate's product. Returns ``(dh_{t-1}, None)``: no cell state.
        """
        h = W_h.shape[0]
        a = cache.gates[t]
        r, z, n = a[:, :h], a[:, h:2 * h], a[:, 2 * h:]
        dz_n = np.multiply(dh * (1 - z), 1 - n * n, out=dz[:, 2 * h:])
        d_rh = dz_n @ W_h[:, 2 * h:].T
        np.multiply(d_rh * h_prev, r * (1 - r), out=dz[:, :h])
        np.multiply(dh * (h_prev - n), z * (1 - z), out=dz[:, h:2 * h])
        dh_prev = dz[:, :2 * h] @ W_h[:, :2 * h].T
        dh_prev += dh * z
        dh_prev += d_rh * r
        return dh_prev, None


#: cell name -> its step pair
CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
#: cell name -> number of gates G
GATES = {name: cell.gates for name, cell in CELLS.items()}


class Recurrent(Layer):
    """A recurrent layer, one or two directions, with its backward pass through time.

    Parameters
    ----------
    params : list of ndarray
        ``[W_x, W_h, b]`` for one direction, ``[W_x, W_h, b, W_x', W_h', b']`` for two
        (forward first), of shapes ``(f, G h)``, ``(h, G h)``, ``(G h,)``. References to
        the estimator's fitted arrays. Named ``W_x, W_h, b`` and, for the second
        direction, ``W_x_reverse, W_h_reverse, b_reverse``.
    cell : {'rnn', 'lstm', 'gru'}
        A key of :data:`CELLS`.

    The input is a :class:`~sknnedu.nn.sequences.Sequences` (the first layer pads it)
    or the :class:`~sknnedu.nn.sequences.SequenceBatch` of the layer below; the output
    is a ``SequenceBatch`` of the states, ``(T, m, D h)`` for ``D`` directions
    (forward first). ``backward`` takes ``dJ/dH`` of that shape and returns ``dJ/dX``.
    """

    def __init__(self, params: list[np.ndarray], cell: str) -> None:
        if cell not in CELLS:
            raise ValueError(f"Unknown cell {cell!r}; expected one of {sorted(CELLS)}.")
        if len(params) not in (3, 6):
            raise ValueError(f"params must be [W_x, W_h, b] per direction; got {len(params)}.")
        self.cell = cell
        self.directions = len(params) // 3
        records = []
        for d, suffix in enumerate(("", "_reverse")[:self.directions]):
            W_x, W_h, b = params[3 * d: 3 * d + 3]
            records += [Param("W_x" + suffix, W_x, True), Param("W_h" + suffix, W_h, True),
                        Param("b" + suffix, b, False)]
        self.declare(*records)
        f, gh = params[0].shape
        self.units = params[1].shape[0]
        # multiply-adds per sample and step: the input projection and the recurrence
        self.flops = float(self.directions * (f + self.units) * gh)

    # ----------------------------------------------------------------- forward

    def forward(self, a_prev, training: bool = False) -> SequenceBatch:
        """The states ``h_t`` of every step, ``(T, m, D h)``, keeping what backward needs."""
        W_x = self.params[0]
        batch = a_prev.pad(W_x.dtype) if isinstance(a_prev, Sequences) else a_prev
        T, m, _ = batch.data.shape
        h, D = self.units, self.directions
        self._caches = [self._direction_forward(d, batch, *self.params[3 * d: 3 * d + 3])
                        for d in range(D)]
        self._batch = batch
        if D == 1:  # the states themselves: no copy
            return SequenceBatch(self._caches[0].H, batch.lengths)
        out = self.buffer("out", (T, m, D * h), W_x.dtype)
        for d, cache in enumerate(self._caches):  # forward first, then backward
            out[:, :, d * h:(d + 1) * h] = cache.H
        return SequenceBatch(out, batch.lengths)

    def _direction_forward(self, d: int, batch: SequenceBatch, W_x, W_h, b) -> _DirectionCache:
        """One direction's steps, ``t = 1 .. T`` (``d = 0``) or ``T .. 1`` (``d = 1``)."""
        X = batch.data
        T, m, f = X.shape
        h, dtype, cell = self.units, W_x.dtype, CELLS[self.cell]
        Z = self.buffer(f"Z{d}", (T, m, W_x.shape[1]), dtype)
        H = self.buffer(f"H{d}", (T, m, h), dtype)
        kept = {}  # what the cell keeps for backward: its gates in Z's place, C, TC, RH
        for k in cell.keeps:
            kept[k] = Z if k == "gates" else self.buffer(f"{k}{d}", (T, m, h), dtype)
        tmp = self.buffer("tmp", (m, W_x.shape[1]), dtype)
        # the input projection of every step at once: (T m, f) (f, G h), then + b
        np.matmul(X.reshape(T * m, f), W_x, out=Z.reshape(T * m, -1))
        Z += b
        cache = _DirectionCache(Z, H, **kept)
        C = cache.C
        padded = ~batch.mask[:, :, None]   # (T, m, 1): rows whose step t is padding
        full, step = batch.full, cell.step
        h_prev = c_prev = np.zeros((m, h), dtype=dtype)
        with np.errstate(over="ignore"):  # exp(-z) -> inf is sigma's right limit 0
            for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                step(cache, t, W_h, h_prev, c_prev, tmp)
                if not full[t]:  # padded rows keep their state
                    np.copyto(H[t], h_prev, where=padded[t])
                    if C is not None:
                        np.copyto(C[t], c_prev, where=padded[t])
                h_prev = H[t]
                if C is not None:
                    c_prev = C[t]
        return cache

    # ---------------------------------------------------------------- backward

    def backward(self, da: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """``dJ/dX`` (T, m, f) from ``dJ/dH`` (T, m, D h); fills ``grads``."""
        batch = self._batch
        X = batch.data
        T, m, f = X.shape
        h = self.units
        dX = self.buffer("dX", (T, m, f), X.dtype) if need_input_grad else None
        dZs = [self.buffer(f"dZ{d}", cache.Z.shape, self.params[0].dtype)
               for d, cache in enumerate(self._caches)]
        for d, cache in enumerate(self._caches):
            W_x, W_h, _ = self.params[3 * d: 3 * d + 3]
            dW_x, dW_h, db = self.grads[3 * d: 3 * d + 3]
            dZ = self._direction_backward(d, cache, batch, W_h, da[:, :, d * h:(d + 1) * h],
                                          dZs[d])
            dZ2 = dZ.reshape(T * m, -1)
            # shared weights: every step's gradient, summed by one product each
            np.matmul(X.reshape(T * m, f).T, dZ2, out=dW_x)
            np.sum(dZ2, axis=0, out=db)
            self._recurrent_weight_grad(d, cache, dZ, dW_h)
            if need_input_grad:
                if d == 0:
                    np.matmul(dZ2, W_x.T, out=dX.reshape(T * m, f))
                else:
                    dX.reshape(T * m, f)[...] += dZ2 @ W_x.T
        return dX

    @staticmethod
    def _recurrent_weight_grad(d: int, cache: _DirectionCache, dZ: np.ndarray, dW_h) -> None:
        """``dW_h = sum_t h_{t-1}^T dZ[t]``: ``h_{t-1}`` is the state one step earlier in
        this direction's order (``H[t - 1]`` forward, ``H[t + 1]`` backward, 0 at the start)."""
        H = cache.H
        T, m, h = H.shape
        if d == 0:
            prev, grads = H[:T - 1], dZ[1:]
        else:
            prev, grads = H[1:], dZ[:T - 1]
        prev, grads = prev.reshape((T - 1) * m, h), grads.reshape((T - 1) * m, dZ.shape[2])
        if cache.RH is not None:  # the GRU's candidate product reads r * h_{t-1}, not h_{t-1}
            np.matmul(prev.T, grads[:, :2 * h], out=dW_h[:, :2 * h])
            RH = cache.RH.reshape(T * m, h)
            np.matmul(RH.T, dZ.reshape(T * m, -1)[:, 2 * h:], out=dW_h[:, 2 * h:])
        else:
            np.matmul(prev.T, grads, out=dW_h)

    def _direction_backward(self, d: int, cache: _DirectionCache, batch: SequenceBatch, W_h,
                            dH: np.ndarray, dZ: np.ndarray) -> np.ndarray:
        """``dZ[t]``, the gradient of every step's pre-activations, from the last step back,
        into ``dZ`` (T, m, G h).

        The cell's step backward sees the valid rows only (``dh``, ``dc`` times the mask);
        a padded row's ``h_t = h_{t-1}`` hands ``dh`` (``dc``) on to step ``t - 1`` whole.
        """
        T, m, _ = dH.shape
        h, dtype = self.units, W_h.dtype
        H, C = cache.H, cache.C
        dh = np.zeros((m, h), dtype=dtype)   # dJ/dh_t from the steps after t
        dc = np.zeros((m, h), dtype=dtype) if C is not None else None
        zeros = np.zeros((m, h), dtype=dtype)
        valid = batch.mask[:, :, None]     # (T, m, 1): rows whose step t is real
        padded = ~valid
        full, step_backward = batch.full, CELLS[self.cell].step_backward
        order = range(T - 1, -1, -1) if d == 0 else range(T)
        for t in order:
            prev = t - 1 if d == 0 else t + 1
            has_prev = 0 <= prev < T
            h_prev = H[prev] if has_prev else zeros
            c_prev = C[prev] if has_prev and C is not None else zeros
            dh += dH[t]
            if full[t]:
                dh, dc = step_backward(cache, t, W_h, dZ[t], dh, dc, h_prev, c_prev)
                continue
            dh_prev, dc_prev = step_backward(cache, t, W_h, dZ[t], dh * valid[t],
                                             None if dc is None else dc * valid[t],
                                             h_prev, c_prev)
            dh_prev += dh * padded[t]
            if dc is not None:
                dc_prev += dc * padded[t]
            dh, dc = dh_prev, dc_prev
        return dZ


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

    def forward(self, a_prev: SequenceBatch, training: bool = False) -> np.ndarray:
        """``(m, D h)`` from states of shape ``(T, m, D h)``."""
        H = a_prev.data
        T, m, Dh = H.shape
        self._batch = a_prev
        out = self.buffer("out", (m, Dh), H.dtype)
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
        dH = self.buffer("dH", (T, m, Dh), da.dtype)
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
