"""RNNClassifier and RNNRegressor: recurrent networks for sequences of any length.

Each is a target and a body: the targets, output and loss are NNClassifier's and
NNRegressor's, the sequence input and dense head :mod:`sknnedu._sequence`'s, the recurrent
layers and their fitted arrays this module's :class:`_RecurrentBody`; and
training (every solver, early stopping, weights, dropout, ``partial_fit``,
``warm_start``, divergence, clipping, diagnostics) is the engine's. The math lives in
:mod:`sknnedu.nn.recurrent` and :mod:`sknnedu.nn.sequences`.
"""

from __future__ import annotations

import numpy as np

from ._params import size_pairs
from ._sequence import _SequenceBody, set_params
from .neural_network import NNClassifier, NNRegressor
from .nn.recurrent import GATES, Readout, Recurrent, init_recurrent

CELLS = tuple(sorted(GATES))
READOUTS = ("last", "mean")


class _RecurrentBody(_SequenceBody):
    """The recurrent body: recurrent layers over the steps, then a readout of their states.

    The hooks of :mod:`sknnedu._sequence`; everything else about sequences is there.
    """

    _body_attrs = ("input_weights_", "recurrent_weights_", "recurrent_intercepts_")

    def _recurrent_spec(self) -> list[tuple[int, str]]:
        """recurrent_layers as ``(units, cell)`` pairs, validated."""
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {list(CELLS)}; got {self.cell!r}.")
        def check_cell(cell, i):
            if cell not in CELLS:
                raise ValueError(f"recurrent_layers[{i}] has the cell {cell!r}; expected one "
                                 f"of {list(CELLS)}, such as (32, 'gru').")

        layers = size_pairs(self.recurrent_layers, "recurrent_layers", "(units, cell)",
                            self.cell, check_cell, "(32, 'gru')")
        if not layers:
            raise ValueError("recurrent_layers must name at least one recurrent layer.")
        return layers

    def _check_body_params(self) -> None:
        self._recurrent_spec()
        self._need(isinstance(self.bidirectional, (bool, np.bool_)), "bidirectional",
                   "True or False")
        self._need(self.readout in READOUTS, "readout", f"one of {list(READOUTS)}")

    def _body_architecture(self) -> tuple:
        return self._recurrent_spec(), bool(self.bidirectional), self.readout

    def _fitted_body_architecture(self) -> tuple:
        D = 2 if self.bidirectional_ else 1
        spec = [(W.shape[0], c) for W, c in zip(self.recurrent_weights_[::D], self.cells_)]
        return spec, self.bidirectional_, self.readout_

    def _init_body(self, n_in: int, rng, dtype) -> tuple[int, int]:
        spec = self._recurrent_spec()
        D = 2 if self.bidirectional else 1
        self.cells_ = [cell for _, cell in spec]
        self.bidirectional_, self.readout_ = bool(self.bidirectional), self.readout
        self.input_weights_, self.recurrent_weights_, self.recurrent_intercepts_ = [], [], []
        for units, cell in spec:
            for _ in range(D):
                W_x, W_h, b = init_recurrent(n_in, units, cell, rng, dtype)
                self.input_weights_.append(W_x)
                self.recurrent_weights_.append(W_h)
                self.recurrent_intercepts_.append(b)
            n_in = D * units
        return n_in, len(spec)

    def _body_layers(self, dropout: float = 0.0, rng=None) -> list:
        D = 2 if self.bidirectional_ else 1
        layers = []
        for k, cell in enumerate(self.cells_):
            params = []
            for d in range(k * D, (k + 1) * D):
                params += [self.input_weights_[d], self.recurrent_weights_[d],
                           self.recurrent_intercepts_[d]]
            layers.append(Recurrent(params, cell))
        return layers + [Readout(self.readout_, D)]


_PARAMS_DOC = """
    Parameters
    ----------
    recurrent_layers : int or sequence, default={recurrent_layers}
        Units ``h`` of each recurrent layer, first layer first; an entry may be a
        ``(units, cell)`` pair such as ``(32, 'gru')``.
    cell : {{'lstm', 'gru', 'rnn'}}, default={cell!r}
        Cell of the int entries of ``recurrent_layers`` (formulas in
        :mod:`sknnedu.nn.recurrent`).
    bidirectional : bool, default={bidirectional}
        Run every recurrent layer in both directions; the next layer sees both
        directions' states, forward first.
    readout : {{'last', 'mean'}}, default={readout!r}
        ``'last'``: each sequence's state at its own last valid step (both ends when
        bidirectional); ``'mean'``: the mean of the states over its valid steps.
    hidden_layer_sizes : int or sequence, default=()
        Dense layers between the readout and the output (may be empty), as in
        :class:`NNClassifier`.
    clip_norm : float or None, default={clip_norm}
        Clip the gradient to this global L2 norm before every step (None: never).
    activation : str, default='relu'
        Activation of the dense hidden layers.
    solver, alpha, learning_rate, power_t, shuffle, random_state, tol, verbose, \
warm_start, momentum, nesterovs_momentum, early_stopping, validation_fraction, \
beta_1, beta_2, epsilon, max_fun, init, rho, negative_slope
        As in :class:`NNClassifier` (``init`` initialises the dense head).
    batch_size : int or 'auto', default={batch_size!r}
        Sequences per minibatch; ``'auto'`` is ``min(32, n_samples)``.
    learning_rate_init : float, default={learning_rate_init}
    max_iter : int, default={max_iter}
        Epochs.
    n_iter_no_change : int, default={n_iter_no_change}
        Epochs without an improvement of ``tol`` before training stops: a recurrent
        network's loss is noisy from epoch to epoch, so it is more patient than
        :class:`NNClassifier`'s 10.
    dropout : float, default=0.0
        Inverted dropout on the readout and the dense hidden layers (training only).
    embedding_dim : int or None, default=None
        None: ``X`` holds feature vectors per step. An int ``d``: ``X`` holds token ids,
        a list of 1-D int arrays (as :class:`TextSequencer` writes) or a 2-D int array
        padded at the end with 0, and the first layer is an
        :class:`~sknnedu.nn.embedding.Embedding` of ``vocabulary_size_`` rows of ``d``
        (``a_t = E[x_t]``). Ids: 0 padding, 1 unseen, known tokens from 2; id 0 is padding
        wherever it stands (trailing zeros are dropped, in a list as in a 2-D array). Fit
        learns ``vocabulary_size_`` as the largest id plus one (ids far beyond the number
        of distinct ids, or at or above 2**63, are refused); an id beyond it at predict
        counts as unseen (1), and under ``warm_start`` or ``partial_fit`` with a warning.
        A sequence with no tokens reads as one padding step.
"""

_ATTRS_DOC = """
    Attributes
    ----------
    input_weights_ : list of ndarray of shape (f_in, G*h)
        ``W_x`` of each recurrent layer and direction: layer 0 forward, layer 0
        backward (when bidirectional), layer 1 forward, ... ``G`` is 1 (rnn), 3 (gru) or
        4 (lstm), the gates side by side: lstm ``[i, f, g, o]``, gru ``[r, z, n]``.
    recurrent_weights_ : list of ndarray of shape (h, G*h)
        ``W_h``, in the same order.
    recurrent_intercepts_ : list of ndarray of shape (G*h,)
        ``b``, in the same order.
    coefs_, intercepts_ : lists of ndarray
        The dense head, as in :class:`NNClassifier`.
    embeddings_ : ndarray of shape (vocabulary_size_, embedding_dim)
        With ``embedding_dim`` set: row ``v`` is the learned vector of token id ``v``;
        row 0 (padding) is 0 and never learns. Not penalised by ``alpha`` (see
        :class:`~sknnedu.nn.embedding.Embedding`).
    vocabulary_size_ : int
        With ``embedding_dim`` set: the largest id seen in fit plus one (at least 2).
    cells_ : list of str
        The cell of each recurrent layer.
    input_mean_, input_scale_ : ndarray of shape (n_step_features_,)
        Each feature's mean and standard deviation over every valid training step
        (weighted by ``sample_weight``), fitted once: every step is standardised
        ``(x_t - input_mean_) / input_scale_`` before the first recurrent layer. Absent
        with ``embedding_dim`` (token ids are not scaled).
    n_features_in_ : int
        Features per step; for a 2-D table ``(n, T)`` of univariate series, its width
        ``T`` (as scikit-learn counts a table's features).
    n_step_features_ : int
        Features per step ``f``.
    loss_curve_, validation_scores_, validation_loss_curve_, gradient_norms_, n_iter_, \
t_, loss_, best_loss_, best_validation_score_, n_layers_, n_outputs_, out_activation_
        As in :class:`NNClassifier`; ``gradient_norms_`` has one entry per recurrent
        layer (``||(dW_x, dW_h)||`` over its directions) and dense layer, led by
        ``||dE||`` with ``embedding_dim`` set.

    Notes
    -----
    To move weights to torch's ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (``batch_first=True``):
    ``weight_ih_l{{k}}{{sfx}} = input_weights_[i].T``, ``weight_hh_l{{k}}{{sfx}} =
    recurrent_weights_[i].T``, ``bias_ih_l{{k}}{{sfx}} = recurrent_intercepts_[i]`` and
    ``bias_hh_l{{k}}{{sfx}} = 0`` (torch's two biases sum to ours), with ``i = D k + d``,
    ``sfx = '_reverse'`` for ``d = 1``. LSTM and Elman layers move exactly (the LSTM gate
    order is torch's). torch's GRU applies its reset gate after the product
    (``r * (h W_hn + b_hn)``, where ours is ``(r * h) W_hn``): its weights have the same
    shapes and gate order, but the function differs.

    aeon and sktime hold series as ``(n, channels, T)``: pass ``X.transpose(0, 2, 1)``.
"""


#: chosen by measurement on GunPoint, ItalyPowerDemand and JapaneseVowels
#: (benchmarks/bench_sequences.py --variants; the README lists what else was measured)
_DEFAULTS = dict(recurrent_layers=(32,), cell="gru", bidirectional=True, readout="last",
                 clip_norm=1.0, batch_size="auto", learning_rate_init=0.005, max_iter=500,
                 n_iter_no_change=50)


class RNNClassifier(_RecurrentBody, NNClassifier):
    __doc__ = """Recurrent network classifier (sequence to one label), BPTT in numpy.

    Reads each sequence step by step with recurrent layers (:mod:`sknnedu.nn.recurrent`),
    turns its states into one vector (``readout``), and classifies it with a dense head
    and a softmax (sigmoid for binary and multilabel) trained on the cross-entropy plus
    ``alpha / 2`` times the squared weights, divided by the total sample weight.
    ``X`` may be a 3-D array ``(n, T, f)``, a 2-D array ``(n, T)`` of univariate series,
    or a list of ``(T_i, f)`` arrays of any lengths: a batch is padded and masked, so a
    sequence's prediction does not depend on the rest of its batch, and ``predict``
    takes lengths never seen in fit.
""" + _PARAMS_DOC.format(**_DEFAULTS) + """    class_weight : None, 'balanced' or dict, default=None
        As in :class:`NNClassifier`.
""" + _ATTRS_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu import RNNClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = [rng.randn(rng.randint(5, 15), 2) for _ in range(60)]   # ragged
    >>> y = np.array([int(x[:, 0].sum() > 0) for x in X])
    >>> clf = RNNClassifier(recurrent_layers=(8,), max_iter=30, random_state=0).fit(X, y)
    >>> clf.predict([rng.randn(20, 2)]).shape                        # an unseen length
    (1,)
    """

    def __init__(self, recurrent_layers=(32,), *, cell="gru", bidirectional=True,
                 readout="last", hidden_layer_sizes=(), clip_norm=1.0, activation="relu",
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.005, power_t=0.5, max_iter=500, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=50,
                 max_fun=15000, init="glorot", class_weight=None, dropout=0.0, rho=0.9,
                 negative_slope=0.01, embedding_dim=None):
        set_params(self, locals())


class RNNRegressor(_RecurrentBody, NNRegressor):
    __doc__ = """Recurrent network regressor (sequence to one value or vector), BPTT in numpy.

    The recurrent layers and readout of :class:`RNNClassifier` with the output and the
    losses of :class:`NNRegressor` (``'squared_error'``, ``'poisson'``,
    ``'absolute_error'``, ``'huber'``); ``y`` of shape (n,) or (n, n_outputs).
""" + _PARAMS_DOC.format(**_DEFAULTS) + """    loss : str, default='squared_error'
        As in :class:`NNRegressor`.
    huber_delta : float, default=1.0
        Threshold of ``loss='huber'``.
""" + _ATTRS_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu import RNNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(80, 12, 1)
    >>> y = X[:, -3:, 0].sum(axis=1)                                # the last three steps
    >>> reg = RNNRegressor(recurrent_layers=(16,), max_iter=60, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.8
    True
    """

    def __init__(self, recurrent_layers=(32,), *, loss="squared_error", cell="gru",
                 bidirectional=True, readout="last", hidden_layer_sizes=(), clip_norm=1.0,
                 activation="relu", solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.005, power_t=0.5, max_iter=500,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=50, max_fun=15000, init="glorot", dropout=0.0, rho=0.9,
                 negative_slope=0.01, huber_delta=1.0, embedding_dim=None):
        set_params(self, locals())

