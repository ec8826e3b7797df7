"""SequenceCNNClassifier and SequenceCNNRegressor: convolutional networks over sequences.

The fully convolutional network of Wang et al. (2017) for time series, and its residual
variant (their ResNet): 1-D convolutions with batch normalisation and ReLU, then the mean
of the last layer's states over each sequence's own valid steps, then a dense output
layer. There is no loop over time: each layer is one product over every step of the
batch (:class:`~sknnedu.nn.sequence_conv.Conv1D`), so it runs at the speed of BLAS.

Each estimator is a target (:class:`NNClassifier`'s or :class:`NNRegressor`'s) and a body:
the sequence input and dense head of :mod:`sknnedu._sequence`, and this module's
:class:`_ConvSequenceBody`, which says only its layers.
"""

from __future__ import annotations

import numpy as np

from ._params import _integer
from ._sequence import _SequenceBody, set_params
from .neural_network import NNClassifier, NNRegressor
from .nn.layers import Activation
from .nn.normalization import BatchNorm, init_norm, init_running
from .nn.pooling import POOLINGS
from .nn.residual import Fork, Join
from .nn.sequence_conv import Conv1D, GlobalPool, init_conv1d

READOUTS = tuple(sorted(POOLINGS))  # ('avg', 'max'): the kinds of global pooling


class _ConvSequenceBody(_SequenceBody):
    """The convolutional body: ``[Conv1D -> BatchNorm -> g] x L``, optional skips, pooling."""

    _body_attrs = ("conv_kernels_", "conv_intercepts_", "batch_norm_scales_",
                   "batch_norm_offsets_", "shortcut_weights_")

    def _batch_size(self, n: int) -> int:
        """``'auto'``: all ``n`` sequences when ``n <= 32`` (full batches, where a sample
        weight of 2 is exactly the sample twice), else ``min(16, max(4, n // 10))``, as
        Wang et al.'s FCN trains (Fawaz et al. 2019: ``min(n / 10, 16)``)."""
        if self.batch_size == "auto":
            return n if n <= 32 else min(16, max(4, n // 10))
        return super()._batch_size(n)

    def _conv_spec(self) -> list[tuple[int, int, int]]:
        """conv_layers as ``(filters, kernel, dilation)`` triples, validated."""
        spec = self.conv_layers
        if isinstance(spec, str) or not hasattr(spec, "__iter__") or not len(spec):
            raise ValueError("conv_layers must be a non-empty sequence of (filters, kernel) "
                             f"or (filters, kernel, dilation) tuples; got {spec!r}.")
        out = []
        for i, entry in enumerate(spec):
            if not (isinstance(entry, (tuple, list)) and len(entry) in (2, 3)
                    and all(_integer(v) and v >= 1 for v in entry)):
                raise ValueError(
                    f"conv_layers[{i}] must be (filters, kernel) or (filters, kernel, "
                    f"dilation) of ints >= 1, such as (128, 8); got {entry!r}.")
            out.append((int(entry[0]), int(entry[1]), int(entry[2]) if len(entry) == 3 else 1))
        return out

    def _block(self) -> int:
        """Layers per residual block (0: none). True means 3, as in Wang et al.'s ResNet."""
        r = self.residual
        if isinstance(r, (bool, np.bool_)):
            return 3 if r else 0
        return int(r)

    def _check_body_params(self) -> None:
        spec = self._conv_spec()
        self._need(isinstance(self.batch_norm, (bool, np.bool_)), "batch_norm",
                   "True or False")
        r = self.residual
        self._need(isinstance(r, (bool, np.bool_)) or (_integer(r) and r >= 1), "residual",
                   "True, False or the number of layers per block (an int >= 1)")
        block = self._block()
        if block and len(spec) % block:
            raise ValueError(f"residual blocks of {block} layers need a multiple of {block} "
                             f"conv_layers; got {len(spec)}.")
        self._need(self.readout in READOUTS, "readout", f"one of {list(READOUTS)}")

    def _body_architecture(self) -> tuple:
        return self._conv_spec(), bool(self.batch_norm), self._block(), self.readout

    def _fitted_body_architecture(self) -> tuple:
        spec = [(W.shape[2], W.shape[0], d) for W, d in zip(self.conv_kernels_, self.dilations_)]
        return spec, self.batch_norm_, self.residual_block_, self.readout_

    def _init_body(self, n_in: int, rng, dtype) -> tuple[int, int]:
        spec, block = self._conv_spec(), self._block()
        self.dilations_ = [d for _, _, d in spec]
        self.batch_norm_, self.residual_block_ = bool(self.batch_norm), block
        self.readout_ = self.readout
        self.conv_kernels_, self.conv_intercepts_, self.shortcut_weights_ = [], [], []
        self.batch_norm_scales_, self.batch_norm_offsets_ = [], []
        self.batch_norm_means_, self.batch_norm_vars_ = [], []
        block_in = n_in
        for i, (filters, kernel, _) in enumerate(spec):
            W, b = init_conv1d(kernel, n_in, filters, rng, dtype, activation=self.activation)
            self.conv_kernels_.append(W)
            self.conv_intercepts_.append(b)
            if self.batch_norm:
                for lists, arrays in (((self.batch_norm_scales_, self.batch_norm_offsets_),
                                       init_norm(filters, dtype)),
                                      ((self.batch_norm_means_, self.batch_norm_vars_),
                                       init_running(filters, dtype))):
                    for target, a in zip(lists, arrays):
                        target.append(a)
            n_in = filters
            if block and (i + 1) % block == 0:
                if block_in != filters:  # a 1x1 projection of the block's input
                    s = np.sqrt(6.0 / block_in)
                    self.shortcut_weights_.append(rng.uniform(-s, s, (block_in, filters))
                                                  .astype(dtype))
                block_in = filters
        return n_in, len(spec)

    def _body_layers(self, dropout: float = 0.0, rng=None) -> list:
        layers, block, fork = [], self.residual_block_, None
        projections = iter(self.shortcut_weights_)
        act = self.activation
        for i, (W, b) in enumerate(zip(self.conv_kernels_, self.conv_intercepts_)):
            if block and i % block == 0:
                fork = Fork()
                layers.append(fork)
                block_in = W.shape[1]
            closes = block and (i + 1) % block == 0
            g = act if not (self.batch_norm_ or closes) else "identity"
            layers.append(Conv1D(W, b, self.dilations_[i], g, self.negative_slope))
            if self.batch_norm_:
                layers.append(BatchNorm(self.batch_norm_scales_[i], self.batch_norm_offsets_[i],
                                        self.batch_norm_means_[i], self.batch_norm_vars_[i]))
                if not closes:
                    layers.append(Activation(act, self.negative_slope))
            if closes:
                P = next(projections) if block_in != W.shape[2] else None
                layers.append(Join(fork, act, P, self.negative_slope))
        return layers + [GlobalPool(self.readout_)]


_PARAMS_DOC = """
    Parameters
    ----------
    conv_layers : sequence of tuples, default=((128, 8), (256, 5), (128, 3))
        One ``(filters, kernel)`` or ``(filters, kernel, dilation)`` per convolution, first
        layer first; ``'same'`` padding, so every layer keeps the length of each sequence.
        The default is Wang et al.'s FCN.
    batch_norm : bool, default=True
        Batch normalisation after every convolution (statistics over the valid steps of
        the batch in training, each sample's steps weighted by its ``sample_weight`` as a
        frequency; running statistics at prediction).
    residual : bool or int, default=False
        Skip connections over blocks of this many layers, ``a = g(F(x) + P x)`` (True: 3,
        as in Wang et al.'s ResNet; ``P`` a 1x1 projection where the block changes the
        number of channels). ``conv_layers`` must then hold whole blocks.
    readout : {{'avg', 'max'}}, default='avg'
        Global pooling of the last layer's states over each sequence's valid steps.
    hidden_layer_sizes : int or sequence, default=()
        Dense layers between the readout and the output (may be empty).
    activation : str, default='relu'
        Activation of the convolutions and the dense hidden layers.
    clip_norm : float or None, default=None
        Clip the gradient to this global L2 norm before every step (None: never).
    solver, alpha, learning_rate, power_t, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, max_fun, init, rho, negative_slope
        As in :class:`NNClassifier` (``init`` initialises the dense head; convolutions
        start He-uniform for the ReLU family, Glorot-uniform otherwise).
    batch_size : int or 'auto', default='auto'
        Sequences per minibatch. ``'auto'``: every sequence at once when there are at most
        32 (full batches, where a sample weight of 2 is exactly the sample twice, as
        scikit-learn checks), else ``min(16, max(4, n_samples // 10))``, as Wang et al.
        train: on ArrowHead (36 series) batches of 32 scored 0.53 (mean of 3 seeds),
        batches of 4 0.82.
    learning_rate_init : float, default={learning_rate_init}
    max_iter : int, default={max_iter}
        Epochs.
    n_iter_no_change : int, default={n_iter_no_change}
        Epochs without an improvement of ``tol`` before training stops.
    dropout : float, default=0.0
        Inverted dropout on the readout and the dense hidden layers (training only).
    embedding_dim : int or None, default=None
        As in :class:`RNNClassifier`: an int ``d`` reads token ids through a learned
        embedding of ``d`` features per step (a convolutional text model).
"""

_ATTRS_DOC = """
    Attributes
    ----------
    conv_kernels_ : list of ndarray of shape (kernel, c_in, filters)
        ``W`` of each convolution (kernel offsets first). torch's ``nn.Conv1d`` weight is
        ``W.transpose(2, 1, 0)`` (torch is ``(c_out, c_in, k)`` and channels-first).
    conv_intercepts_ : list of ndarray of shape (filters,)
    batch_norm_scales_, batch_norm_offsets_ : lists of ndarray of shape (filters,)
        ``gamma`` and ``beta`` of each batch normalisation (empty without ``batch_norm``):
        torch's ``BatchNorm1d`` ``weight`` and ``bias``.
    batch_norm_means_, batch_norm_vars_ : lists of ndarray of shape (filters,)
        The running statistics used at prediction (torch's ``running_mean``,
        ``running_var``; momentum 0.1, eps 1e-5, as torch's defaults).
    shortcut_weights_ : list of ndarray of shape (c_in, c_out)
        The 1x1 projections of the residual blocks that change the number of channels.
    dilations_ : list of int
    coefs_, intercepts_ : lists of ndarray
        The dense head, as in :class:`NNClassifier`.
    embeddings_, vocabulary_size_, input_mean_, input_scale_, n_features_in_, \
n_step_features_
        As in :class:`RNNClassifier`.
    loss_curve_, validation_scores_, validation_loss_curve_, gradient_norms_, n_iter_, \
t_, loss_, best_loss_, best_validation_score_, n_layers_, n_outputs_, out_activation_
        As in :class:`NNClassifier`.
"""

#: chosen by measurement (benchmarks/bench_sequences.py --cnn; the README lists the variants)
_DEFAULTS = dict(learning_rate_init=0.001, max_iter=300, n_iter_no_change=50)


class SequenceCNNClassifier(_ConvSequenceBody, NNClassifier):
    __doc__ = """Convolutional network classifier over sequences (FCN / ResNet), in numpy.

    ``X`` as :class:`RNNClassifier` takes it: a 3-D array ``(n, T, f)``, a 2-D array
    ``(n, T)`` of univariate series, or a list of ``(T_i, f)`` arrays of any lengths
    (padding never enters a valid step's output, the batch statistics or the pooling, so
    a sequence's prediction does not depend on its batch).
""" + _PARAMS_DOC.format(**_DEFAULTS) + """    class_weight : None, 'balanced' or dict, default=None
        As in :class:`NNClassifier`.
""" + _ATTRS_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu import SequenceCNNClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = [rng.randn(rng.randint(10, 30), 1) for _ in range(40)]     # ragged
    >>> y = np.array([int(x[:, 0].max() > 1.5) for x in X])
    >>> clf = SequenceCNNClassifier(conv_layers=((8, 5), (8, 3)), max_iter=20,
    ...                             random_state=0).fit(X, y)
    >>> clf.predict([rng.randn(50, 1)]).shape
    (1,)
    """

    def __init__(self, conv_layers=((128, 8), (256, 5), (128, 3)), *, batch_norm=True,
                 residual=False, readout="avg", hidden_layer_sizes=(), activation="relu",
                 clip_norm=None, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=300, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=50, max_fun=15000, init="glorot",
                 class_weight=None, dropout=0.0, rho=0.9, negative_slope=0.01,
                 embedding_dim=None):
        set_params(self, locals())


class SequenceCNNRegressor(_ConvSequenceBody, NNRegressor):
    __doc__ = """Convolutional network regressor over sequences (FCN / ResNet), in numpy.

    The body of :class:`SequenceCNNClassifier` with the output and the losses of
    :class:`NNRegressor`; ``y`` of shape (n,) or (n, n_outputs).
""" + _PARAMS_DOC.format(**_DEFAULTS) + """    loss : str, default='squared_error'
        As in :class:`NNRegressor`.
    huber_delta : float, default=1.0
        Threshold of ``loss='huber'``.
""" + _ATTRS_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu import SequenceCNNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(60, 20, 1)
    >>> y = X[:, :, 0].max(axis=1)
    >>> reg = SequenceCNNRegressor(conv_layers=((16, 3),), readout="max", max_iter=50,
    ...                            learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.5
    True
    """

    def __init__(self, conv_layers=((128, 8), (256, 5), (128, 3)), *, loss="squared_error",
                 batch_norm=True, residual=False, readout="avg", hidden_layer_sizes=(),
                 activation="relu", clip_norm=None, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=300, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=50, max_fun=15000, init="glorot", dropout=0.0,
                 rho=0.9, negative_slope=0.01, huber_delta=1.0, embedding_dim=None):
        set_params(self, locals())
