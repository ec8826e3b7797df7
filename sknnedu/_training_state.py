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
  divergence), or, at the end of ``fit``, a last epoch that is runaway.

An epoch whose loss fell is never reported, and a loss that falls every epoch never is;
a loss or weight that became NaN or infinite is reported by the engine at once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

#: an epoch whose mean loss is above FACTOR * reference + 1 (and rising) runs away
FACTOR = 3.0
#: a weight past WEIGHT_FACTOR * (largest weight at the start + 1) ran away
WEIGHT_FACTOR = 1e4
#: rows of the data the reference loss is measured on, spread evenly over it
REFERENCE_ROWS = 1000


class TrainingDivergedError(ValueError):
    """Training diverged: the loss or the weights ran away (or became NaN or infinite).

    A ``ValueError``, so code that catches that still does. The message says at which
    epoch, what ran away and what to change (``learning_rate_init``, the scale of X).
    """


TrainingDivergedError.__module__ = "sknnedu"  # where users import it from


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
    """

    optimizer: dict | None = None
    no_improvement_count: int = 0
    runaway_epochs: int = 0
    reference_loss: float = np.inf
    reference_weight: float = 0.0
    last_loss: float | None = None
    best_params: list | None = None
    in_epoch: bool = False

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
        rising = loss > previous
        runaway = rising and loss > FACTOR * self.reference_loss + 1
        self.runaway_epochs = self.runaway_epochs + 1 if runaway else 0
        if (rising and loss >= self.reference_loss
                and w_max > WEIGHT_FACTOR * (self.reference_weight + 1)):
            return (f"the largest weight grew from {self.reference_weight:.4g} before the "
                    f"first step to {w_max:.4g}, and the loss from "
                    f"{self.reference_loss:.4g} to {loss:.4g}")
        if self.runaway_epochs > patience:
            return self.loss_report(loss)
        return None

    def loss_report(self, loss: float) -> str:
        """What ran away, when the loss did."""
        return (f"the training loss rose from {self.reference_loss:.4g} before the first "
                f"step to {loss:.4g}, rising in {self.runaway_epochs} epoch(s) in a row")


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
    rows = np.arange(n) if sample_weight is None else np.flatnonzero(sample_weight > 0)
    if len(rows) == 0:
        return 0.0
    if len(rows) > REFERENCE_ROWS:
        rows = rows[np.linspace(0, len(rows) - 1, REFERENCE_ROWS).astype(np.intp)]
    sw = None if sample_weight is None else sample_weight[rows]
    loss = net.loss(Y[rows], net.predict(X[rows], chunk_size=batch_size), sw, net.huber_delta)
    if net.alpha:
        penalty = 0.5 * net.alpha * sum(float(np.vdot(W, W)) for W in net.penalized)
        starts = np.arange(0, n, batch_size)
        sizes = np.diff(np.append(starts, n))
        sums = sizes if sample_weight is None else np.add.reduceat(sample_weight, starts)
        ok = sums > 0
        loss += penalty * float(np.sum(sizes[ok] / sums[ok])) / n
    return float(loss)
