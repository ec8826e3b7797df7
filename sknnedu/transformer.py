"""TransformerClassifier and TransformerRegressor: attention over sequences and text.

Vaswani et al. (2017)'s encoder: every step looks at every other step through multi-head
self-attention, then through a position-wise feed-forward network, each with a residual
connection and layer normalisation; the encoded steps are read out as their mean over
each sequence's valid steps (or a learned class token's final state) and classified by a
dense head. No loop over time: each layer is a few large products
(:mod:`sknnedu.nn.attention`).

Each estimator is a target (:class:`NNClassifier`'s or :class:`NNRegressor`'s) and a body:
the sequence input and dense head of :mod:`sknnedu._sequence`, and this module's
:class:`_AttentionBody`, which says only its layers.
"""

from __future__ import annotations

import numpy as np

from ._params import _integer
from ._sequence import _SequenceBody, set_params
from .neural_network import NNClassifier, NNRegressor
from .nn.attention import ENCODER_PARAMS, encoder_layer, init_encoder_layer
from .nn.normalization import LayerNorm, init_norm
from .nn.positions import (
    ClassToken,
    FirstStep,
    PositionalEncoding,
    init_class_token,
    init_positions,
)
from .nn.sequence_conv import Conv1D, GlobalPool

POSITIONS = ("sinusoidal", "learned", "none")
READOUTS = ("mean", "cls")


class _AttentionBody(_SequenceBody):
    """The attention body: a projection to ``model_dim``, positions, encoder layers, readout."""

    _body_attrs = ("input_projection_", "positions_", "class_token_", "encoder_params_",
                   "final_norm_")

    def _check_body_params(self) -> None:
        for name in ("model_dim", "n_heads", "n_layers", "feedforward_dim"):
            self._need(_integer(getattr(self, name)) and getattr(self, name) >= 1, name,
                       "an int >= 1")
        if self.model_dim % self.n_heads:
            raise ValueError(f"model_dim must be a multiple of n_heads, so that every head "
                             f"reads model_dim / n_heads features; got model_dim="
                             f"{self.model_dim} and n_heads={self.n_heads}.")
        self._need(self.positional in POSITIONS, "positional", f"one of {list(POSITIONS)}")
        self._need(self.readout in READOUTS, "readout", f"one of {list(READOUTS)}")
        self._need(isinstance(self.norm_first, (bool, np.bool_)), "norm_first",
                   "True or False")

    def _body_architecture(self) -> tuple:
        return (self.model_dim, self.n_heads, self.n_layers, self.feedforward_dim,
                self.positional, self.readout, bool(self.norm_first))

    def _fitted_body_architecture(self) -> tuple:
        return self.body_architecture_

    def _init_body(self, n_in: int, rng, dtype) -> tuple[int, int]:
        d = self.model_dim
        self.body_architecture_ = self._body_architecture()
        self.input_projection_ = []
        if n_in != d or self.embedding_dim is None:  # steps of features: always projected
            r = 1 / np.sqrt(n_in)
            self.input_projection_ = [rng.uniform(-r, r, (1, n_in, d)).astype(dtype),
                                      np.zeros(d, dtype=dtype)]
        self.positions_ = []
        if self.positional == "learned":
            self.positions_ = [init_positions(self._longest, d, rng, dtype)]
        self.class_token_ = [init_class_token(d, rng, dtype)] if self.readout == "cls" else []
        self.encoder_params_ = []
        for _ in range(self.n_layers):
            self.encoder_params_ += init_encoder_layer(d, self.feedforward_dim, rng, dtype)
        self.final_norm_ = list(init_norm(d, dtype)) if self.norm_first else []
        return d, self.n_layers

    def _initialize_params(self, X, Y, rng, sample_weight=None) -> None:
        self._longest = int(X.lengths.max(initial=1))
        super()._initialize_params(X, Y, rng, sample_weight)

    def _validate_X_y(self, X, y, reset: bool):
        seqs, y = super()._validate_X_y(X, y, reset)
        if not reset:  # warm_start, partial_fit: the fitted positions
            self._check_length(seqs)
        return seqs, y

    def _validate_X(self, X):
        return self._check_length(super()._validate_X(X))

    def _check_length(self, seqs):
        """Refuse sequences longer than the learned positions (``positional='learned'``)."""
        positions = getattr(self, "positions_", None)
        longest = int(seqs.lengths.max(initial=0))
        if positions and longest > positions[0].shape[0]:
            raise ValueError(
                f"X holds a sequence of {longest} steps, but this model learned positions "
                f"(positional='learned') for at most {positions[0].shape[0]} steps, the "
                "longest sequence of its first fit. Cut the sequences to that length, or fit "
                "a model with positional='sinusoidal' (any length) or 'none'.")
        return seqs

    def _body_layers(self, dropout: float = 0.0, rng=None) -> list:
        _, n_heads, n_layers, _, positional, readout, norm_first = self.body_architecture_
        layers = []
        if self.input_projection_:
            layers.append(Conv1D(*self.input_projection_))
        if positional != "none":
            layers.append(PositionalEncoding(positional, *self.positions_))
        if readout == "cls":
            layers.append(ClassToken(self.class_token_[0]))
        n = len(ENCODER_PARAMS)
        for k in range(n_layers):
            layers += encoder_layer(self.encoder_params_[k * n:(k + 1) * n], n_heads,
                                    norm_first=norm_first, activation=self.activation,
                                    dropout=dropout, rng=rng)
        if norm_first:
            layers.append(LayerNorm(*self.final_norm_))
        return layers + [FirstStep() if readout == "cls" else GlobalPool("avg")]


_PARAMS_DOC = """
    Parameters
    ----------
    model_dim : int, default={model_dim}
        ``d``, the width of every step inside the encoder. Steps of features (and
        embeddings of another width) are projected to it by one product.
    n_heads : int, default={n_heads}
        Attention heads, each of ``d / n_heads`` features (``model_dim`` must be a
        multiple).
    n_layers : int, default={n_layers}
        Encoder layers.
    feedforward_dim : int, default={feedforward_dim}
        Hidden width of the position-wise feed-forward network.
    positional : {{'sinusoidal', 'learned', 'none'}}, default={positional!r}
        Fixed sines and cosines (any length), a learned table (as long as the longest
        training sequence: a longer one at predict is refused), or none.
    readout : {{'mean', 'cls'}}, default={readout!r}
        The mean of the encoded steps over each sequence's valid steps, or the final state
        of a learned class token prepended to every sequence.
    norm_first : bool, default={norm_first}
        Pre-norm (``x + F(LN(x))``, then a final LayerNorm) or post-norm
        (``LN(x + F(x))``, Vaswani et al.), as torch's ``norm_first``.
    hidden_layer_sizes : int or sequence, default=()
        Dense layers between the readout and the output (may be empty).
    activation : str, default='relu'
        Activation of the feed-forward networks and the dense hidden layers.
    dropout : float, default={dropout}
        Inverted dropout on the attention weights, the residual branches, inside the
        feed-forward networks, on the readout and the dense hidden layers (training only).
        Off by default: with dropout, fitting is no longer deterministic given the data,
        so weights of 2 no longer equal samples seen twice (scikit-learn's sample-weight
        check); torch's default, 0.1, scored 0.962 on balanced brackets against 0.976
        without, and helped on the language of a line of code at 8 epochs (0.796 against
        0.760).
    clip_norm : float or None, default={clip_norm}
        Clip the gradient to this global L2 norm before every step (None: never).
    solver, alpha, learning_rate, power_t, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, max_fun, init, rho, negative_slope
        As in :class:`NNClassifier` (``init`` initialises the dense head; the encoder
        starts as torch's ``nn.TransformerEncoderLayer``).
    batch_size : int or 'auto', default='auto'
        Sequences per minibatch; ``'auto'`` is ``min(32, n_samples)``.
    learning_rate_init : float, default={learning_rate_init}
    max_iter : int, default={max_iter}
        Epochs.
    n_iter_no_change : int, default={n_iter_no_change}
        Epochs without an improvement of ``tol`` before training stops.
    embedding_dim : int or None, default=None
        As in :class:`RNNClassifier`: an int reads token ids through a learned embedding
        of that width (projected to ``model_dim`` when it differs), so that
        ``make_pipeline(TextSequencer(), TransformerClassifier(embedding_dim=64))`` is a
        text classifier.
"""

_ATTRS_DOC = """
    Attributes
    ----------
    input_projection_ : list of ndarray
        ``[W (1, f, d), b (d,)]``, the projection of every step to ``model_dim`` (empty
        when ``embedding_dim == model_dim``).
    positions_ : list of ndarray
        ``[P (max_len, d)]`` with ``positional='learned'``, else empty.
    class_token_ : list of ndarray
        ``[c (d,)]`` with ``readout='cls'``, else empty.
    encoder_params_ : list of ndarray
        The encoder layers' arrays, 12 per layer in the order of
        :data:`sknnedu.nn.attention.ENCODER_PARAMS` (``W_qkv, b_qkv, W_o, b_o, W_1, b_1,
        W_2, b_2, gamma_1, beta_1, gamma_2, beta_2``); each maps to torch's
        ``nn.TransformerEncoderLayer`` as :func:`sknnedu.nn.attention.encoder_layer` says.
    final_norm_ : list of ndarray
        ``[gamma, beta]`` of the final LayerNorm with ``norm_first``, else empty.
    coefs_, intercepts_ : lists of ndarray
        The dense head, as in :class:`NNClassifier`.
    embeddings_, vocabulary_size_, input_mean_, input_scale_, n_features_in_, \
n_step_features_
        As in :class:`RNNClassifier`.
    loss_curve_, validation_scores_, validation_loss_curve_, gradient_norms_, n_iter_, \
t_, loss_, best_loss_, best_validation_score_, n_layers_, n_outputs_, out_activation_
        As in :class:`NNClassifier`.

    Notes
    -----
    Memory grows with ``T^2`` per batch: each layer keeps the attention weights
    ``(m, n_heads, T, T)`` of its batch for the backward pass.
"""

#: chosen by measurement (benchmarks/bench_sequences.py --transformer, bench_text.py)
_DEFAULTS = dict(model_dim=64, n_heads=4, n_layers=2, feedforward_dim=128,
                 positional="sinusoidal", readout="mean", norm_first=True, dropout=0.0,
                 clip_norm=1.0, learning_rate_init=0.001, max_iter=200, n_iter_no_change=20)


class TransformerClassifier(_AttentionBody, NNClassifier):
    __doc__ = """Transformer encoder classifier over sequences and text, in numpy.

    ``X`` as :class:`RNNClassifier` takes it: a 3-D array ``(n, T, f)``, a 2-D array
    ``(n, T)`` of univariate series, a list of ``(T_i, f)`` arrays of any lengths, or
    token ids with ``embedding_dim`` (padded keys are masked out of every attention, so a
    sequence's prediction does not depend on its batch).
""" + _PARAMS_DOC.format(**_DEFAULTS) + """    class_weight : None, 'balanced' or dict, default=None
        As in :class:`NNClassifier`.
""" + _ATTRS_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu import TransformerClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = [rng.randn(rng.randint(5, 15), 2) for _ in range(40)]    # ragged
    >>> y = np.array([int(x[:, 0].mean() > 0) for x in X])
    >>> clf = TransformerClassifier(model_dim=8, n_heads=2, n_layers=1, feedforward_dim=16,
    ...                             max_iter=20, random_state=0).fit(X, y)
    >>> clf.predict([rng.randn(30, 2)]).shape                         # an unseen length
    (1,)
    """

    def __init__(self, model_dim=64, n_heads=4, n_layers=2, feedforward_dim=128, *,
                 positional="sinusoidal", readout="mean", norm_first=True,
                 hidden_layer_sizes=(), activation="relu", dropout=0.0, clip_norm=1.0,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=20, max_fun=15000,
                 init="glorot", class_weight=None, rho=0.9, negative_slope=0.01,
                 embedding_dim=None):
        set_params(self, locals())


class TransformerRegressor(_AttentionBody, NNRegressor):
    __doc__ = """Transformer encoder regressor over sequences and text, in numpy.

    The body of :class:`TransformerClassifier` with the output and the losses of
    :class:`NNRegressor`; ``y`` of shape (n,) or (n, n_outputs).
""" + _PARAMS_DOC.format(**_DEFAULTS) + """    loss : str, default='squared_error'
        As in :class:`NNRegressor`.
    huber_delta : float, default=1.0
        Threshold of ``loss='huber'``.
""" + _ATTRS_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu import TransformerRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(80, 10, 1)
    >>> y = X[:, :, 0].mean(axis=1)
    >>> reg = TransformerRegressor(model_dim=8, n_heads=2, n_layers=1, feedforward_dim=16,
    ...                            dropout=0.0, max_iter=60, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.5
    True
    """

    def __init__(self, model_dim=64, n_heads=4, n_layers=2, feedforward_dim=128, *,
                 loss="squared_error", positional="sinusoidal", readout="mean",
                 norm_first=True, hidden_layer_sizes=(), activation="relu", dropout=0.0,
                 clip_norm=1.0, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=20, max_fun=15000, init="glorot", rho=0.9,
                 negative_slope=0.01, huber_delta=1.0, embedding_dim=None):
        set_params(self, locals())
