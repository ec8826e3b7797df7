"""What NNClassifier and NNRegressor share: a fully connected network on 2-D X.

The hooks of :class:`sknnedu.engine.BaseNetwork` for dense layers (validation, architecture,
initialisation, the layers over the fitted ``coefs_`` and ``intercepts_``), and
:func:`init_dense`, which the convolutional and recurrent estimators' dense heads use too.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import validate_data

from .engine import BaseNetwork
from .nn.initializers import INITIALIZERS, resolve_init
from .nn.layers import Activation, Dense, dropout_layers
from .nn.normalization import BatchNorm, init_norm, init_running

REGRESSION_LOSSES = ("squared_error", "poisson", "absolute_error", "huber")
#: batch normalisation of the hidden layers: gamma, beta (learned), running mean and variance
BATCH_NORM_ATTRS = ("batch_norm_scales_", "batch_norm_offsets_", "batch_norm_means_",
                    "batch_norm_vars_")


class _DenseNetwork(BaseNetwork):
    """A fully connected network on 2-D (optionally sparse) X: what both estimators share."""

    #: models written by 0.1, which had no batch_norm parameter, read it as off
    batch_norm = False

    def _params(self) -> list[np.ndarray]:
        """The lists of ``_param_attrs``, then batch norm's arrays that they do not name
        (its running statistics included: early stopping keeps them with the weights they
        go with), each array once."""
        return super()._params() + [a for name in BATCH_NORM_ATTRS
                                    if name not in self._param_attrs
                                    for a in getattr(self, name, [])]

    def _validate_X_y(self, X, y, reset: bool):
        return validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)

    def _validate_X(self, X):
        with np.errstate(over="ignore", invalid="ignore"):  # inf is reported, not warned
            return validate_data(self, X, accept_sparse=["csr", "csc"],
                                 dtype=(np.float64, np.float32), reset=False)

    def _architecture(self) -> tuple:
        return (self._hidden_layers(), self._output_loss().activation,
                bool(self.batch_norm))

    def _fitted_architecture(self) -> tuple:
        return ([(c.shape[1], a) for c, a in zip(self.coefs_, self.hidden_activations_)],
                self.out_activation_, bool(getattr(self, "batch_norm_scales_", [])))

    def _initialize_params(self, X, Y, rng, sample_weight=None) -> None:
        layers = self._hidden_layers()
        self.hidden_activations_ = [act for _, act in layers]
        self.n_outputs_ = Y.shape[1]
        self.out_activation_ = self._output_loss().activation
        units = [X.shape[1]] + [size for size, _ in layers] + [Y.shape[1]]
        self.n_layers_ = len(units)
        self.coefs_, self.intercepts_ = init_dense(
            units, self.hidden_activations_, self.activation, self.init, rng, X.dtype)
        sizes = units[1:-1] if self.batch_norm else []
        self.batch_norm_scales_, self.batch_norm_offsets_ = [], []
        self.batch_norm_means_, self.batch_norm_vars_ = [], []
        for size in sizes:  # no random numbers: the stream stays MLPClassifier's
            for name, a in zip(BATCH_NORM_ATTRS, init_norm(size, X.dtype)
                               + init_running(size, X.dtype)):
                getattr(self, name).append(a)

    def _build_layers(self, dropout: float = 0.0, rng=None) -> list:
        norms = list(zip(*(getattr(self, name, []) for name in BATCH_NORM_ATTRS))) or None
        return dense_head(self.coefs_, self.intercepts_, self.hidden_activations_,
                          self.negative_slope, dropout, rng, norms=norms)


def init_dense(units: list[int], hidden_activations: list[str], activation: str, init: str,
               rng, dtype) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Initial ``W[l]`` of shape (n[l-1], n[l]) and ``b[l]`` of shape (n[l],), l = 1..L.

    A layer's initialiser follows the activation of the units it feeds; the
    output layer follows the last hidden one (as MLPClassifier does).
    """
    feeds = hidden_activations + [(hidden_activations or [activation])[-1]]
    coefs, intercepts = [], []
    for fan_in, fan_out, act in zip(units[:-1], units[1:], feeds):
        W, b = INITIALIZERS[resolve_init(init, act)](fan_in, fan_out, rng, dtype,
                                                     activation=act)
        coefs.append(W)
        intercepts.append(b)
    return coefs, intercepts




def dense_head(coefs: list[np.ndarray], intercepts: list[np.ndarray],
               hidden_activations: list[str], slope: float, dropout: float = 0.0, rng=None,
               on_input: bool = False, norms: list | None = None) -> list:
    """The dense layers over ``coefs`` and ``intercepts`` (by reference): the one dense head.

    ``z[l] = a[l-1] W[l] + b[l]``; the hidden layers apply ``hidden_activations``, the last
    layer outputs ``z[L]`` (the network applies ``g[L]``). With ``dropout``, a
    :class:`~sknnedu.nn.layers.Dropout` after every hidden layer, and (``on_input``) before
    the first layer too, as the convolutional and sequence bodies use it on their readout.
    With ``norms``, one ``(gamma, beta, running_mean, running_var)`` per hidden layer, each
    hidden layer is ``g(BN(a[l-1] W[l] + b[l]))``: :class:`~sknnedu.nn.layers.Dense` without
    its activation, :class:`~sknnedu.nn.normalization.BatchNorm`, then
    :class:`~sknnedu.nn.layers.Activation`.
    """
    acts = list(hidden_activations) + ["identity"]  # g[L] is the network's
    out = dropout_layers(dropout, rng) if on_input else []
    for i, (W, b, act) in enumerate(zip(coefs, intercepts, acts)):
        hidden = i < len(hidden_activations)
        if hidden and norms:
            out += [Dense(W, b, "identity", slope), BatchNorm(*norms[i]),
                    Activation(act, slope)]
        else:
            out.append(Dense(W, b, act, slope))
        if hidden:
            out += dropout_layers(dropout, rng)
    return out
