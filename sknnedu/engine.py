"""The training engine: one loop for every network estimator of sknnedu.

:class:`BaseNetwork` owns everything about *training* that the estimators share:
parameter checks, epochs, minibatches and shuffling, the optimisers, L-BFGS,
early stopping (validation split, best weights), divergence detection,
``partial_fit`` / ``warm_start``, sample weights, dropout, ``verbose`` and the
diagnostics (``loss_curve_``, ``validation_loss_curve_``, ``gradient_norms_``).

An estimator says only what is its own, through a few hooks:

============================ ==========================================================
hook                         what it says
============================ ==========================================================
``_param_attrs``             the names of its fitted parameter lists (``coefs_``, ...)
``_validate_X_y``            how X (and y) are checked and shaped (``_validate_X``: predict)
``_targets``                 how y becomes the network's targets Y (and classes_ etc.)
``_weigh``                   sample weights times any class weights (default: as given)
``_initialize_params``       how the fitted arrays start
``_build_layers``            the layers that read those arrays (by reference)
``_loss_name``               its output activation and loss
``_val_score``               how it scores the validation set (accuracy, R^2)
``_stratify``                what the validation split is stratified by (default: none)
``_architecture``            its layers as parameters say, and ``_fitted_architecture``
                             as the fitted arrays say (warm_start/partial_fit compare them)
``_check_own_params``        its own parameters (default: none)
============================ ==========================================================

The arrows run one way: estimators -> engine -> :mod:`.network` -> layers -> core.
The running state of training (optimiser moments, the divergence reference, the
no-improvement count) lives in one dict, ``_train_state``, of builtins and arrays.
"""

from __future__ import annotations

import contextlib
import copy
import numbers
import warnings

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from .nn import blas
from .nn.activations import HIDDEN_ACTIVATIONS
from .nn.initializers import INITIALIZERS
from .nn.layers import Dropout
from .nn.network import Network, pack, unpack
from .nn.optimizers import OPTIMIZERS

STOCHASTIC_SOLVERS = ("sgd", "adam", "rmsprop")
SOLVERS = STOCHASTIC_SOLVERS + ("lbfgs",)
LEARNING_RATES = ("constant", "invscaling", "adaptive")

#: Below this many multiply-adds per batch and layer, BLAS runs on one thread:
#: waking threads for a 200 x 64 x 128 product costs more than it saves, and on a
#: busy machine (or inside GridSearchCV workers) it is many times slower.
SMALL_PRODUCT = 4_000_000


def _real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and bool(np.isfinite(v))


def _integer(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def check_sample_weight(sample_weight, n: int) -> np.ndarray | None:
    """``sample_weight`` as a float64 array of shape (n,): finite, >= 0, finite sum."""
    if sample_weight is None:
        return None
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.ndim == 0:
        sample_weight = np.full(n, float(sample_weight))
    if sample_weight.shape != (n,):
        raise ValueError(
            f"sample_weight must have shape ({n},) like X; got {sample_weight.shape}."
        )
    if not np.isfinite(sample_weight).all() or (sample_weight < 0).any():
        raise ValueError("sample_weight must be finite and non-negative.")
    if not np.isfinite(sample_weight.sum()):
        raise ValueError(
            f"sample_weight sums to {sample_weight.sum()}; rescale the weights "
            "(only their ratios matter, and alpha's strength)."
        )
    return sample_weight


class BaseNetwork(BaseEstimator):
    """The shared training engine (not an estimator by itself; see the module docstring)."""

    #: names of the fitted lists of parameter arrays, weights first then biases
    _param_attrs: tuple[str, ...] = ("coefs_", "intercepts_")
    #: rows predicted at a time (bounds the memory of a prediction)
    _predict_chunk: int = 4096

    # ------------------------------------------------------------ public API

    def fit(self, X, y, sample_weight=None):
        """Fit the network to X and y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : estimator
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _stochastic(self) -> bool:
        return self.solver in STOCHASTIC_SOLVERS

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over X and y, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : estimator
        """
        return self._fit(X, y, sample_weight, incremental=True)

    # ------------------------------------------------------- parameter checks

    def _hidden_layers(self) -> list[tuple[int, str]]:
        """hidden_layer_sizes as a list of ``(size, activation)`` pairs, validated."""
        self._check_activation(self.activation, "activation")
        sizes = self.hidden_layer_sizes
        if _integer(sizes):
            sizes = [sizes]
        elif isinstance(sizes, str) or not hasattr(sizes, "__iter__"):
            raise ValueError(
                "hidden_layer_sizes must be an int or a sequence of ints and "
                f"(size, activation) pairs; got {sizes!r}."
            )
        layers = []
        for i, entry in enumerate(sizes):
            if _integer(entry):
                size, act = entry, self.activation
            elif (isinstance(entry, (tuple, list)) and len(entry) == 2
                  and _integer(entry[0]) and isinstance(entry[1], str)):
                size, act = entry
                self._check_activation(act, f"activation of hidden layer {i}")
            else:
                raise ValueError(
                    f"hidden_layer_sizes[{i}] must be an int or a (size, activation) pair "
                    f"such as (24, 'relu'); got {entry!r}."
                )
            if size <= 0:
                raise ValueError(
                    f"hidden_layer_sizes must be > 0; got {size} at position {i} "
                    f"of {self.hidden_layer_sizes!r}."
                )
            layers.append((int(size), act))
        return layers

    @staticmethod
    def _check_activation(name, what: str) -> None:
        if not isinstance(name, str) or name not in HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"Unknown {what} {name!r}; expected one of {sorted(HIDDEN_ACTIVATIONS)}."
            )

    def _need(self, ok: bool, name: str, expected: str) -> None:
        if not ok:
            raise ValueError(f"{name} must be {expected}; got {getattr(self, name)!r}.")

    def _check_params(self) -> None:
        """Check the training parameters every network estimator has."""
        need = self._need
        need(self.solver in SOLVERS, "solver", f"one of {list(SOLVERS)}")
        need(self.learning_rate in LEARNING_RATES, "learning_rate",
             f"one of {list(LEARNING_RATES)}")
        need(self.init == "auto" or self.init in INITIALIZERS, "init",
             f"'auto' or one of {sorted(INITIALIZERS)}")
        need(_real(self.alpha) and self.alpha >= 0, "alpha", "a float >= 0")
        need(self.batch_size == "auto" or (_integer(self.batch_size) and self.batch_size >= 1),
             "batch_size", "'auto' or an int >= 1")
        need(_real(self.learning_rate_init) and self.learning_rate_init > 0,
             "learning_rate_init", "a float > 0")
        need(_real(self.power_t) and self.power_t >= 0, "power_t", "a float >= 0")
        need(_integer(self.max_iter) and self.max_iter >= 1, "max_iter", "an int >= 1")
        need(_real(self.tol) and self.tol >= 0, "tol", "a float >= 0")
        need(_real(self.momentum) and 0 <= self.momentum <= 1, "momentum", "in [0, 1]")
        need(_real(self.validation_fraction) and 0 <= self.validation_fraction < 1,
             "validation_fraction", "in [0, 1)")
        need(not self.early_stopping or self.validation_fraction > 0, "validation_fraction",
             "in (0, 1) with early_stopping=True (it is the share of the data held out "
             "to decide when to stop)")
        need(_real(self.beta_1) and 0 <= self.beta_1 < 1, "beta_1", "in [0, 1)")
        need(_real(self.beta_2) and 0 <= self.beta_2 < 1, "beta_2", "in [0, 1)")
        need(_real(self.epsilon) and self.epsilon > 0, "epsilon", "a float > 0")
        need(self.n_iter_no_change == np.inf
             or (_integer(self.n_iter_no_change) and self.n_iter_no_change >= 1),
             "n_iter_no_change", "an int >= 1 or np.inf")
        need(_integer(self.max_fun) and self.max_fun >= 1, "max_fun", "an int >= 1")
        need(_real(self.dropout) and 0 <= self.dropout < 1, "dropout", "in [0, 1)")
        need(self.dropout == 0 or self.solver in STOCHASTIC_SOLVERS, "dropout",
             "0 with solver='lbfgs' (a random loss breaks its line search)")
        need(_real(self.rho) and 0 <= self.rho < 1, "rho", "in [0, 1)")
        need(_real(self.negative_slope) and 0 <= self.negative_slope < 1, "negative_slope",
             "in [0, 1)")
        self._check_own_params()

    def _check_own_params(self) -> None:
        """Parameters of one estimator only (hook)."""

    # -------------------------------------------------------------- training

    def _fitted_state(self) -> dict:
        params = self.get_params(deep=False)
        return {k: v for k, v in vars(self).items() if k not in params}

    def _fit(self, X, y, sample_weight, incremental: bool, **target_kw):
        """Fit, or leave the estimator exactly as it was when fitting fails."""
        before = copy.deepcopy(self._fitted_state())
        try:
            # overflow shows up as a non-finite loss or weight, which _diverged reports
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return self._fit_checked(X, y, sample_weight, incremental, **target_kw)
        except BaseException:
            for key in self._fitted_state():
                delattr(self, key)
            vars(self).update(before)
            raise

    def _first_pass(self, incremental: bool) -> bool:
        return not hasattr(self, self._param_attrs[0]) or (
            not self.warm_start and not incremental)

    def _fit_checked(self, X, y, sample_weight, incremental: bool, **target_kw):
        self._check_params()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True.")
        first_pass = self._first_pass(incremental)
        X, y = self._validate_X_y(X, y, reset=first_pass)
        Y, y = self._targets(y, X.dtype, incremental, first_pass, **target_kw)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        sample_weight = self._weigh(y, sample_weight, incremental)
        if sample_weight is not None and sample_weight.sum() <= 0:
            raise ValueError(
                "Sample weights must contain at least one non-zero number; all are zero."
            )
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize_params(X, Y, rng, sample_weight)
            self._start_training()
        else:
            self._check_architecture()
        self._start_fit(incremental)
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight)
        else:
            self._fit_stochastic(X, Y, y, sample_weight, incremental, rng)
        if not all(np.isfinite(w).all() for w in self._params()):
            self._diverged("the weights became non-finite", len(self.loss_curve_),
                           non_finite=True)
        return self

    def _weigh(self, y, sample_weight, incremental: bool):
        """Sample weights times any class weights (hook; none by default)."""
        return sample_weight

    def _params(self) -> list[np.ndarray]:
        """The fitted parameter arrays, weights then biases (the optimiser's order)."""
        return [a for name in self._param_attrs for a in getattr(self, name)]

    def _start_training(self) -> None:
        """Fresh diagnostics and training state after initialisation."""
        self.t_ = 0
        self.loss_curve_ = []
        self.gradient_norms_ = []
        self.best_loss_ = np.inf
        self.validation_scores_ = self.validation_loss_curve_ = None
        self.best_validation_score_ = None
        self._train_state = {
            "optimizer": None,
            "reference_loss": None,
            "reference_weight": max(
                (float(np.abs(w).max(initial=0)) for w in self._params()), default=0.0),
            "bad_epochs": 0,
            "no_improvement_count": 0,
        }

    def _start_fit(self, incremental: bool) -> None:
        """Per-call diagnostics: early stopping may be switched between warm-started fits.

        partial_fit never stops early (so a model fitted with early stopping, or with
        lbfgs, goes on by its training loss) and keeps counting epochs without progress
        from one call to the next, as MLPClassifier does.
        """
        if self.early_stopping:
            if self.validation_scores_ is None:
                self.validation_scores_, self.validation_loss_curve_ = [], []
                self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.validation_loss_curve_ = None
            self.best_validation_score_ = None
            if self.solver == "lbfgs":
                self.best_loss_ = None
            elif self.best_loss_ is None:
                self.best_loss_ = min(self.loss_curve_, default=np.inf)
        if not incremental:
            self._train_state["no_improvement_count"] = 0

    def _check_architecture(self) -> None:
        """warm_start and partial_fit need the architecture of the fitted model."""
        now, fitted = self._architecture(), self._fitted_architecture()
        if now != fitted:
            raise ValueError(
                f"The architecture changed from that of the fitted model ({fitted}) to "
                f"{now}; warm_start and partial_fit need the same architecture "
                "(hidden_layer_sizes, activations and any layer settings)."
            )

    def _network(self, *, training: bool = False, rng=None) -> Network:
        """The network over the fitted arrays (rebuilt when needed, never pickled)."""
        return Network(self._build_layers(dropout=self.dropout if training else 0.0, rng=rng),
                       self._loss_name(), alpha=self.alpha,
                       huber_delta=getattr(self, "huber_delta", 1.0))

    def _with_dropout(self, layers: list, hidden: int, dropout: float, rng) -> list:
        """Insert a Dropout layer after each of the first ``hidden`` of ``layers``."""
        if not dropout:
            return layers
        out = []
        for i, layer in enumerate(layers):
            out.append(layer)
            if i < hidden:
                out.append(Dropout(dropout, rng))
        return out

    # ------------------------------------------------------------ divergence

    def _diverged(self, what: str, epoch: int | None = None,
                  non_finite: bool = False) -> None:
        """Raise the divergence error. ``epoch`` counts every epoch of the model, as
        ``loss_curve_`` does across warm starts and partial_fit calls; by default the
        one under way (the loss became non-finite in it)."""
        epoch = len(self.loss_curve_) + 1 if epoch is None else epoch
        # MLPClassifier's words for the non-finite case, so that code matching them still does
        also = ("Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed. ") if non_finite else ""
        raise _Diverged(
            f"Training diverged: {what} at epoch {epoch} "
            f"(solver={self.solver!r}, learning_rate_init={self.learning_rate_init!r}). "
            f"{also}Lower learning_rate_init, or scale X (e.g. with StandardScaler)."
        )

    def _check_divergence(self) -> None:
        """Stop a run whose loss or weights ran away from where they started.

        Two signs, checked after every epoch. A weight grew past 1e4 times the
        largest initial weight (plus one): stop at once. The mean loss is above
        three times its value at initialisation (chance level) plus one: stop
        when that lasts more than ``min(n_iter_no_change, 10)`` epochs (a spike
        may recover), or when it is still so at the end of ``fit``.
        Either means the steps are too big for the scale of the data.
        """
        state = self._train_state
        w_max = max(float(np.abs(w).max(initial=0)) for w in self._params())
        if w_max > 1e4 * (state["reference_weight"] + 1):
            self._diverged(f"the largest weight grew from {state['reference_weight']:.4g} "
                           f"at initialisation to {w_max:.4g}", epoch=len(self.loss_curve_))
        if self.loss_ > 3 * state["reference_loss"] + 1:
            state["bad_epochs"] += 1
        else:
            state["bad_epochs"] = 0
        if state["bad_epochs"] > min(self.n_iter_no_change, 10):
            self._loss_diverged()

    def _loss_diverged(self) -> None:
        self._diverged(f"the training loss grew from {self._train_state['reference_loss']:.4g} "
                       f"at initialisation to {self.loss_:.4g}", epoch=len(self.loss_curve_))

    def _loss_grad(self, net: Network, X, Y, sample_weight, training: bool = True) -> float:
        loss = net.loss_grad(X, Y, sample_weight, training=training)
        if not np.isfinite(loss):
            self._diverged(f"the training loss became {loss}", non_finite=True)
        return loss

    # ----------------------------------------------------------------- lbfgs

    def _fit_lbfgs(self, X, Y, sample_weight) -> None:
        net = self._network()
        last = {}

        def loss_grad(theta):
            unpack(theta, net.params)
            loss = self._loss_grad(net, X, Y, sample_weight, training=False)
            last["norms"] = net.grad_norms()
            last["loss"] = loss
            return loss, pack(net.grads)

        def callback(intermediate_result=None):
            self.loss_curve_.append(last["loss"])
            self.gradient_norms_.append(last["norms"])
            if self.verbose:
                print(f"Iteration {len(self.loss_curve_)}, loss = {last['loss']:.8f}")

        res = scipy.optimize.minimize(
            loss_grad, pack(net.params), method="L-BFGS-B", jac=True, callback=callback,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        if res.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {res.nit} iterations (status={res.status}): "
                f"{res.message}. Increase max_iter or max_fun, or scale the data.",
                ConvergenceWarning, stacklevel=4)
        self.n_iter_ = min(int(res.nit), self.max_iter)
        self.loss_ = float(res.fun)
        unpack(res.x, net.params)

    # ------------------------------------------------------------ stochastic

    def _make_optimizer(self, params, incremental: bool):
        """The solver's optimiser; partial_fit continues the previous call's state."""
        state = self._train_state["optimizer"] if incremental else None
        if self.solver == "sgd":
            return OPTIMIZERS["sgd"](params, self.learning_rate_init, self.learning_rate,
                                     self.momentum, self.nesterovs_momentum, self.power_t,
                                     state=state)
        if self.solver == "adam":
            return OPTIMIZERS["adam"](params, self.learning_rate_init, self.beta_1,
                                      self.beta_2, self.epsilon, state=state)
        return OPTIMIZERS["rmsprop"](params, self.learning_rate_init, self.rho, self.epsilon,
                                     state=state)

    def _split_validation(self, X, Y, y, sample_weight, rng):
        """Hold out ``validation_fraction`` of the samples (see :meth:`_stratify`)."""
        arrays = [X, Y, y] + ([] if sample_weight is None else [sample_weight])
        n = X.shape[0]
        n_val = int(np.ceil(self.validation_fraction * n))
        too_small = (f"The validation set is too small: {n_val} of the {n} samples with "
                     f"validation_fraction={self.validation_fraction}; early stopping needs "
                     "at least 2, and 1 left to train on. Increase 'validation_fraction' or "
                     "the size of the data.")
        if n - n_val < 1:
            raise ValueError(too_small)
        parts = train_test_split(*arrays, test_size=self.validation_fraction,
                                 random_state=rng,  # the stream itself, as MLPClassifier
                                 stratify=self._stratify(y))
        if parts[1].shape[0] < 2:
            raise ValueError(too_small)
        train, val = parts[0::2], parts[1::2]
        if sample_weight is None:
            train, val = list(train) + [None], list(val) + [None]
        return train, val

    def _batch_order(self, order: np.ndarray, batch_size: int, X) -> np.ndarray:
        """The rows of an epoch's batches, from its shuffled ``order`` (hook; default: as
        shuffled). Drawing nothing from the random stream, it leaves MLPClassifier's order
        of draws alone."""
        return order

    def _stratify(self, y):
        """The labels to stratify the validation split by (hook; None: not stratified)."""
        return None

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn(f"batch_size={self.batch_size} is larger than the {n} samples; "
                          f"using {n}.", stacklevel=5)
        return min(self.batch_size, n)

    def _fit_stochastic(self, X, Y, y, sample_weight, incremental: bool, rng) -> None:
        if hasattr(X, "tocsr") and X.format != "csr":
            X = X.tocsr()  # batches are rows: slicing rows of CSC every batch is slow
        val = None
        keep = {"best": None}  # the weights of the best validation score so far
        if self.early_stopping:
            (X, Y, _, sample_weight), val = self._split_validation(X, Y, y, sample_weight, rng)
            if np.isfinite(self.best_validation_score_):  # warm start: the best is where we are
                keep["best"] = [p.copy() for p in self._params()]
        batch_size = self._batch_size(X.shape[0])
        # drawn only with dropout, so that shuffling follows MLPClassifier's stream;
        # t_ makes each partial_fit call draw new masks
        dropout_rng = (np.random.default_rng([rng.randint(np.iinfo(np.int32).max), self.t_])
                       if self.dropout else None)
        net = self._network(training=True, rng=dropout_rng)
        if self._train_state["reference_loss"] is None:  # chance level, before any step
            rows = slice(0, 1000)  # in batches, so that no layer grows past a batch
            self._train_state["reference_loss"] = net.loss(
                Y[rows], net.predict(X[rows], chunk_size=batch_size),
                None if sample_weight is None else sample_weight[rows], net.huber_delta)
        optimizer = self._make_optimizer(net.params, incremental)
        self.n_iter_ = 0
        small = batch_size * net.flops < SMALL_PRODUCT or net.runs_own_threads
        try:
            with blas.single_threaded() if small else contextlib.nullcontext():
                self._epochs(net, X, Y, sample_weight, val, incremental, rng, optimizer,
                             batch_size, keep)
            if not incremental and self._train_state["bad_epochs"]:
                self._loss_diverged()
        except _Diverged as exc:
            if keep["best"] is None:
                raise
            # with early stopping a diverging run keeps its best epoch (as MLPClassifier);
            # NaN marks the epoch that ran away, in each curve that has no entry for it yet
            if keep.get("in_epoch"):
                self.loss_curve_.append(float("nan"))
            for curve in (self.validation_scores_, self.validation_loss_curve_):
                if len(curve) < len(self.loss_curve_):
                    curve.append(float("nan"))
            warnings.warn(f"{exc} Kept the weights of the best validation score "
                          f"({self.best_validation_score_:.4g}).", ConvergenceWarning,
                          stacklevel=4)
        if keep["best"] is not None:
            for a, b in zip(self._params(), keep["best"]):
                a[...] = b

    def _epochs(self, net, X, Y, sample_weight, val, incremental, rng, optimizer, batch_size,
                keep: dict) -> None:
        """The epoch loop of the stochastic solvers (``keep['best']``: early stopping's best)."""
        n = X.shape[0]
        state = self._train_state
        dense = isinstance(X, np.ndarray)
        X_batch_buffer = np.empty((batch_size,) + X.shape[1:], dtype=X.dtype) if dense else None
        order = np.arange(n) if self.shuffle else None
        try:
            for _ in range(self.max_iter):
                if self.shuffle:  # each epoch permutes the last order, as MLPClassifier
                    order = order[rng.permutation(n)]
                    batch_order = self._batch_order(order, batch_size, X)
                total_loss = 0.0
                norms = np.zeros(net.n_learning_layers)
                n_batches = 0
                keep["in_epoch"] = True  # until this epoch is in loss_curve_
                for start in range(0, n, batch_size):
                    stop = min(start + batch_size, n)
                    if order is None:
                        rows = slice(start, stop)
                        X_batch = X[rows]
                    else:
                        rows = batch_order[start:stop]
                        X_batch = (np.take(X, rows, axis=0, out=X_batch_buffer[:stop - start],
                                           mode="clip")  # "raise" would copy twice
                                   if dense else X[rows])
                    sw = None if sample_weight is None else sample_weight[rows]
                    loss = self._loss_grad(net, X_batch, Y[rows], sw)
                    total_loss += loss * (stop - start)
                    norms += net.grad_norms()
                    n_batches += 1
                    optimizer.update_params(net.params, net.grads)

                self.n_iter_ += 1
                self.t_ += n
                self.loss_ = total_loss / n
                self.loss_curve_.append(self.loss_)
                keep["in_epoch"] = False
                self.gradient_norms_.append((norms / n_batches).tolist())
                if not all(np.isfinite(w).all() for w in net.params):
                    self._diverged("the weights became non-finite", len(self.loss_curve_),
                                   non_finite=True)
                self._check_divergence()
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                if self._update_no_improvement_count(net, val):
                    keep["best"] = [p.copy() for p in self._params()]
                optimizer.iteration_ends(self.t_)
                if state["no_improvement_count"] > self.n_iter_no_change:
                    what = "Validation score" if self.early_stopping else "Training loss"
                    msg = (f"{what} did not improve more than tol={self.tol:f} for "
                           f"{self.n_iter_no_change} consecutive epochs.")
                    if optimizer.trigger_stopping(msg, self.verbose):
                        break
                    state["no_improvement_count"] = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                        "and the optimization hasn't converged yet.", ConvergenceWarning,
                        stacklevel=5)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=5)
        finally:
            state["optimizer"] = optimizer.state

    def _update_no_improvement_count(self, net: Network, val) -> bool:
        """Count epochs without progress; True when this epoch has the best validation score."""
        state = self._train_state
        if val is None:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                state["no_improvement_count"] += 1
            else:
                state["no_improvement_count"] = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
            return False
        X_val, Y_val, y_val, sw_val = val
        # in chunks no larger than a training batch, so that no layer's buffers grow
        batch = 200 if self.batch_size == "auto" else self.batch_size
        P = net.predict(X_val, chunk_size=min(self._predict_chunk, batch))
        score = float(self._val_score(P, y_val, sw_val))
        self.validation_scores_.append(score)
        self.validation_loss_curve_.append(net.loss(Y_val, P, sw_val, net.huber_delta))
        if self.verbose:
            print(f"Validation score: {score:f}")
        if score < self.best_validation_score_ + self.tol:
            state["no_improvement_count"] += 1
        else:
            state["no_improvement_count"] = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            return True
        return False

    # ------------------------------------------------------------ prediction

    def _forward(self, X) -> np.ndarray:
        """``a[L]`` for validated X, with a clear error where the network overflows."""
        with np.errstate(over="ignore", invalid="ignore"):
            P = self._network().predict(X, chunk_size=self._predict_chunk)
        bad = ~np.isfinite(P).all(axis=1)
        if bad.any():
            raise ValueError(
                f"The network overflowed on {bad.sum()} row(s) of X (the first is row "
                f"{np.flatnonzero(bad)[0]}): its values are too large for the weights. "
                "Scale X as it was scaled for fit."
            )
        return P


class _Diverged(ValueError):
    """A diverging run (a ValueError for the user; caught for early stopping)."""
