"""NNClassifier: the scikit-learn estimator around the numpy core.

This module only validates, converts and delegates: the math lives in
:mod:`.activations`, :mod:`.initializers`, :mod:`.losses`, :mod:`.optimizers`
and :mod:`.network`.
"""

from __future__ import annotations

import contextlib
import numbers
import warnings

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import blas, network
from .activations import HIDDEN_ACTIVATIONS
from .initializers import INITIALIZERS, resolve_init
from .losses import LOSSES
from .optimizers import OPTIMIZERS

STOCHASTIC_SOLVERS = ("sgd", "adam", "rmsprop")
SOLVERS = STOCHASTIC_SOLVERS + ("lbfgs",)
LEARNING_RATES = ("constant", "invscaling", "adaptive")

#: Below this many multiply-adds per batch and layer, BLAS runs on one thread:
#: waking threads for a 200 x 64 x 128 product costs more than it saves, and on a
#: busy machine (or inside GridSearchCV workers) it is many times slower.
SMALL_PRODUCT = 4_000_000


def _small_products_single_threaded(batch_size: int, units: list[int]):
    """A context in which BLAS uses one thread, if every product of a batch is small."""
    if batch_size * max(a * b for a, b in zip(units[:-1], units[1:])) >= SMALL_PRODUCT:
        return contextlib.nullcontext()
    return blas.single_threaded()


class NNClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer neural network classifier, backpropagation written in numpy.

    A drop-in superset of :class:`sklearn.neural_network.MLPClassifier`: the
    same parameters, methods and fitted attributes (one default differs in
    effect: ``init='auto'`` starts ReLU layers with He initialisation, where
    MLPClassifier uses Glorot; ``init='glorot'`` reproduces it step for step),
    plus the notes' ``sigmoid`` and ``leakyrelu`` activations, per-layer activations, a choice of
    initialisation, RMSProp, class weights, dropout and per-layer gradient
    diagnostics.

    For layers ``l = 1..L`` the network computes (one sample per row)::

        z[l] = a[l-1] W[l] + b[l],   a[l] = g[l](z[l]),   a[0] = X

    with ``g[L]`` the softmax (multiclass) or the sigmoid (binary, multilabel),
    and minimises the cross-entropy plus ``alpha / 2 * sum ||W[l]||^2``, both
    divided by the total sample weight.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence, default=(100,)
        One entry per hidden layer: an int ``n[l]`` (the layer then uses
        ``activation``) or a ``(size, activation)`` pair, as the notes'
        ``[(24, 'relu'), (24, 'relu')]``.
    activation : {'relu', 'leakyrelu', 'tanh', 'logistic', 'sigmoid', 'identity'}, \
default='relu'
        Activation g of the int layers. ``'sigmoid'`` is ``'logistic'``.
    solver : {'adam', 'sgd', 'rmsprop', 'lbfgs'}, default='adam'
        ``'lbfgs'`` is scipy's L-BFGS-B on the packed weights (full batch).
    alpha : float, default=1e-4
        Strength of the L2 penalty.
    batch_size : int or 'auto', default='auto'
        Minibatch size of the stochastic solvers; ``'auto'`` is ``min(200, n)``.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Schedule of ``solver='sgd'``.
    learning_rate_init : float, default=1e-3
        Initial step size eta of the stochastic solvers.
    power_t : float, default=0.5
        Exponent of the ``'invscaling'`` schedule.
    max_iter : int, default=200
        Epochs (stochastic solvers) or iterations (lbfgs).
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, the early-stopping split and dropout.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no progress.
    verbose : bool, default=False
        Print the loss every epoch.
    warm_start : bool, default=False
        Continue from the previous fit's weights.
    momentum : float, default=0.9
        Momentum mu of ``solver='sgd'``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``solver='sgd'``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its accuracy
        stops improving; the best weights are kept.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    beta_1, beta_2 : float, default=0.9, 0.999
        Moment decays of ``solver='adam'``.
    epsilon : float, default=1e-8
        Denominator guard of adam and rmsprop.
    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping.
    max_fun : int, default=15000
        Maximum loss evaluations of ``solver='lbfgs'``.
    init : {'auto', 'he', 'glorot', 'lecun', 'normal', 'zeros'}, default='auto'
        Weight initialisation (see :mod:`sknnedu.initializers`). ``'auto'`` is
        He for ReLU-family layers and Glorot (as MLPClassifier) otherwise.
        ``'zeros'`` is truly symmetric: the hidden units never differ.
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.
    dropout : float, default=0.0
        Probability of zeroing each hidden unit during training (inverted
        dropout: survivors are scaled by ``1 / (1 - dropout)``).
    rho : float, default=0.9
        Decay of the running mean of squared gradients of ``solver='rmsprop'``.
    negative_slope : float, default=0.01
        gamma of ``'leakyrelu'``: ``g(z) = max(gamma z, z)``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coefs_ : list of L ndarrays
        ``coefs_[l-1]`` is W[l], of shape (n[l-1], n[l]).
    intercepts_ : list of L ndarrays
        ``intercepts_[l-1]`` is b[l], of shape (n[l],).
    loss_ : float
        Loss at the end of training.
    loss_curve_ : list of float
        Training loss after each epoch (iteration for lbfgs).
    best_loss_ : float or None
        Lowest training loss (None with early stopping or lbfgs).
    validation_scores_ : list of float or None
        Held-out accuracy per epoch with early stopping, else None.
    validation_loss_curve_ : list of float or None
        Held-out cross-entropy per epoch with early stopping, else None.
    best_validation_score_ : float or None
    gradient_norms_ : list of list of float
        For each epoch, the mean Frobenius norm ``||dJ/dW[l]||`` of every layer
        (first layer first): the vanishing/exploding-gradient diagnostic.
    hidden_activations_ : list of str
        Activation of each hidden layer.
    n_iter_ : int
    t_ : int
        Training samples seen by the stochastic solvers.
    n_layers_ : int
        Layers including input and output (L + 1).
    n_outputs_ : int
    out_activation_ : str
        ``'softmax'`` or ``'logistic'``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X has string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknnedu import NNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = NNClassifier([(32, 'leakyrelu'), (16, 'tanh')], max_iter=50,
    ...                    random_state=0).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.95
    True
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        init="auto",
        class_weight=None,
        dropout=0.0,
        rho=0.9,
        negative_slope=0.01,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.init = init
        self.class_weight = class_weight
        self.dropout = dropout
        self.rho = rho
        self.negative_slope = negative_slope

    # ------------------------------------------------------------------ API

    def fit(self, X, y, sample_weight=None) -> NNClassifier:
        """Fit the network to X and y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multilabel.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : NNClassifier
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _stochastic(self) -> bool:
        return self.solver in STOCHASTIC_SOLVERS

    @available_if(_stochastic)
    def partial_fit(self, X, y, classes=None, sample_weight=None) -> NNClassifier:
        """One epoch over X and y, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole stream; required on the first call
            (except for a multilabel indicator ``y``).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : NNClassifier
        """
        if not hasattr(self, "classes_"):
            if type_of_target(y).startswith("multilabel"):
                self.classes_ = np.arange(np.shape(y)[1])
                self._y_type = "multilabel"
            elif classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            else:
                classes = unique_labels(classes)
                if len(classes) < 2:
                    raise ValueError(
                        f"classes must list at least 2 classes; got {list(classes)}."
                    )
                self.classes_ = classes
                self._y_type = "binary" if len(self.classes_) <= 2 else "multiclass"
        elif classes is not None and not np.array_equal(self.classes_, unique_labels(classes)):
            raise ValueError(
                f"classes={classes!r} is not the same as on the last call to partial_fit, "
                f"was {self.classes_!r}."
            )
        return self._fit(X, y, sample_weight, incremental=True)

    def predict_proba(self, X) -> np.ndarray:
        """Probability of each class, ``a[L]`` of the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``. For multilabel, column k is the
            probability that label k is on (rows need not sum to 1).
        """
        check_is_fitted(self)
        with np.errstate(over="ignore", invalid="ignore"):
            X = validate_data(self, X, accept_sparse=["csr", "csc"],
                              dtype=(np.float64, np.float32), reset=False)
            P = network.predict_proba(X, self.coefs_, self.intercepts_,
                                      self.hidden_activations_, self.out_activation_,
                                      slope=self.negative_slope)
        bad = ~np.isfinite(P).all(axis=1)
        if bad.any():
            raise ValueError(
                f"The network overflowed on {bad.sum()} row(s) of X (the first is row "
                f"{np.flatnonzero(bad)[0]}): its values are too large for the weights. "
                "Scale X as it was scaled for fit."
            )
        if self._y_type == "binary":
            return np.hstack([1 - P, P])
        return P

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`, shape (n_samples, n_classes)."""
        P = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(P, out=P)

    def predict(self, X) -> np.ndarray:
        """Most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
        """
        return self._decode(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags

    # ------------------------------------------------------- validation

    def _layers(self) -> list[tuple[int, str]]:
        """hidden_layer_sizes as a list of ``(size, activation)`` pairs, validated."""
        self._check_activation(self.activation, "activation")
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        elif isinstance(sizes, str) or not hasattr(sizes, "__iter__"):
            raise ValueError(
                "hidden_layer_sizes must be an int or a sequence of ints and "
                f"(size, activation) pairs; got {sizes!r}."
            )
        layers = []
        for i, entry in enumerate(sizes):
            if isinstance(entry, numbers.Integral) and not isinstance(entry, bool):
                size, act = entry, self.activation
            elif (isinstance(entry, (tuple, list)) and len(entry) == 2
                  and isinstance(entry[0], numbers.Integral) and isinstance(entry[1], str)):
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

    def _check_params(self) -> None:
        def need(ok: bool, name: str, expected: str) -> None:
            if not ok:
                raise ValueError(f"{name} must be {expected}; got {getattr(self, name)!r}.")

        def real(v) -> bool:
            return isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v)

        def integer(v) -> bool:
            return isinstance(v, numbers.Integral) and not isinstance(v, bool)

        need(self.solver in SOLVERS, "solver", f"one of {list(SOLVERS)}")
        need(self.learning_rate in LEARNING_RATES, "learning_rate",
             f"one of {list(LEARNING_RATES)}")
        need(self.init == "auto" or self.init in INITIALIZERS, "init",
             f"'auto' or one of {sorted(INITIALIZERS)}")
        need(real(self.alpha) and self.alpha >= 0, "alpha", "a float >= 0")
        need(self.batch_size == "auto" or (integer(self.batch_size) and self.batch_size >= 1),
             "batch_size", "'auto' or an int >= 1")
        need(real(self.learning_rate_init) and self.learning_rate_init > 0,
             "learning_rate_init", "a float > 0")
        need(real(self.power_t) and self.power_t >= 0, "power_t", "a float >= 0")
        need(integer(self.max_iter) and self.max_iter >= 1, "max_iter", "an int >= 1")
        need(real(self.tol) and self.tol >= 0, "tol", "a float >= 0")
        need(real(self.momentum) and 0 <= self.momentum <= 1, "momentum", "in [0, 1]")
        need(real(self.validation_fraction) and 0 <= self.validation_fraction < 1,
             "validation_fraction", "in [0, 1)")
        need(real(self.beta_1) and 0 <= self.beta_1 < 1, "beta_1", "in [0, 1)")
        need(real(self.beta_2) and 0 <= self.beta_2 < 1, "beta_2", "in [0, 1)")
        need(real(self.epsilon) and self.epsilon > 0, "epsilon", "a float > 0")
        need(self.n_iter_no_change == np.inf
             or (integer(self.n_iter_no_change) and self.n_iter_no_change >= 1),
             "n_iter_no_change", "an int >= 1 or np.inf")
        need(integer(self.max_fun) and self.max_fun >= 1, "max_fun", "an int >= 1")
        need(real(self.dropout) and 0 <= self.dropout < 1, "dropout", "in [0, 1)")
        need(self.dropout == 0 or self.solver in STOCHASTIC_SOLVERS, "dropout",
             "0 with solver='lbfgs' (a random loss breaks its line search)")
        need(real(self.rho) and 0 <= self.rho < 1, "rho", "in [0, 1)")
        need(real(self.negative_slope) and 0 <= self.negative_slope < 1, "negative_slope",
             "in [0, 1)")
        need(self.class_weight is None or self.class_weight == "balanced"
             or isinstance(self.class_weight, dict), "class_weight",
             "None, 'balanced' or a dict {class: weight}")

    def _validate_input(self, X, y, sample_weight, incremental: bool, reset: bool):
        """Validated X, 0/1 targets Y of shape (n, n_outputs), labels y, weights."""
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        y_type = type_of_target(y)
        if y_type not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(
                f"NNClassifier supports binary, multiclass and multilabel-indicator targets; "
                f"got {y_type!r}."
            )
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            if y_type == "multilabel-indicator":
                self.classes_ = np.arange(y.shape[1])
                self._y_type = "multilabel"
            else:
                self.classes_ = unique_labels(y)
                self._y_type = "binary" if len(self.classes_) <= 2 else "multiclass"
            if len(self.classes_) < 2 and self._y_type != "multilabel":
                raise ValueError(
                    "NNClassifier needs samples of at least 2 classes in the data; "
                    f"got only one class: {self.classes_[0]!r}."
                )
        elif (y_type == "multilabel-indicator") != (self._y_type == "multilabel"):
            raise ValueError(
                f"y is {y_type!r} but the model was fitted on a {self._y_type!r} target."
            )
        elif self._y_type != "multilabel":
            classes = unique_labels(y)
            if self.warm_start and not incremental and set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in the "
                    f"previous call to fit. Previously got {self.classes_}, `y` has {classes}."
                )
            unknown = np.setdiff1d(classes, self.classes_)
            if len(unknown):
                raise ValueError(
                    f"y has classes {unknown} not in classes_ {self.classes_}."
                )
        elif y.shape[1] != len(self.classes_):
            raise ValueError(
                f"y has {y.shape[1]} labels; the model was fitted with {len(self.classes_)}."
            )
        Y = self._encode(y, X.dtype)

        n = X.shape[0]
        if sample_weight is not None:
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
        if self.class_weight is not None:
            cw = compute_sample_weight(self.class_weight, y)
            sample_weight = cw if sample_weight is None else sample_weight * cw
        return X, Y, y, sample_weight

    def _encode(self, y: np.ndarray, dtype) -> np.ndarray:
        """Labels -> 0/1 matrix of shape (n_samples, n_outputs_), in ``dtype``."""
        if self._y_type == "multilabel":
            return np.asarray(y, dtype=dtype)
        if self._y_type == "binary":
            return (y == self.classes_[-1]).astype(dtype)[:, None]
        return (y[:, None] == self.classes_[None, :]).astype(dtype)

    def _decode(self, P: np.ndarray) -> np.ndarray:
        """predict_proba -> labels."""
        if self._y_type == "multilabel":
            return (P > 0.5).astype(int)
        return self.classes_[np.argmax(P, axis=1)]

    # --------------------------------------------------------- training

    def _fit(self, X, y, sample_weight, incremental: bool) -> NNClassifier:
        # overflow shows up as a non-finite loss or weight, which _diverged reports
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._fit_checked(X, y, sample_weight, incremental)

    def _fit_checked(self, X, y, sample_weight, incremental: bool) -> NNClassifier:
        self._check_params()
        layers = self._layers()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True.")
        if self.class_weight == "balanced" and incremental:
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: each chunk would "
                "be balanced on its own. Pass a dict, e.g. from "
                "sklearn.utils.class_weight.compute_class_weight on all the labels."
            )
        X, Y, y, sample_weight = self._validate_input(X, y, sample_weight, incremental,
                                                      reset=first_pass)
        if sample_weight is not None and sample_weight.sum() <= 0:
            raise ValueError(
                "Sample weights must contain at least one non-zero number; all are zero."
            )
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(layers, X.shape[1], Y.shape[1], X.dtype, rng)
        elif [(c.shape[1], a) for c, a in zip(self.coefs_, self.hidden_activations_)] != layers:
            raise ValueError(
                f"hidden_layer_sizes changed from those of the fitted model "
                f"({list(zip([c.shape[1] for c in self.coefs_], self.hidden_activations_))}) "
                f"to {layers}; warm_start and partial_fit need the same architecture."
            )
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight)
        else:
            self._fit_stochastic(X, Y, y, sample_weight, incremental, rng)
        if not all(np.isfinite(w).all() for w in self.coefs_ + self.intercepts_):
            self._diverged("the weights became non-finite")
        return self

    def _initialize(self, layers, n_features: int, n_outputs: int, dtype, rng) -> None:
        self.hidden_activations_ = [act for _, act in layers]
        self.n_outputs_ = n_outputs
        self.out_activation_ = "softmax" if self._y_type == "multiclass" else "logistic"
        units = [n_features] + [size for size, _ in layers] + [n_outputs]
        self.n_layers_ = len(units)
        # a layer's initialiser follows the activation of the units it feeds;
        # the output layer follows the last hidden one (as MLPClassifier does)
        feeds = self.hidden_activations_ + [(self.hidden_activations_ or [self.activation])[-1]]
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out, act in zip(units[:-1], units[1:], feeds):
            name = resolve_init(self.init, act)
            W, b = INITIALIZERS[name](fan_in, fan_out, rng, dtype, activation=act)
            self.coefs_.append(W)
            self.intercepts_.append(b)
        self.t_ = 0
        self.loss_curve_ = []
        self.gradient_norms_ = []
        self._optimizer_state = None
        self._reference_loss = None
        self._bad_epochs = 0
        self._reference_weight = max(float(np.abs(w).max()) for w in self.coefs_)
        self._no_improvement_count = 0
        self.validation_scores_ = [] if self.early_stopping else None
        self.validation_loss_curve_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self.best_loss_ = None if self.early_stopping or self.solver == "lbfgs" else np.inf
        self._best_coefs = self._best_intercepts = None

    def _diverged(self, what: str, epoch: int | None = None) -> None:
        epoch = len(self.loss_curve_) + 1 if epoch is None else epoch
        raise ValueError(
            f"Training diverged: {what} at epoch {epoch} "
            f"(solver={self.solver!r}, learning_rate_init={self.learning_rate_init!r}). "
            "Lower learning_rate_init, or scale X (e.g. with StandardScaler)."
        )

    def _check_divergence(self) -> None:
        """Stop a run whose loss or weights ran away from where they started.

        Two signs, checked after every epoch. A weight grew past 1e4 times the
        largest initial weight (plus one): stop at once. The mean loss is above
        three times its value at initialisation (chance level) plus one: stop
        when that lasts more than ``min(n_iter_no_change, 10)`` epochs (a spike
        may recover), or
        when it is still so at the end of ``fit`` (see :meth:`_fit_stochastic`).
        Either means the steps are too big for the scale of the data.
        """
        w_max = max(float(np.abs(w).max()) for w in self.coefs_)
        if w_max > 1e4 * (self._reference_weight + 1):
            self._diverged(f"the largest weight grew from {self._reference_weight:.4g} "
                           f"at initialisation to {w_max:.4g}", epoch=self.n_iter_)
        if self.loss_ > 3 * self._reference_loss + 1:
            self._bad_epochs += 1
        else:
            self._bad_epochs = 0
        if self._bad_epochs > min(self.n_iter_no_change, 10):
            self._loss_diverged()

    def _loss_diverged(self) -> None:
        self._diverged(f"the training loss grew from {self._reference_loss:.4g} "
                       f"at initialisation to {self.loss_:.4g}", epoch=self.n_iter_)

    def _net_args(self) -> dict:
        return dict(hidden_activations=self.hidden_activations_,
                    out_activation=self.out_activation_)

    def _loss_grad(self, X, Y, sample_weight, coef_grads, intercept_grads, *,
                   rng=None, buffers=None, dbuffers=None, scratch=None) -> float:
        """One forward and backward pass; fills the gradients, returns the loss."""
        A, pre, masks = network.forward(
            X, self.coefs_, self.intercepts_, **self._net_args(), slope=self.negative_slope,
            dropout=self.dropout, rng=rng, buffers=buffers)
        loss = network.backward(
            A, pre, masks, Y, self.coefs_, **self._net_args(), alpha=self.alpha,
            sample_weight=sample_weight, slope=self.negative_slope,
            coef_grads=coef_grads, intercept_grads=intercept_grads, buffers=dbuffers,
            scratch=scratch)
        if not np.isfinite(loss):
            self._diverged(f"the training loss became {loss}")
        return loss

    def _fit_lbfgs(self, X, Y, sample_weight) -> None:
        coef_grads = [np.empty_like(w) for w in self.coefs_]
        intercept_grads = [np.empty_like(b) for b in self.intercepts_]
        last = {}

        def loss_grad(theta):
            network.unpack(theta, self.coefs_, self.intercepts_)
            loss = self._loss_grad(X, Y, sample_weight, coef_grads, intercept_grads)
            last["norms"] = [float(np.linalg.norm(g)) for g in coef_grads]
            last["loss"] = loss
            return loss, network.pack(coef_grads, intercept_grads).astype(np.float64)

        def callback(intermediate_result=None):
            self.loss_curve_.append(last["loss"])
            self.gradient_norms_.append(last["norms"])
            if self.verbose:
                print(f"Iteration {len(self.loss_curve_)}, loss = {last['loss']:.8f}")

        theta0 = network.pack(self.coefs_, self.intercepts_).astype(np.float64)
        res = scipy.optimize.minimize(
            loss_grad, theta0, method="L-BFGS-B", jac=True, callback=callback,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        if res.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {res.nit} iterations (status={res.status}): "
                f"{res.message}. Increase max_iter or max_fun, or scale the data.",
                ConvergenceWarning, stacklevel=3)
        self.n_iter_ = min(int(res.nit), self.max_iter)
        self.loss_ = float(res.fun)
        network.unpack(res.x, self.coefs_, self.intercepts_)

    def _make_optimizer(self, params, incremental: bool):
        state = self._optimizer_state if incremental else None
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
        """Hold out ``validation_fraction`` of the samples (stratified for binary y).

        As MLPClassifier: only a binary target is stratified, so that a rare class
        of a multiclass target does not make the split fail.
        """
        arrays = [X, Y, y] + ([] if sample_weight is None else [sample_weight])
        stratify = y if self._y_type == "binary" else None
        parts = train_test_split(*arrays, test_size=self.validation_fraction,
                                 random_state=rng.randint(np.iinfo(np.int32).max),
                                 stratify=stratify)
        train, val = parts[0::2], parts[1::2]
        if val[0].shape[0] < 2:
            raise ValueError(
                f"The validation set has {val[0].shape[0]} sample(s); early stopping needs "
                "at least 2. Increase validation_fraction or the size of the data."
            )
        if sample_weight is None:
            train, val = list(train) + [None], list(val) + [None]
        return train, val

    def _fit_stochastic(self, X, Y, y, sample_weight, incremental: bool, rng) -> None:
        optimizer = self._make_optimizer(self.coefs_ + self.intercepts_, incremental)
        if not isinstance(X, np.ndarray) and X.format != "csr":
            X = X.tocsr()  # batches are rows: slicing rows of CSC every batch is slow
        val = None
        if self.early_stopping:
            (X, Y, _, sample_weight), val = self._split_validation(X, Y, y, sample_weight, rng)
        n = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(f"batch_size={self.batch_size} is larger than the {n} samples; "
                              f"using {n}.", stacklevel=3)
            batch_size = min(self.batch_size, n)

        self.n_iter_ = 0
        units = [X.shape[1]] + [w.shape[1] for w in self.coefs_]
        with _small_products_single_threaded(batch_size, units):
            self._epochs(X, Y, sample_weight, val, incremental, rng, optimizer, batch_size)
        if not incremental and self._bad_epochs:
            self._loss_diverged()
        if self.early_stopping:
            self.coefs_ = self._best_coefs
            self.intercepts_ = self._best_intercepts

    def _epochs(self, X, Y, sample_weight, val, incremental, rng, optimizer, batch_size):
        """The epoch loop of the stochastic solvers (see :meth:`_fit_stochastic`)."""
        n = X.shape[0]
        params = self.coefs_ + self.intercepts_
        # drawn only with dropout, so that shuffling follows MLPClassifier's stream;
        # t_ makes each partial_fit call draw new masks
        dropout_rng = (np.random.default_rng([rng.randint(np.iinfo(np.int32).max), self.t_])
                       if self.dropout else None)
        coef_grads = [np.empty_like(w) for w in self.coefs_]
        intercept_grads = [np.empty_like(b) for b in self.intercepts_]
        grads = coef_grads + intercept_grads
        L = len(self.coefs_)
        buffers, dbuffers, scratch = [None] * (L + 1), [None] * (L + 1), [None] * L
        dense = isinstance(X, np.ndarray)
        X_batch_buffer = np.empty((batch_size, X.shape[1]), dtype=X.dtype) if dense else None
        order = np.arange(n) if self.shuffle else None
        try:
            for _ in range(self.max_iter):
                if self.shuffle:  # each epoch permutes the last order, as MLPClassifier
                    order = order[rng.permutation(n)]
                total_loss = 0.0
                norms = np.zeros(L)
                n_batches = 0
                for start in range(0, n, batch_size):
                    stop = min(start + batch_size, n)
                    rows = slice(start, stop) if order is None else order[start:stop]
                    if order is None:
                        X_batch = X[rows]
                    elif dense:
                        X_batch = np.take(X, rows, axis=0, out=X_batch_buffer[:stop - start])
                    else:
                        X_batch = X[rows]
                    sw = None if sample_weight is None else sample_weight[rows]
                    loss = self._loss_grad(X_batch, Y[rows], sw, coef_grads, intercept_grads,
                                           rng=dropout_rng, buffers=buffers, dbuffers=dbuffers,
                                           scratch=scratch)
                    if self._reference_loss is None:
                        self._reference_loss = loss  # at initialisation: chance level
                    total_loss += loss * (stop - start)
                    norms += [np.sqrt(np.vdot(g, g)) for g in coef_grads]
                    n_batches += 1
                    optimizer.update_params(params, grads)

                self.n_iter_ += 1
                self.t_ += n
                self.loss_ = total_loss / n
                self.loss_curve_.append(self.loss_)
                self.gradient_norms_.append((norms / n_batches).tolist())
                if not all(np.isfinite(w).all() for w in self.coefs_):
                    self._diverged("the weights became non-finite")
                self._check_divergence()
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                self._update_no_improvement_count(val)
                optimizer.iteration_ends(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if self.early_stopping else "Training loss"
                    msg = (f"{what} did not improve more than tol={self.tol:f} for "
                           f"{self.n_iter_no_change} consecutive epochs.")
                    if optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                        "and the optimization hasn't converged yet.", ConvergenceWarning,
                        stacklevel=3)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=3)
        finally:
            self._optimizer_state = optimizer.state

    def _update_no_improvement_count(self, val) -> None:
        if val is not None:
            X_val, Y_val, y_val, sw_val = val
            P = network.predict_proba(X_val, self.coefs_, self.intercepts_, **self._net_args(),
                                      slope=self.negative_slope)
            score = accuracy_score(y_val, self._decode(P), sample_weight=sw_val)
            self.validation_scores_.append(float(score))
            self.validation_loss_curve_.append(LOSSES[self.out_activation_](Y_val, P, sw_val))
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = float(score)
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [b.copy() for b in self.intercepts_]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
