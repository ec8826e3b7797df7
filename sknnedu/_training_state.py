"""The running state of training, and the divergence rule it keeps.

:class:`TrainState` is the state of one ``fit`` or ``partial_fit`` call: the optimiser's
state and the counts of epochs (without progress, running away), which the next call goes
on from, and what concerns this call only: the divergence reference, the previous epoch's
loss, early stopping's best weights. Between calls the estimator keeps the first part as
a dict of builtins and arrays, ``_train_state`` (:meth:`TrainState.saved`), so that a
model file holds nothing else. :class:`Prepared` is the call's data and network.

Divergence
----------
A run diverges when its steps are too big for the scale of the data: the loss and the
weights run away instead of settling. Each call measures a *reference*: the loss of the
weights it starts from, on its own data, on the footing of an epoch's mean loss
(:func:`reference_loss`: rows spread over the whole data, whatever their order, and the
L2 penalty as each batch adds it). After every epoch, :meth:`TrainState.judge` calls the
epoch *rising* when its mean loss is above the previous epoch's (the reference, for the
first), and *runaway* when it is rising and above ``3 * reference + 1``. It reports

- at once, a rising epoch whose loss is no lower than the reference (no progress at
  all) while a weight grew past ``1e4`` times the largest weight of the start (plus
  one): the steps overshoot, as with ``learning_rate_init=1e6``;
- a run of more than ``patience`` runaway epochs in a row (a spike that recovers is not
  divergence);
- at the end of ``fit`` (:meth:`TrainState.final_report`), a last epoch whose loss is
  above ``3 * reference + 1``, whether it rose or fell: the fit ends far above where it
  started (a loss that jumps up and down at a high level never rises for ``patience``
  epochs in a row).

A loss that falls every epoch (from the reference on) is never reported, and during a
fit an epoch whose loss fell never is; a loss or weight that became NaN or infinite is
reported by the engine at once.

A *spike* is an epoch above ``3 * reference + 1`` that the run recovered from
(:meth:`TrainState.spiked`). It is not divergence, but where the input of the network's
first learning layer is far from standardised (:func:`unscaled_feature`), the steps were
too large for the scale of X, and the engine warns, with the estimator's advice.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import scipy.sparse as sp

#: an epoch whose mean loss is above FACTOR * reference + 1 (and rising) runs away
FACTOR = 3.0
#: a weight past WEIGHT_FACTOR * (largest weight at the start + 1) ran away
WEIGHT_FACTOR = 1e4
#: rows of the data the reference loss is measured on, spread evenly over it
REFERENCE_ROWS = 1000
#: a feature whose root mean square is above this is unscaled (a standardised one has 1)
UNSCALED_RMS = 10.0


class TrainingDivergedError(ValueError):
    """Training diverged: the loss or the weights ran away (or became NaN or infinite).

    A ``ValueError``, so code that catches that still does. The message says at which
    epoch, what ran away and what to change (``learning_rate_init``, the scale of X).
    """




@dataclass
class TrainState:
    """What training keeps between epochs and between calls.

    Attributes
    ----------
    optimizer : dict or None
        The optimiser's state (moments, step count), continued by ``partial_fit``.
    no_improvement_count : int
        Epochs in a row without ``tol`` improvement.
    runaway_epochs : int
        Epochs in a row whose loss ran away (see the module docstring).
    reference_loss, reference_weight : float
        This call's loss and largest absolute weight before its first step.
    last_loss : float or None
        The previous epoch's mean loss in this call (None before the first).
    best_params : list of ndarray or None
        Early stopping: copies of the weights of this call's best validation score.
    in_epoch : bool
        An epoch is under way (not yet in ``loss_curve_``).
    epochs : int
        Epochs judged in this call.
    peak_loss : float
        The highest epoch loss of this call (-inf before the first).
    peak_epoch : int
        This call's epoch (from 1) that had it.
    """

    optimizer: dict | None = None
    no_improvement_count: int = 0
    runaway_epochs: int = 0
    reference_loss: float = np.inf
    reference_weight: float = 0.0
    last_loss: float | None = None
    best_params: list | None = None
    in_epoch: bool = False
    epochs: int = 0
    peak_loss: float = -np.inf
    peak_epoch: int = 0

    #: the fields kept between calls (builtins and arrays); the others are one call's
    SAVED = ("optimizer", "no_improvement_count", "runaway_epochs")

    def saved(self) -> dict:
        """What the next call goes on from: a dict of builtins and arrays."""
        return {name: getattr(self, name) for name in self.SAVED}

    @classmethod
    def restored(cls, saved: dict | None, incremental: bool) -> TrainState:
        """The state of a new call from the last call's :meth:`saved` (None: a fresh
        model; a dict of sknnedu 0.1.0 held more keys, ignored here). A fit starts its
        counts of epochs afresh; partial_fit goes on counting."""
        names = {f.name for f in fields(cls)} & set(cls.SAVED)
        state = cls(**{k: v for k, v in (saved or {}).items() if k in names})
        if not incremental:
            state.no_improvement_count = state.runaway_epochs = 0
        return state

    def set_reference(self, loss: float, weight: float) -> None:
        """The loss and largest absolute weight before the call's first step."""
        self.reference_loss, self.reference_weight = float(loss), float(weight)

    def judge(self, loss: float, w_max: float, patience: float) -> str | None:
        """Record an epoch's mean loss; what ran away, or None (module docstring).

        Parameters
        ----------
        loss : float
            The epoch's mean training loss, penalty included (``loss_``).
        w_max : float
            The largest absolute weight after the epoch.
        patience : float
            Runaway epochs in a row that are tolerated.

        Returns
        -------
        what : str or None
            For the error message, e.g. "the largest weight grew from 0.3 ... to 5e+06".
        """
        previous = self.reference_loss if self.last_loss is None else self.last_loss
        self.last_loss = loss
        self.epochs += 1
        if loss > self.peak_loss:
            self.peak_loss, self.peak_epoch = loss, self.epochs
        rising = loss > previous
        runaway = rising and self._above(loss)
        self.runaway_epochs = self.runaway_epochs + 1 if runaway else 0
        if (rising and loss >= self.reference_loss
                and w_max > WEIGHT_FACTOR * (self.reference_weight + 1)):
            return (f"the largest weight grew from {self.reference_weight:.4g} before the "
                    f"first step to {w_max:.4g}, and the loss from "
                    f"{self.reference_loss:.4g} to {loss:.4g}")
        if self.runaway_epochs > patience:
            return self.loss_report(loss)
        return None

    def _above(self, loss: float) -> bool:
        """The loss is above the runaway level, ``FACTOR * reference + 1``."""
        return loss > FACTOR * self.reference_loss + 1

    def loss_report(self, loss: float) -> str:
        """What ran away, when the loss did."""
        return (f"the training loss rose from {self.reference_loss:.4g} before the first "
                f"step to {loss:.4g}, rising in {self.runaway_epochs} epoch(s) in a row")

    def final_report(self) -> str | None:
        """At the end of ``fit``: what ran away when the last epoch's loss is above
        ``FACTOR * reference + 1``, rising or falling; else None."""
        loss, ref = self.last_loss, self.reference_loss
        if loss is None or not self._above(loss):
            return None
        if self.runaway_epochs:
            return self.loss_report(loss)
        times = f", {loss / ref:.3g} times" if ref > 0 else ""
        return (f"the training loss ended at {loss:.4g}{times} its {ref:.4g} before the "
                f"first step (above {FACTOR:g} x {ref:.4g} + 1; at most {self.peak_loss:.4g} "
                f"in epoch {self.peak_epoch} of this fit)")

    def spiked(self) -> bool:
        """An epoch of this call was above ``FACTOR * reference + 1``."""
        return self._above(self.peak_loss)


@dataclass
class Prepared:
    """One call's data and network, as :meth:`BaseNetwork._prepare` leaves them.

    Attributes
    ----------
    X : ndarray, sparse matrix or container of rows
        The training rows (without the validation rows).
    Y : ndarray of shape (n, n_outputs)
        The network's targets.
    y : ndarray
        The targets as validated (labels for a classifier).
    sample_weight : ndarray of shape (n,) or None
    rng : numpy.random.RandomState
        The stream that drew the weights and the split, and draws the shuffles.
    network : sknnedu.nn.network.Network
        Over the fitted arrays (with dropout, for the stochastic solvers).
    val : tuple (X, Y, y, sample_weight) or None
        The validation rows, with early stopping.
    """

    X: object
    Y: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray | None
    rng: np.random.RandomState
    network: object
    val: tuple | None = None


def reference_loss(net, X, Y: np.ndarray, sample_weight: np.ndarray | None,
                   batch_size: int) -> float:
    """The loss of the network's current weights, on the footing of an epoch's mean loss.

    The data part on at most :data:`REFERENCE_ROWS` rows spread evenly over X (over
    those of non-zero weight), so that data sorted by y or by time is represented as
    a whole, drawing nothing from the random stream; the L2 penalty
    ``alpha / 2 sum ||W||^2`` divided by each batch's weight, as each batch's loss
    holds it, averaged over the epoch's batches (taken in X's order) as ``loss_`` is.

    Parameters
    ----------
    net : sknnedu.nn.network.Network
    X : ndarray, sparse matrix or any container indexed by an array of rows
    Y : ndarray of shape (n, n_outputs)
    sample_weight : ndarray of shape (n,) or None
    batch_size : int
        The training batch size (the footing of the penalty; the chunk of prediction).

    Returns
    -------
    loss : float
    """
    n = Y.shape[0]
    rows = _spread_rows(n, sample_weight)
    if len(rows) == 0:
        return 0.0
    sw = None if sample_weight is None else sample_weight[rows]
    loss = net.loss(Y[rows], net.predict(X[rows], chunk_size=batch_size), sw)
    if net.alpha:
        penalty = 0.5 * net.alpha * sum(float(np.vdot(W, W)) for W in net.penalized)
        starts = np.arange(0, n, batch_size)
        sizes = np.diff(np.append(starts, n))
        sums = sizes if sample_weight is None else np.add.reduceat(sample_weight, starts)
        ok = sums > 0
        loss += penalty * float(np.sum(sizes[ok] / sums[ok])) / n
    return float(loss)


def _spread_rows(n: int, sample_weight: np.ndarray | None) -> np.ndarray:
    """At most :data:`REFERENCE_ROWS` rows of non-zero weight, spread evenly over n."""
    rows = np.arange(n) if sample_weight is None else np.flatnonzero(sample_weight > 0)
    if len(rows) > REFERENCE_ROWS:
        rows = rows[np.linspace(0, len(rows) - 1, REFERENCE_ROWS).astype(np.intp)]
    return rows


def unscaled_feature(net, X, sample_weight: np.ndarray | None) -> str | None:
    """The feature farthest from standardised in the input of the first learning layer,
    when its root mean square ``sqrt(mean^2 + std^2)`` is above :data:`UNSCALED_RMS`.

    Measured where the steps act: after the fixed layers before the first layer that
    learns (so a :class:`~sknnedu.CNNClassifier`'s channels after its rescaling), on
    the rows of :func:`reference_loss`. The features are the last axis of an array or
    the columns of a sparse matrix; anything else (sequences, token ids) is None.

    Parameters
    ----------
    net : sknnedu.nn.network.Network
    X : ndarray, sparse matrix or any container indexed by an array of rows
    sample_weight : ndarray of shape (n,) or None
        Rows of weight 0 are left out.

    Returns
    -------
    what : str or None
        For a message, e.g. "feature 2 has mean 100 and standard deviation 1".
    """
    rows = _spread_rows(X.shape[0], sample_weight)
    if len(rows) == 0:
        return None
    a = X[rows]
    for layer in net.layers:
        if layer.params:
            break
        a = layer.forward(a, False)
    if sp.issparse(a):
        a = a.tocsr().astype(np.float64)
        mean = np.asarray(a.mean(axis=0)).ravel()
        square = np.asarray(a.multiply(a).mean(axis=0)).ravel()
    elif isinstance(a, np.ndarray) and a.ndim >= 2 and a.dtype.kind in "biuf":
        flat = a.reshape(-1, a.shape[-1]).astype(np.float64)
        mean, square = flat.mean(axis=0), np.square(flat).mean(axis=0)
    else:
        return None
    rms = np.sqrt(square)
    j = int(np.argmax(rms))
    if not rms[j] > UNSCALED_RMS:  # (NaN: nothing to say)
        return None
    std = np.sqrt(max(square[j] - mean[j] ** 2, 0.0))
    return f"feature {j} has mean {mean[j]:.3g} and standard deviation {std:.3g}"
