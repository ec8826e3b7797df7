"""The sequence body: what every estimator over sequences shares, whatever reads the steps.

A sequence estimator is a *target* (:class:`~sknnedu.NNClassifier`'s labels, softmax and
accuracy, or :class:`~sknnedu.NNRegressor`'s values, losses and R^2) plus a *body*. This
module is the part of the body that does not depend on how the steps are read:

- the input: feature sequences (3-D, 2-D univariate, ragged lists) standardised step by
  step, or token ids read through an embedding (``embedding_dim``);
- the dense head after the body's readout (:func:`sknnedu._dense.dense_head`);
- batches of similar lengths in training, prediction in order of length;
- ``clip_norm``.

A family of sequence networks (recurrent, convolutional, attention) says only what its
layers are, through four hooks:

=========================== ============================================================
hook                        what it says
=========================== ============================================================
``_body_attrs``             the names of its fitted parameter lists
``_check_body_params``      its own parameters
``_body_architecture``      its layers as the parameters say (and ``_fitted_body_...``
                            as the fitted arrays say), for warm_start and partial_fit
``_init_body``              initialise its fitted arrays from ``n_in`` features per step;
                            return the width of the vector its readout gives
``_body_layers``            the layers from a :class:`~sknnedu.nn.sequences.SequenceBatch`
                            to one ``(m, n)`` vector per sequence
=========================== ============================================================

So :class:`~sknnedu.RNNClassifier` is ``_RecurrentBody`` + ``NNClassifier``, and
:class:`~sknnedu.SequenceCNNClassifier` is ``_ConvSequenceBody`` + ``NNClassifier``.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_array, check_consistent_length

from ._dense import dense_head, init_dense
from ._params import _integer, _real
from ._warn import warn
from .nn.embedding import Embedding, init_embedding
from .nn.sequences import Standardize, step_moments
from .sequence_input import validate_sequences, validate_token_ids

#: token ids may reach this many times the number of distinct ids (plus a margin)
#: before a table of ``largest id + 1`` rows is refused as mostly unused memory
SPARSE_IDS_FACTOR = 16
SPARSE_IDS_MARGIN = 4096


class _SequenceBody:
    """Sequences in, a family's layers, a readout, then the dense head (see the module)."""

    #: the family's fitted parameter lists (its layers' arrays), before the dense head's
    _body_attrs: tuple[str, ...] = ()
    #: sequences predicted at a time: memory O(chunk * T * width)
    _predict_chunk = 256

    @property
    def _param_attrs(self) -> tuple[str, ...]:
        return self._body_attrs + ("coefs_", "intercepts_")

    def _params(self) -> list[np.ndarray]:
        """The lists of ``_param_attrs``, then ``embeddings_`` when there is one."""
        params = super()._params()
        if getattr(self, "embeddings_", None) is not None:
            params.append(self.embeddings_)
        return params

    # ------------------------------------------------------------- parameters

    def _check_own_params(self) -> None:
        super()._check_own_params()
        self._check_body_params()
        self._need(self.clip_norm is None or (_real(self.clip_norm) and self.clip_norm > 0),
                   "clip_norm", "None or a float > 0")
        self._need(self.embedding_dim is None or (_integer(self.embedding_dim)
                                                  and self.embedding_dim >= 1),
                   "embedding_dim", "None or an int >= 1")

    def _scaling_advice(self) -> str:
        """What to change when a fit runs away: this body standardises its steps itself."""
        return ("lower learning_rate_init or set clip_norm (this estimator standardises "
                "every step of X itself; a scaler is not needed)")

    # ----------------------------------------------------------------- input

    def _validate_ids_or_sequences(self, X, reset: bool, fitting: bool = True):
        """Token ids or feature sequences, as :class:`~sknnedu.nn.sequences.Sequences`.

        What a fitted model reads (ids or feature vectors) is fixed at fit: prediction
        follows ``embeddings_``, never the parameter, and going on from a fitted model
        (warm_start, partial_fit: ``fitting`` without ``reset``) with another
        ``embedding_dim`` is refused.
        """
        if reset:
            reads_ids = self.embedding_dim is not None
        else:
            fitted = getattr(self, "embeddings_", None)
            reads_ids = fitted is not None
            fitted_dim = None if fitted is None else fitted.shape[1]
            if fitting and (fitted_dim is None) != (self.embedding_dim is None):
                raise ValueError(
                    f"embedding_dim changed from {fitted_dim!r} (the fitted model's) to "
                    f"{self.embedding_dim!r}; warm_start and partial_fit go on from the fitted "
                    "model, which reads " + ("token ids" if reads_ids else "feature vectors")
                    + ". Set embedding_dim back, or fit a new model.")
        if not reads_ids:
            return validate_sequences(self, X, reset=reset)
        seqs = validate_token_ids(self, X, reset=reset)
        if reset:
            self._check_id_range(seqs)
        elif fitting:
            self._warn_new_ids(seqs)
        return seqs

    def _check_id_range(self, seqs) -> None:
        """Refuse a table of ``largest id + 1`` rows that the data barely use."""
        steps = seqs.steps if seqs.steps is not None else seqs.array.reshape(-1)
        largest = int(steps.max(initial=0))
        distinct = int(np.unique(steps).size)
        bound = SPARSE_IDS_FACTOR * distinct + SPARSE_IDS_MARGIN
        if largest + 1 > bound:
            raise ValueError(
                f"X holds token ids up to {largest} but only {distinct} distinct ones: the "
                f"embedding table would have {largest + 1} rows of embedding_dim, almost all "
                f"unused (at most {bound} rows are allowed for {distinct} distinct ids). Map "
                "the ids to 2 .. V+1 first (TextSequencer does, or np.unique(ids, "
                "return_inverse=True) + 2).")

    def _warn_new_ids(self, seqs) -> None:
        """warm_start / partial_fit: ids beyond the fitted table read as unseen (1)."""
        new = getattr(seqs, "n_unseen_ids", 0)
        if new:
            warn(f"{new} token ids at or above vocabulary_size_={self.vocabulary_size_} read "
                 "as the unseen id 1: the embedding table is fixed at the first fit and does "
                 "not grow under partial_fit or warm_start. Fit a new model to learn them.")

    def _validate_X_y(self, X, y, reset: bool):
        seqs = self._validate_ids_or_sequences(X, reset=reset)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             "y is None.")
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y",
                        ensure_all_finite=True)
        check_consistent_length(np.empty(len(seqs)), y)
        return seqs, self._target_dtype(y)

    def _validate_X(self, X):
        return self._validate_ids_or_sequences(X, reset=False, fitting=False)

    # ---------------------------------------------------------- architecture

    def _architecture(self) -> tuple:
        return (self.embedding_dim, self._body_architecture(), self._hidden_layers(),
                self._output_loss().activation)

    def _fitted_architecture(self) -> tuple:
        embedding = getattr(self, "embeddings_", None)
        return (None if embedding is None else embedding.shape[1],
                self._fitted_body_architecture(),
                [(c.shape[1], a) for c, a in zip(self.coefs_, self.hidden_activations_)],
                self.out_activation_)

    def _initialize_params(self, X, Y, rng, sample_weight=None) -> None:
        dtype = Y.dtype  # the weights' dtype, chosen for X by _float_dtype
        n_in = X.n_features
        for name in ("embeddings_", "vocabulary_size_", "input_mean_", "input_scale_"):
            vars(self).pop(name, None)
        if self.embedding_dim is None:
            self._fit_input_scale(X, sample_weight, dtype)
        else:  # ids 0 .. the largest seen; at least 0 and 1
            steps = X.steps if X.steps is not None else X.array
            self.vocabulary_size_ = max(int(steps.max(initial=0)) + 1, 2)
            self.embeddings_ = init_embedding(self.vocabulary_size_, self.embedding_dim, rng,
                                              dtype)
            n_in = self.embedding_dim
        n_in, n_body = self._init_body(n_in, rng, dtype)
        hidden = self._hidden_layers()
        self.hidden_activations_ = [act for _, act in hidden]
        self.n_outputs_ = Y.shape[1]
        self.out_activation_ = self._output_loss().activation
        units = [n_in] + [size for size, _ in hidden] + [Y.shape[1]]
        self.n_layers_ = n_body + len(units) + (self.embedding_dim is not None)
        self.coefs_, self.intercepts_ = init_dense(
            units, self.hidden_activations_, self.activation, self.init, rng, dtype)

    def _build_layers(self, dropout: float = 0.0, rng=None) -> list:
        embedding = getattr(self, "embeddings_", None)
        layers = [] if embedding is None else [Embedding(embedding)]
        if getattr(self, "input_mean_", None) is not None:
            layers.append(Standardize(self.input_mean_, self.input_scale_))
        layers += self._body_layers(dropout, rng)
        # dropout on the dense head: its input (the readout) and its hidden layers
        return layers + dense_head(self.coefs_, self.intercepts_, self.hidden_activations_,
                                   self.negative_slope, dropout, rng, on_input=True)

    def _fit_input_scale(self, X, sample_weight, dtype) -> None:
        """``input_mean_`` and ``input_scale_``: each feature's weighted mean and standard
        deviation over every valid training step (a constant feature keeps scale 1)."""
        mean, std = step_moments(X, sample_weight)
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            raise ValueError("The features of X are too large to standardise (their mean or "
                             "spread overflows float64); rescale X.")
        std[~(std > np.finfo(dtype).tiny * 1e3)] = 1.0  # no division by ~0
        self.input_mean_, self.input_scale_ = mean.astype(dtype), std.astype(dtype)

    def _batch_size(self, n: int) -> int:
        """``'auto'``: ``min(32, n)`` sequences (32 as measured; no warning for small data)."""
        return min(32, n) if self.batch_size == "auto" else super()._batch_size(n)

    # ------------------------------------------------------------ prediction

    def _forward(self, X) -> np.ndarray:
        """``a[L]`` with the sequences taken in order of length (little padding per chunk),
        returned in the caller's order."""
        order = np.argsort(X.lengths, kind="stable")
        P = super()._forward(X.take(order))
        out = np.empty_like(P)
        out[order] = P
        return out

    def _batch_order(self, order: np.ndarray, batch_size: int, X) -> np.ndarray:
        """Training batches of similar lengths: within each run of ``16 * batch_size``
        shuffled rows, sort by length, so a batch is padded little and stays random."""
        lengths = X.lengths[order]
        block = 16 * batch_size
        out = order.copy()
        for start in range(0, len(order), block):  # a loop over blocks of batches
            stop = start + block
            out[start:stop] = order[start:stop][np.argsort(lengths[start:stop], kind="stable")]
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.three_d_array = True
        return tags


def set_params(self, params: dict) -> None:
    """``self.name = value`` for every parameter of ``__init__``, as scikit-learn asks."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(self, name, value)
