"""NNRegressor: a scikit-learn regressor around the numpy core, with robust losses.

Defined here to keep modules short; it is imported, pickled and documented as
``sknnedu.neural_network.NNRegressor``.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_is_fitted

from ._dense import REGRESSION_LOSSES, _DenseNetwork
from .nn.losses import OutputLoss, output_loss


class NNRegressor(RegressorMixin, _DenseNetwork):
    """Multi-layer neural network regressor, backpropagation written in numpy.

    A drop-in superset of :class:`sklearn.neural_network.MLPRegressor`: the
    same parameters, defaults, methods and fitted attributes, and at the
    defaults the same computation (``init='glorot'``: a seeded fit follows
    MLPRegressor step for step; with several outputs ``loss_`` is the squared
    error summed over them, MLPRegressor's their mean, so ``tol`` ends such a
    fit later), plus the robust losses ``'absolute_error'``
    and ``'huber'``, the notes' ``sigmoid`` and ``leakyrelu``, per-layer
    activations, RMSProp, dropout and per-layer gradient diagnostics.

    For layers ``l = 1..L`` (one sample per row)::

        z[l] = a[l-1] W[l] + b[l],   a[l] = g[l](z[l]),   a[0] = X

    with ``g[L]`` the identity (``exp`` for ``loss='poisson'``), minimising the
    loss (see :mod:`sknnedu.nn.losses`) plus ``alpha / 2 * sum ||W[l]||^2``, both
    divided by the total sample weight. With residuals ``r = a[L] - y``:

    ================ ===================================== ===================
    loss             J per sample, summed over outputs     dJ/dz[L]
    ================ ===================================== ===================
    squared_error    r**2 / 2                              r
    poisson          y log(y / p) - y + p,  p = exp(z)     p - y
    absolute_error   |r|                                   sign(r)
    huber            r**2 / 2 if |r| <= d, else            clip(r, -d, d)
                     d (|r| - d / 2),  d = huber_delta
    ================ ===================================== ===================

    The last two grow linearly in a large residual, so outliers pull the fit
    with a bounded force: they resist the outliers that drag squared error.

    Parameters
    ----------
    loss : {'squared_error', 'poisson', 'absolute_error', 'huber'}, \
default='squared_error'
        The loss minimised. ``'poisson'`` needs ``y >= 0`` and predicts ``exp(z)``.
    hidden_layer_sizes : int or sequence, default=(100,)
        One entry per hidden layer: an int ``n[l]`` (the layer then uses
        ``activation``) or a ``(size, activation)`` pair.
    activation : {'relu', 'leakyrelu', 'tanh', 'logistic', 'sigmoid', 'identity'}, \
default='relu'
        Activation g of the int layers.
    solver : {'adam', 'sgd', 'rmsprop', 'lbfgs'}, default='adam'
    alpha : float, default=1e-4
        Strength of the L2 penalty.
    batch_size : int or 'auto', default='auto'
        ``'auto'`` is ``min(200, n)``.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Schedule of ``solver='sgd'``.
    learning_rate_init : float, default=1e-3
    power_t : float, default=0.5
    max_iter : int, default=200
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None
    tol : float, default=1e-4
    verbose : bool, default=False
    warm_start : bool, default=False
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its R^2 stops
        improving; the best weights are kept.
    validation_fraction : float, default=0.1
    beta_1, beta_2 : float, default=0.9, 0.999
    epsilon : float, default=1e-8
        Denominator guard of adam and rmsprop (Huber's threshold is ``huber_delta``).
    n_iter_no_change : int, default=10
    max_fun : int, default=15000
    init : {'glorot', 'auto', 'he', 'lecun', 'normal', 'zeros'}, default='glorot'
        As in :class:`NNClassifier`: MLPRegressor's Glorot by default; ``'he'``
        or ``'auto'`` for a deep ReLU stack.
    dropout : float, default=0.0
        Inverted dropout on the hidden layers during training.
    rho : float, default=0.9
        Decay of ``solver='rmsprop'``.
    negative_slope : float, default=0.01
        gamma of ``'leakyrelu'``.
    huber_delta : float, default=1.0
        Threshold d of ``loss='huber'``: residuals beyond it count linearly.
    batch_norm : bool, default=False
        Batch normalisation of every hidden layer, ``a[l] = g(BN(z[l]))``
        (:class:`~sknnedu.nn.normalization.BatchNorm`: batch statistics in training, the
        running statistics at prediction). Off by default, so the computation stays
        MLPRegressor's.

    Attributes
    ----------
    batch_norm_scales_, batch_norm_offsets_ : lists of ndarray of shape (n[l],)
        With ``batch_norm``: ``gamma`` and ``beta`` of each hidden layer (empty lists
        otherwise).
    batch_norm_means_, batch_norm_vars_ : lists of ndarray of shape (n[l],)
        With ``batch_norm``: the running statistics used at prediction.
    coefs_ : list of L ndarrays
        ``coefs_[l-1]`` is W[l], of shape (n[l-1], n[l]).
    intercepts_ : list of L ndarrays
        ``intercepts_[l-1]`` is b[l], of shape (n[l],).
    loss_ : float
    loss_curve_ : list of float
    best_loss_ : float or None
    validation_scores_ : list of float or None
        Held-out R^2 per epoch with early stopping, else None.
    validation_loss_curve_ : list of float or None
        Held-out loss per epoch with early stopping, else None.
    best_validation_score_ : float or None
    gradient_norms_ : list of list of float
        For each epoch, the mean ``||dJ/dW[l]||`` of every layer.
    hidden_activations_ : list of str
    n_iter_ : int
    t_ : int
    n_layers_ : int
    n_outputs_ : int
    out_activation_ : str
        ``'identity'``, or ``'exp'`` for ``loss='poisson'``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu import NNRegressor
    >>> X = np.linspace(-3, 3, 200)[:, None]
    >>> y = np.sin(X).ravel()
    >>> reg = NNRegressor(hidden_layer_sizes=(32,), activation="tanh", solver="lbfgs",
    ...                   random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.95
    True
    """

    def __init__(
        self,
        loss="squared_error",
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
        dropout=0.0,
        rho=0.9,
        negative_slope=0.01,
        huber_delta=1.0,
        batch_norm=False,
    ):
        self.loss = loss
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
        self.dropout = dropout
        self.rho = rho
        self.negative_slope = negative_slope
        self.huber_delta = huber_delta
        self.batch_norm = batch_norm

    def predict(self, X) -> np.ndarray:
        """The network's output ``a[L]``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D when fitted on a 1-D ``y``.
        """
        check_is_fitted(self)
        P = self._forward(self._validate_X(X))
        return P.ravel() if P.shape[1] == 1 else P

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags

    # ------------------------------------------------------ what is its own

    def _check_own_params(self) -> None:
        self._need(self.loss in REGRESSION_LOSSES, "loss", f"one of {list(REGRESSION_LOSSES)}")
        self._need(isinstance(self.huber_delta, numbers.Real)
                   and not isinstance(self.huber_delta, bool)
                   and np.isfinite(self.huber_delta) and self.huber_delta > 0,
                   "huber_delta", "a float > 0")

    def _output_loss(self) -> OutputLoss:
        """The loss ``loss`` with its identity (or, Poisson, exp) output, ``huber_delta``
        bound into it."""
        return output_loss(self.loss, self.huber_delta)

    def _target_dtype(self, y: np.ndarray) -> np.ndarray:
        """Validated y of a body that checks y itself: numbers (strings of numbers as float)."""
        return y if y.dtype.kind in "biuf" else y.astype(np.float64)

    def _targets(self, y, dtype, incremental: bool, first_pass: bool):
        """y -> Y of shape (n, n_outputs) in the dtype of X."""
        y = np.asarray(y, dtype=dtype)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if not first_pass and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} output(s); the model was fitted with {self.n_outputs_}."
            )
        if self.loss == "poisson" and (Y < 0).any():
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for Poisson regression."
            )
        return Y, y

    def _val_score(self, P, y_val, sw_val) -> float:
        return r2_score(y_val, P.ravel() if y_val.ndim == 1 else P, sample_weight=sw_val)
