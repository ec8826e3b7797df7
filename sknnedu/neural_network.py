"""NNClassifier and NNRegressor: scikit-learn estimators around the numpy core.

This module only says what each estimator has of its own (how targets are encoded,
the output activation and loss, how the validation set is scored); training is
:class:`sknnedu.engine.BaseNetwork`'s, the dense hooks both share are in ``_dense.py``,
NNRegressor's code in ``_regressor.py`` (it is imported and pickled from here), and the
math lives in :mod:`sknnedu.nn`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import accuracy_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._class_weight import check_class_weight, class_sample_weights
from ._dense import REGRESSION_LOSSES, _DenseNetwork, init_dense
from ._regressor import NNRegressor
from ._warn import warn
from .engine import BaseNetwork
from .nn.losses import OUTPUT_LOSSES, OutputLoss

__all__ = ["NNClassifier", "NNRegressor", "init_dense", "REGRESSION_LOSSES"]


class NNClassifier(ClassifierMixin, _DenseNetwork):
    """Multi-layer neural network classifier, backpropagation written in numpy.

    A drop-in superset of :class:`sklearn.neural_network.MLPClassifier`: the
    same parameters, defaults, methods and fitted attributes, and at the
    defaults the same computation: ``init='glorot'`` draws MLPClassifier's
    weights, so with the same ``random_state`` a fit follows it step for step,
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
    init : {'glorot', 'auto', 'he', 'lecun', 'normal', 'zeros'}, default='glorot'
        Weight initialisation (see :mod:`sknnedu.nn.initializers`). ``'glorot'``
        is MLPClassifier's, and scores as it does on shallow networks
        (``benchmarks/bench_defaults.py``). For a deep ReLU stack pass ``'he'``,
        or ``'auto'`` (He for ReLU-family layers, Glorot otherwise): it keeps
        the first layers' gradients of the same order as the last one's.
        ``'zeros'`` is truly symmetric: the hidden units never differ.
    class_weight : dict, list of dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into ``sample_weight``: a dict
        ``{class: weight}`` (classes it does not name weigh 1); ``'balanced'``,
        ``n_samples / (n_classes * count)``; or, for a multilabel ``y``, a list
        of one dict ``{0: weight, 1: weight}`` per label, whose weights multiply
        (as :func:`sklearn.utils.class_weight.compute_sample_weight`).
    dropout : float, default=0.0
        Probability of zeroing each hidden unit during training (inverted
        dropout: survivors are scaled by ``1 / (1 - dropout)``).
    rho : float, default=0.9
        Decay of the running mean of squared gradients of ``solver='rmsprop'``.
    negative_slope : float, default=0.01
        gamma of ``'leakyrelu'``: ``g(z) = max(gamma z, z)``.
    batch_norm : bool, default=False
        Batch normalisation of every hidden layer, ``a[l] = g(BN(z[l]))``
        (:class:`~sknnedu.nn.normalization.BatchNorm`: batch statistics in training, the
        running statistics at prediction). Off by default, so the computation stays
        MLPClassifier's.

    Attributes
    ----------
    batch_norm_scales_, batch_norm_offsets_ : lists of ndarray of shape (n[l],)
        With ``batch_norm``: ``gamma`` and ``beta`` of each hidden layer (empty lists
        otherwise).
    batch_norm_means_, batch_norm_vars_ : lists of ndarray of shape (n[l],)
        With ``batch_norm``: the running statistics used at prediction.
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
        init="glorot",
        class_weight=None,
        dropout=0.0,
        rho=0.9,
        negative_slope=0.01,
        batch_norm=False,
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
        self.batch_norm = batch_norm

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

    @available_if(BaseNetwork._stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None) -> NNClassifier:
        """One epoch over X and y, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole stream; required on the first call
            (except for a multilabel indicator ``y``). Pass it by name: its place
            after ``sample_weight`` is MLPClassifier's (scikit-learn 1.9).

        Returns
        -------
        self : NNClassifier
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

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
        return self._proba(self._forward(self._validate_X(X)))

    def _proba(self, P: np.ndarray) -> np.ndarray:
        """The network's output ``a[L]`` -> :meth:`predict_proba` (one column per class)."""
        if len(self.classes_) == 1 and self._y_type != "multilabel":
            return np.ones_like(P)  # one class seen in fit: it is certain
        if self.out_activation_ == "logistic":  # strictly inside (0, 1), as the loss sees it
            eps = np.finfo(P.dtype).eps
            np.clip(P, eps, 1 - eps, out=P)
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

    # ------------------------------------------------------ what is its own

    def _check_own_params(self) -> None:
        check_class_weight(self.class_weight)

    def _output_loss(self) -> OutputLoss:
        """Softmax with the log-loss for one label of several classes, sigmoids with the
        binary log-loss for one or more yes/no labels."""
        return OUTPUT_LOSSES["log_loss" if self._y_type == "multiclass" else "binary_log_loss"]

    def _target_dtype(self, y: np.ndarray) -> np.ndarray:
        """Validated y of a body that checks y itself: labels of any dtype, as they are."""
        return y

    def _targets(self, y, dtype, incremental: bool, first_pass: bool, classes=None):
        """Labels -> 0/1 targets Y of shape (n, n_outputs); classes_ on the first pass."""
        if y.ndim == 2 and y.shape[1] == 1:
            warn("A column-vector y was passed when a 1d array was expected. Please change "
                 "the shape of y to (n_samples, ), for example using ravel().",
                 DataConversionWarning)  # scikit-learn's words, at the caller's line
            y = column_or_1d(y)
        check_classification_targets(y)
        y_type = type_of_target(y)
        if y_type not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(
                f"{type(self).__name__} supports binary, multiclass and multilabel-indicator "
                f"targets; got {y_type!r}."
            )
        fresh = not hasattr(self, "classes_") or first_pass
        if fresh:
            self._set_classes(y, y_type, classes, incremental)
        elif incremental and classes is not None and not np.array_equal(
                self.classes_, unique_labels(classes)):
            raise ValueError(
                f"classes={classes!r} is not the same as on the last call to partial_fit, "
                f"was {self.classes_!r}."
            )
        if (y_type == "multilabel-indicator") != (self._y_type == "multilabel"):
            raise ValueError(
                f"y is {y_type!r} but the model was fitted on a {self._y_type!r} target."
            )
        if self._y_type == "multilabel":
            if y.shape[1] != len(self.classes_):
                raise ValueError(
                    f"y has {y.shape[1]} labels; the model was fitted with "
                    f"{len(self.classes_)}."
                )
        elif not fresh or incremental:
            labels = unique_labels(y)
            if self.warm_start and not incremental and set(labels) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in the "
                    f"previous call to fit. Previously got {self.classes_}, `y` has {labels}"
                )
            unknown = np.setdiff1d(labels, self.classes_)
            if len(unknown):
                raise ValueError(f"y has classes {unknown} not in classes_ {self.classes_}.")
        return self._encode(y, dtype), y

    def _set_classes(self, y, y_type: str, classes, incremental: bool) -> None:
        if y_type == "multilabel-indicator":
            self.classes_ = np.arange(y.shape[1])
            self._y_type = "multilabel"
            return
        if incremental and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        self.classes_ = unique_labels(y if classes is None else classes)
        self._y_type = "binary" if len(self.classes_) <= 2 else "multiclass"

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

    def _weigh(self, y, sample_weight, incremental: bool):
        """sample_weight times the weight of each sample's class (``class_weight``)."""
        if self.class_weight is None:
            return sample_weight
        weights = class_sample_weights(self.class_weight, y, self.classes_, self._y_type,
                                       incremental)
        weights = weights if sample_weight is None else sample_weight * weights
        if not np.isfinite(weights.sum()):  # else a NaN loss reads as a diverging run
            raise ValueError(
                f"The sample weights times class_weight sum to {weights.sum()}; rescale "
                "class_weight (only the ratios of the weights matter, and alpha's strength)."
            )
        return weights

    def _stratify(self, y):
        # as MLPClassifier: only a binary target is stratified, so that a rare class of a
        # multiclass target does not make it fail. MLPClassifier stratifies by the 0/1
        # column "is it classes_[-1]"; the labels themselves split the same way (both
        # are encoded in sorted order) and an error can name them.
        return y if self._y_type == "binary" else None

    def _val_score(self, P, y_val, sw_val) -> float:
        # _proba first: a binary network has one output column, which argmax cannot decode
        return accuracy_score(y_val, self._decode(self._proba(P)), sample_weight=sw_val)
