"""The training engine: one loop for every network estimator of sknnedu.

:class:`BaseNetwork` owns everything about *training* that the estimators share:
epochs, minibatches and shuffling, the optimisers, L-BFGS, early stopping (validation
split, best weights), divergence detection, gradient clipping, ``partial_fit`` /
``warm_start``, sample weights, dropout, ``verbose`` and the diagnostics
(``loss_curve_``, ``validation_loss_curve_``, ``gradient_norms_``). Its parameter checks
are :mod:`sknnedu._params`'s; its running state and divergence rule,
:mod:`sknnedu._training_state`'s.

An estimator says only what is its own, through hooks. Every hook the engine calls, and
who implements it (*dense*: :mod:`sknnedu._dense`, under NNClassifier and NNRegressor;
*conv*: :mod:`sknnedu._conv_body`; *sequence*: :mod:`sknnedu._sequence`; *targets*:
NNClassifier and NNRegressor, one of which every estimator is):

========================= ===================================== ==============================
hook                      what it says                          implemented by
========================= ===================================== ==============================
``_param_attrs``          names of the fitted parameter lists    engine; conv, sequence
``_params``               the fitted arrays (for tools, tests)  engine; sequence (+ embedding)
``_check_own_params``     its own parameters                    targets, conv, sequence
``_validate_X_y``         how X and y are checked and shaped    dense, conv, sequence
``_float_dtype``          the weights' dtype for X              engine (float32 stays)
``_targets``              y as the network's targets Y          targets
``_weigh``                sample weights times class weights    engine (none); NNClassifier
``_initialize_params``    how the fitted arrays start           dense, conv, sequence
``_build_layers``         the layers over them (references)     dense, conv, sequence
``_output_loss``          output activation and loss, bound     targets
``_architecture``         its layers as the parameters say      dense, conv, sequence
``_fitted_architecture``  ... and as the fitted arrays say      dense, conv, sequence
``_check_architecture``   refuse warm_start on another one      engine; conv (image_shape)
``_stratify``             what the split is stratified by       engine (none); NNClassifier
``_val_score``            the validation score                  targets (accuracy, R^2)
``_batch_size``           rows per minibatch                    engine (auto: 200); sequence
                                                                (auto: 32); sequence CNN
                                                                (n <= 32: n; else 4 to 16)
``_batch_order``          an epoch's rows after shuffling       engine (as is); sequence
                                                                (similar lengths together)
``_predict_chunk``        rows evaluated at a time              engine (4096); conv, sequence
                          (prediction, validation, lbfgs)       (256)
``_scaling_advice``       what to change when a fit runs        engine (StandardScaler);
                          away on the scale of X                sequence (standardises)
========================= ===================================== ==============================

The engine offers the estimators ``_forward`` (``a[L]`` for validated X, in chunks, with
a clear error on overflow; called by ``predict``), ``_network`` and
``_need`` (a parameter check that names the parameter).

One call of ``fit`` or ``partial_fit`` runs :meth:`BaseNetwork._prepare` (check, validate,
encode, weigh, initialise, split, build the network), then the solver. The stochastic
solvers loop over epochs; each epoch takes its batches from :func:`.nn.network.batches`,
and each batch is a forward and backward pass, :meth:`BaseNetwork._clip`, and a step.

Between calls, what training goes on from (the optimiser's state, the counts of epochs
without progress and running away) is the dict ``_train_state``, builtins and arrays as
model files need; during a call it is a :class:`~sknnedu._training_state.TrainState`,
``self._state``, with that call's divergence reference and early stopping's best weights.

The arrows run one way: estimators -> engine -> :mod:`.nn.network` -> layers -> core.
"""

from __future__ import annotations

import copy

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from ._params import (  # noqa: F401  (_integer, _real: for the estimators)
    STOCHASTIC_SOLVERS,
    ParameterChecks,
    _integer,
    _real,
    check_sample_weight,
)
from ._split import validation_split
from ._training_state import (
    Prepared,
    TrainingDivergedError,
    TrainState,
    reference_loss,
    unscaled_feature,
)
from ._warn import warn
from .nn import threads
from .nn.geometry import float_dtype
from .nn.network import Network, batches, pack, row_chunks, unpack
from .nn.optimizers import OPTIMIZERS


class BaseNetwork(ParameterChecks, BaseEstimator):
    """The shared training engine (not an estimator by itself; see the module docstring)."""

    #: names of the fitted lists of parameter arrays, weights first then biases
    _param_attrs: tuple[str, ...] = ("coefs_", "intercepts_")
    #: rows evaluated at a time: prediction, and L-BFGS's full batch (bounds their memory)
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

    # ------------------------------------------------------------ preparation

    def _fitted_state(self) -> dict:
        params = self.get_params(deep=False)
        return {k: v for k, v in vars(self).items() if k not in params}

    def _fit(self, X, y, sample_weight, incremental: bool, **target_kw):
        """Fit, or leave the estimator exactly as it was when fitting fails."""
        before = copy.deepcopy(self._fitted_state())
        try:
            # overflow shows up as a non-finite loss or weight, which _diverged reports
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                data = self._prepare(X, y, sample_weight, incremental, **target_kw)
                if self.solver == "lbfgs":
                    self._fit_lbfgs(data)
                else:
                    self._fit_stochastic(data, incremental)
                if not all(np.isfinite(w).all() for w in data.network.params):
                    self._diverged("the weights became non-finite", len(self.loss_curve_),
                                   non_finite=True)
            self._train_state = self._state.saved()  # builtins and arrays, for model files
            del self._state
            return self
        except BaseException:
            for key in self._fitted_state():
                delattr(self, key)
            vars(self).update(before)
            raise

    def _first_pass(self, incremental: bool) -> bool:
        return not hasattr(self, "coefs_") or (  # every network ends in the dense head
            not self.warm_start and not incremental)

    def _prepare(self, X, y, sample_weight, incremental: bool = False,
                 first_pass: bool | None = None, **target_kw) -> Prepared:
        """Check, validate, encode and weigh; initialise or check the fitted arrays;
        split off the validation set; build the network.

        The one preparation of ``fit``, ``partial_fit`` and
        :func:`~sknnedu.gradient_check`. The random stream draws, in this order,
        MLPClassifier's: the weights, the validation split, then (with dropout only)
        the seed of the dropout masks; the epochs draw the shuffles. It also starts
        the call's training state, ``self._state`` (a :class:`TrainState`, which
        ``fit`` turns back into the dict ``_train_state`` at the end).

        Parameters
        ----------
        X, y, sample_weight
            As given to ``fit``.
        incremental : bool, default=False
            partial_fit.
        first_pass : bool or None, default=None
            Initialise the fitted arrays (None: unless warm_start or partial_fit goes
            on from them); gradient_check passes False for a fitted model, to check it
            at its weights.
        **target_kw
            For ``_targets`` (``classes`` of partial_fit).

        Returns
        -------
        data : Prepared
        """
        self._check_params()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True.")
        if first_pass is None:
            first_pass = self._first_pass(incremental)
        X, y = self._validate_X_y(X, y, reset=first_pass)
        Y, y = self._targets(y, self._float_dtype(X), incremental, first_pass, **target_kw)
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
        self._state = TrainState.restored(self._train_state, incremental)
        self._start_fit(incremental)
        if self.solver == "lbfgs":
            return Prepared(X, Y, y, sample_weight, rng, self._network())
        if sp.issparse(X) and X.format != "csr":
            X = X.tocsr()  # batches are rows: slicing rows of CSC every batch is slow
        val = None
        if self.early_stopping:
            (X, Y, y, sample_weight), val = self._split_validation(X, Y, y, sample_weight, rng)
        # drawn only with dropout, so that shuffling follows MLPClassifier's stream;
        # t_ makes each partial_fit call draw new masks
        dropout_rng = (np.random.default_rng([rng.randint(np.iinfo(np.int32).max), self.t_])
                       if self.dropout else None)
        net = self._network(training=True, rng=dropout_rng)
        return Prepared(X, Y, y, sample_weight, rng, net, val)

    @staticmethod
    def _float_dtype(X) -> np.dtype:
        """The dtype of the weights for X: float32 stays float32, all else is float64."""
        return float_dtype(X.dtype)

    def _weigh(self, y, sample_weight, incremental: bool):
        """Sample weights times any class weights (hook; none by default)."""
        return sample_weight

    def _params(self) -> list[np.ndarray]:
        """The fitted parameter arrays, list by list in the order of ``_param_attrs``.

        What an estimator holds, for tests and tools that read a fitted model. Training
        reads the network's own lists instead: ``Network.params`` (the optimiser's order,
        penalised first) and ``Network.arrays`` (with batch norm's running statistics).
        """
        return [a for name in self._param_attrs for a in getattr(self, name)]

    def _start_training(self) -> None:
        """Fresh diagnostics and training state after initialisation."""
        self.t_ = 0
        self.loss_curve_ = []
        self.gradient_norms_ = []
        self.best_loss_ = np.inf
        self.validation_scores_ = self.validation_loss_curve_ = None
        self.best_validation_score_ = None
        self._train_state = TrainState().saved()

    def _start_fit(self, incremental: bool) -> None:
        """Per-call diagnostics: early stopping may be switched between warm-started fits.

        Each fit with early stopping keeps the best of its own epochs: a best score of
        an earlier fit, on another validation split, is not compared with this fit's.
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
                       self._output_loss(), alpha=self.alpha)

    def _split_validation(self, X, Y, y, sample_weight, rng):
        """Hold out ``validation_fraction`` of the samples (see :meth:`_stratify`): each
        part as ``X[rows]``, whatever container X is."""
        train, val = validation_split(X.shape[0], self.validation_fraction, rng,
                                      self._stratify(y), sample_weight)
        sw = (None, None) if sample_weight is None else (sample_weight[train],
                                                         sample_weight[val])
        return ((X[train], Y[train], y[train], sw[0]), (X[val], Y[val], y[val], sw[1]))

    def _stratify(self, y):
        """The labels to stratify the validation split by (hook; None: not stratified)."""
        return None

    # ----------------------------------------------------------------- lbfgs

    def _loss_grad(self, net: Network, X, Y, sample_weight, training: bool = True,
                   chunks: list | None = None) -> float:
        """``net.loss_grad`` (over ``chunks`` of rows when given), checked to be finite."""
        if chunks is None:
            loss = net.loss_grad(X, Y, sample_weight, training=training)
        else:
            loss = net.loss_grad_in_chunks(X, Y, sample_weight, chunks, training=training)
        if not np.isfinite(loss):
            self._diverged(f"the training loss became {loss}", non_finite=True)
        return loss

    def _fit_lbfgs(self, data: Prepared) -> None:
        """L-BFGS on the full batch, evaluated in chunks of ``_predict_chunk`` rows of
        similar lengths (:func:`~sknnedu.nn.network.row_chunks`), so that its memory is a
        chunk's, never the data set's."""
        net, last = data.network, {}
        size = self._predict_chunk
        chunks = row_chunks(data.X, size) if data.X.shape[0] > size else None

        def loss_grad(theta):
            unpack(theta, net.params)
            loss = self._loss_grad(net, data.X, data.Y, data.sample_weight, training=False,
                                   chunks=chunks)
            last["norms"], last["loss"] = net.grad_norms(), loss
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
            warn(f"lbfgs failed to converge after {res.nit} iterations (status={res.status}): "
                 f"{res.message}. Increase max_iter or max_fun, or scale the data.",
                 ConvergenceWarning)
        self.n_iter_ = min(int(res.nit), self.max_iter)
        self.loss_ = float(res.fun)
        unpack(res.x, net.params)

    # ------------------------------------------------------------ stochastic

    def _make_optimizer(self, params, incremental: bool):
        """The solver's optimiser; partial_fit continues the previous call's state."""
        state = self._state.optimizer if incremental else None
        if self.solver == "sgd":
            return OPTIMIZERS["sgd"](params, self.learning_rate_init, self.learning_rate,
                                     self.momentum, self.nesterovs_momentum, self.power_t,
                                     state=state)
        if self.solver == "adam":
            return OPTIMIZERS["adam"](params, self.learning_rate_init, self.beta_1,
                                      self.beta_2, self.epsilon, state=state)
        return OPTIMIZERS["rmsprop"](params, self.learning_rate_init, self.rho, self.epsilon,
                                     state=state)

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warn(f"batch_size={self.batch_size} is larger than the {n} samples; using {n}.")
        return min(self.batch_size, n)

    def _batch_order(self, order: np.ndarray, batch_size: int, X) -> np.ndarray:
        """The rows of an epoch's batches, from its shuffled ``order`` (hook; default: as
        shuffled). Drawing nothing from the random stream, it leaves MLPClassifier's order
        of draws alone."""
        return order

    def _clip(self, net: Network) -> None:
        """Rescale the gradients so that their global L2 norm is at most ``clip_norm``.

        ``g <- g * clip_norm / ||g||`` when ``||g|| > clip_norm``, ``||g||`` over every
        parameter of the network; nothing when the estimator has no ``clip_norm`` or it
        is None (the dense and convolutional estimators). Called between the backward
        pass and the step.
        """
        clip = getattr(self, "clip_norm", None)
        if clip is None:
            return
        grads = [net.grad_vector] if net.grad_vector is not None else net.grads
        norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads)))
        if norm > clip:
            scale = clip / norm
            for g in grads:
                g *= g.dtype.type(scale)

    def _fit_stochastic(self, data: Prepared, incremental: bool) -> None:
        state, net = self._state, data.network
        batch_size = self._batch_size(data.X.shape[0])
        state.set_reference(reference_loss(net, data.X, data.Y, data.sample_weight, batch_size),
                            max(float(np.abs(w).max(initial=0)) for w in net.params))
        optimizer = self._make_optimizer(net.params, incremental)
        self.n_iter_ = 0
        try:
            with threads.step_blas(net.layers, batch_size):  # the one thread policy
                self._epochs(data, incremental, optimizer, batch_size)
            what = None if incremental else state.final_report()
            if what is not None:  # the fit ends far above where it started
                self._diverged(what, epoch=len(self.loss_curve_))
        except TrainingDivergedError as exc:
            if state.best_params is None:
                raise
            # with early stopping a diverging run keeps its best epoch (as MLPClassifier);
            # NaN marks the epoch that ran away, in each curve that has no entry for it yet
            if state.in_epoch:
                self.loss_curve_.append(float("nan"))
            for curve in (self.validation_scores_, self.validation_loss_curve_):
                if len(curve) < len(self.loss_curve_):
                    curve.append(float("nan"))
            warn(f"{exc} Kept the weights of the best validation score "
                 f"({self.best_validation_score_:.4g}).", ConvergenceWarning)
        else:
            if state.spiked():
                self._warn_spike(data)
        if state.best_params is not None:
            for a, b in zip(net.arrays, state.best_params):
                a[...] = b

    def _epochs(self, data: Prepared, incremental: bool, optimizer, batch_size: int) -> None:
        """The epoch loop of the stochastic solvers."""
        net, X, Y, sample_weight, rng = data.network, data.X, data.Y, data.sample_weight, data.rng
        n, state = X.shape[0], self._state
        buffer = (np.empty((batch_size,) + X.shape[1:], dtype=X.dtype)
                  if isinstance(X, np.ndarray) and self.shuffle else None)
        order = batch_order = np.arange(n) if self.shuffle else None
        try:
            for _ in range(self.max_iter):
                if self.shuffle:  # each epoch permutes the last order, as MLPClassifier
                    order = order[rng.permutation(n)]
                    batch_order = self._batch_order(order, batch_size, X)
                total_loss, n_batches = 0.0, 0
                norms = np.zeros(net.n_learning_layers)
                state.in_epoch = True  # until this epoch is in loss_curve_
                for rows, X_batch in batches(X, batch_order, batch_size, buffer):
                    Y_batch = Y[rows]
                    sw = None if sample_weight is None else sample_weight[rows]
                    loss = self._loss_grad(net, X_batch, Y_batch, sw)
                    total_loss += loss * Y_batch.shape[0]
                    norms += net.grad_norms()
                    n_batches += 1
                    self._clip(net)
                    optimizer.update_params(net.params, net.grads, net.grad_vector)
                self._end_epoch(net, total_loss / n, norms / n_batches, n)
                if self._update_no_improvement_count(net, data.val, batch_size):
                    state.best_params = [p.copy() for p in net.arrays]
                optimizer.iteration_ends(self.t_)
                if state.no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if self.early_stopping else "Training loss"
                    msg = (f"{what} did not improve more than tol={self.tol:f} for "
                           f"{self.n_iter_no_change} consecutive epochs.")
                    if optimizer.trigger_stopping(msg, self.verbose):
                        break
                    state.no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                         "and the optimization hasn't converged yet.", ConvergenceWarning)
        except KeyboardInterrupt:
            warn("Training interrupted by user.")
        finally:
            state.optimizer = optimizer.state

    def _end_epoch(self, net: Network, loss: float, norms: np.ndarray, n: int) -> None:
        """Record an epoch: its loss and gradient norms, and whether it diverged."""
        self.n_iter_ += 1
        self.t_ += n
        self.loss_ = loss
        self.loss_curve_.append(self.loss_)
        self._state.in_epoch = False
        self.gradient_norms_.append(norms.tolist())
        if not all(np.isfinite(w).all() for w in net.params):
            self._diverged("the weights became non-finite", len(self.loss_curve_),
                           non_finite=True)
        self._check_divergence(net)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")

    def _update_no_improvement_count(self, net: Network, val, batch_size: int) -> bool:
        """Count epochs without progress; True when this epoch has the best validation score.

        The validation set is predicted in chunks of the training ``batch_size`` (at most
        ``_predict_chunk``), so that no layer's buffers grow beyond a batch.
        """
        state = self._state
        if val is None:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                state.no_improvement_count += 1
            else:
                state.no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
            return False
        X_val, Y_val, y_val, sw_val = val
        P = net.predict(X_val, chunk_size=min(self._predict_chunk, batch_size))
        score = float(self._val_score(P, y_val, sw_val))
        self.validation_scores_.append(score)
        self.validation_loss_curve_.append(net.loss(Y_val, P, sw_val))
        if self.verbose:
            print(f"Validation score: {score:f}")
        if score < self.best_validation_score_ + self.tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            return True
        return False

    # ------------------------------------------------------------ divergence

    def _diverged(self, what: str, epoch: int | None = None,
                  non_finite: bool = False) -> None:
        """Raise :class:`~sknnedu.TrainingDivergedError`. ``epoch`` counts every epoch of
        the model, as ``loss_curve_`` does across warm starts and partial_fit calls; by
        default the one under way (the loss became non-finite in it)."""
        epoch = len(self.loss_curve_) + 1 if epoch is None else epoch
        # MLPClassifier's words for the non-finite case, so that code matching them still does
        also = ("Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed. ") if non_finite else ""
        advice = self._scaling_advice()
        raise TrainingDivergedError(
            f"Training diverged: {what} at epoch {epoch} "
            f"(solver={self.solver!r}, learning_rate_init={self.learning_rate_init!r}). "
            f"{also}{advice[0].upper()}{advice[1:]}."
        )

    def _scaling_advice(self) -> str:
        """What to change when a fit runs away on the scale of X (hook): for the messages
        of divergence and of a loss spike on unscaled features."""
        return ("lower learning_rate_init, or scale X (e.g. with "
                "sklearn.preprocessing.StandardScaler)")

    def _warn_spike(self, data: Prepared) -> None:
        """The loss spiked above ``3 * reference + 1`` and recovered: warn, when the input
        of the first learning layer is far from standardised (:func:`unscaled_feature`)."""
        what = unscaled_feature(data.network, data.X, data.sample_weight)
        if what is None:
            return
        state = self._state
        epoch = len(self.loss_curve_) - state.epochs + state.peak_epoch
        advice = self._scaling_advice()
        warn(f"The training loss spiked from {state.reference_loss:.4g} before the first "
             f"step to {state.peak_loss:.4g} at epoch {epoch} (solver={self.solver!r}, "
             f"learning_rate_init={self.learning_rate_init!r}), and X is not scaled: {what} "
             "(a standardised feature has mean 0 and standard deviation 1). Steps too large "
             f"for the scale of X can leave a poor model: {advice}.", ConvergenceWarning)

    def _check_divergence(self, net: Network) -> None:
        """After an epoch: stop a run whose loss or weights ran away (the rule is
        :mod:`sknnedu._training_state`'s; a falling loss is never divergence)."""
        w_max = max(float(np.abs(w).max(initial=0)) for w in net.params)
        what = self._state.judge(self.loss_, w_max, min(self.n_iter_no_change, 10))
        if what is not None:
            self._diverged(what, epoch=len(self.loss_curve_))

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
