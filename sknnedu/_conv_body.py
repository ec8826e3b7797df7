"""The convolutional body: images in, conv + pooling layers, then the dense head.

A convolutional estimator is a *target* (:class:`~sknnedu.NNClassifier`'s labels, softmax
and accuracy, or :class:`~sknnedu.NNRegressor`'s values, losses and R^2) plus this
*body*, which says how images come in, which layers there are and how their arrays start::

    Rescale -> [Conv2D -> Pool2D] x len(conv_layers) -> Flatten -> [Dense] x len(hidden) -> Dense

(:mod:`sknnedu.nn.conv_layers`, :mod:`sknnedu.nn.layers`). It implements these hooks of
:class:`sknnedu.engine.BaseNetwork`, and knows nothing of the target: the output
activation comes from the target's ``_output_loss()``, the targets from its ``_targets``.

=========================== ============================================================
hook                        what the conv body says
=========================== ============================================================
``_param_attrs``            ``conv_kernels_, coefs_, conv_intercepts_, intercepts_``
``_check_own_params``       the target's parameters, then ``conv_layers``, ``padding``,
                            ``stride``, ``pooling``, ``pool_size``, ``image_shape``
``_validate_X_y``           2-D rows, 3-D grayscale or 4-D images -> ``(n, h, w, c)``
                            (``_validate_X``: the same for predict)
``_initialize_params``      ``input_scale_``, the conv kernels and the dense head
``_build_layers``           the layers over those arrays (by reference)
``_architecture``           conv specs, dense layers, settings, output activation (and
                            ``_fitted_architecture``, ``_check_architecture``)
=========================== ============================================================

So :class:`~sknnedu.CNNClassifier` is ``_ConvBody`` + ``NNClassifier`` and
:class:`~sknnedu.CNNRegressor` is ``_ConvBody`` + ``NNRegressor``.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_array, check_X_y, validate_data

from ._dense import BATCH_NORM_ATTRS, dense_head, init_dense
from ._params import _integer
from ._warn import stacklevel
from .nn.conv import conv_geometry
from .nn.conv_layers import Conv2D, Flatten, Pool2D
from .nn.geometry import resolve_image_shape
from .nn.initializers import INITIALIZERS, resolve_init
from .nn.layers import Activation, Rescale
from .nn.normalization import BatchNorm, init_norm, init_running
from .nn.pooling import POOLINGS as _KINDS
from .nn.pooling import is_pooling
from .nn.sequence_conv import GlobalPool

#: the CNN's ``pooling``: a kind of :data:`sknnedu.nn.pooling.POOLINGS`, or None
POOLINGS = (*_KINDS, None)


class _ConvBody:
    """Images in, conv + pooling layers, the dense head (see the module docstring).

    A mixin placed before a target (``class CNNRegressor(_ConvBody, NNRegressor)``):
    its hooks override the dense ones of the target's base, and call the target's
    own (``_check_own_params``, ``_output_loss``, ``__sklearn_tags__``) through ``super()``.
    """

    _param_attrs = ("conv_kernels_", "coefs_", "conv_intercepts_", "intercepts_")
    _predict_chunk = 256

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    # ------------------------------------------------------- parameter checks

    def _conv_specs(self) -> list[tuple[int, tuple[int, int], str]]:
        """conv_layers as ``(n_filters, (fh, fw), activation)`` triples, validated."""
        entries = self.conv_layers
        if isinstance(entries, str) or not hasattr(entries, "__iter__"):
            raise ValueError(
                "conv_layers must be a sequence of (n_filters, kernel_size) or "
                f"(n_filters, kernel_size, activation) entries; got {entries!r}."
            )
        specs = []
        for i, entry in enumerate(entries):
            ok = isinstance(entry, (tuple, list)) and len(entry) in (2, 3)
            if ok:
                n, size, *act = entry
                act = act[0] if act else self.activation
                if _integer(size):
                    size = (size, size)
                ok = (_integer(n) and n >= 1 and isinstance(size, (tuple, list))
                      and len(size) == 2 and all(_integer(s) and s >= 1 for s in size)
                      and isinstance(act, str))
            if not ok:
                raise ValueError(
                    f"conv_layers[{i}] must be (n_filters, kernel_size) or (n_filters, "
                    f"kernel_size, activation) with ints >= 1, kernel_size an int or "
                    f"(fh, fw), e.g. (16, 3) or (8, (3, 3), 'tanh'); got {entry!r}."
                )
            self._check_activation(act, f"activation of conv layer {i}")
            specs.append((int(n), (int(size[0]), int(size[1])), act))
        return specs

    def _check_own_params(self) -> None:
        super()._check_own_params()  # the target's (loss, class_weight, ...)
        self._conv_specs()
        self._hidden_layers()
        self._need(is_pooling(self.pooling), "pooling", "'max', 'avg' or None")
        self._need(_integer(self.pool_size) and self.pool_size >= 1, "pool_size",
                   "an int >= 1")
        self._need(_integer(self.stride) and self.stride >= 1, "stride", "an int >= 1")
        self._need(isinstance(self.batch_norm, (bool, np.bool_)), "batch_norm",
                   "True or False")
        self._need(is_pooling(self.global_pooling), "global_pooling",
                   "None, 'avg' or 'max'")
        self._need(self.padding in ("same", "valid") or (_integer(self.padding)
                                                           and self.padding >= 0),
                   "padding", "'same', 'valid' or an int >= 0")
        shape = self.image_shape
        self._need(shape is None or (isinstance(shape, (tuple, list)) and len(shape) in (2, 3)
                                     and all(_integer(s) and s >= 1 for s in shape)),
                   "image_shape", "None, (h, w) or (h, w, c) with ints >= 1")

    # ------------------------------------------------------------ input

    def _validate_X_y(self, X, y, reset: bool):
        with np.errstate(over="ignore", invalid="ignore"):
            if reset or _ndim(X) == 2:
                X, y = validate_data(self, X, y, allow_nd=True, multi_output=True,
                                     dtype=_dtype(X), reset=reset)
            else:  # images: their shape is checked against image_shape_ below
                X, y = check_X_y(X, y, allow_nd=True, multi_output=True, dtype=_dtype(X))
        if X.ndim > 4:
            raise ValueError(
                "X must be 2-D rows (n_samples, n_features), 3-D grayscale images "
                f"(n, h, w) or 4-D images (n, h, w, c); got {X.ndim}-D of shape {X.shape}."
            )
        if reset:
            self.image_shape_ = self._resolve_image_shape(X)
            self.n_features_in_ = int(np.prod(self.image_shape_))
        return self._as_images(X), y

    def _validate_X(self, X):
        with np.errstate(over="ignore", invalid="ignore"):
            if _ndim(X) == 2:
                X = validate_data(self, X, dtype=_dtype(X), reset=False)
            else:
                X = check_array(X, allow_nd=True, dtype=_dtype(X))
        return self._as_images(X)

    def _resolve_image_shape(self, X) -> tuple[int, int, int]:
        return resolve_image_shape(X.shape, self.image_shape, stacklevel=stacklevel(1))

    def _as_images(self, X) -> np.ndarray:
        """X as (n, h, w, c) images of :attr:`image_shape_`, checked."""
        h, w, c = self.image_shape_
        if X.ndim == 2:
            if X.shape[1] != h * w * c:
                raise ValueError(
                    f"X has {X.shape[1]} features; the model reads {h} x {w} x {c} images "
                    f"({h * w * c} features)."
                )
            return X.reshape(X.shape[0], h, w, c)
        images = X[..., None] if X.ndim == 3 else X
        if images.shape[1:] != (h, w, c):
            raise ValueError(
                f"X holds images of shape {images.shape[1:]}; the model was fitted on "
                f"{(h, w, c)}."
            )
        return images

    # ------------------------------------------------------------ network

    def _geometry(self) -> list[dict]:
        """Per conv layer: input and output shapes, padding and pooling window (checked)."""
        h, w, c = self.image_shape_
        plan = []
        for i, (n, (fh, fw), act) in enumerate(self._conv_specs()):
            try:
                _, (oh, ow) = conv_geometry((h, w), (fh, fw), self.stride, self.padding)
            except ValueError:
                raise ValueError(
                    f"The image runs out of pixels at conv layer {i}: its input is "
                    f"{h} x {w} x {c}, too small for a {fh} x {fw} kernel with "
                    f"padding={self.padding!r}. Use padding='same' or a smaller kernel"
                    f"{'; or fewer conv layers, or a smaller pool_size before it' if i else ''}."
                ) from None
            pool = None
            ph, pw = oh, ow
            if self.pooling is not None:
                pool = (self.pool_size if oh > 1 else 1, self.pool_size if ow > 1 else 1)
                if pool[0] > oh or pool[1] > ow:
                    raise ValueError(
                        f"The image runs out of pixels at the pooling after conv layer {i}: "
                        f"its feature maps are {oh} x {ow}, smaller than pool_size="
                        f"{self.pool_size}. Use fewer conv layers or a smaller pool_size."
                    )
                ph, pw = oh // pool[0], ow // pool[1]
            plan.append(dict(in_shape=(h, w, c), kernel=(n, fh, fw, c), activation=act,
                             pool=pool, out_shape=(ph, pw, n)))
            h, w, c = ph, pw, n
        return plan

    def _initialize_params(self, X, Y, rng, sample_weight=None) -> None:
        """``input_scale_``; kernels ``K`` of shape (k, fh, fw, c) and biases (k,) per conv
        layer; ``W[l]``, ``b[l]`` of the dense head, whose output width is Y's."""
        dtype = Y.dtype  # the weights', by _float_dtype: uint8 images train in float64
        self.input_scale_ = input_scale(X, sample_weight, dtype)
        plan = self._geometry()
        self._conv_settings = (self.padding, self.stride, self.pooling, self.pool_size)
        self.conv_activations_ = [p["activation"] for p in plan]
        self.feature_map_shapes_ = [p["out_shape"] for p in plan]
        self.conv_kernels_, self.conv_intercepts_ = [], []
        for p in plan:
            k, fh, fw, c = p["kernel"]
            # the initialiser's fan-in is a patch, fh fw c values, as for a dense layer
            name = resolve_init(self.init, p["activation"])
            W, b = INITIALIZERS[name](fh * fw * c, k, rng, dtype, activation=p["activation"])
            self.conv_kernels_.append(np.ascontiguousarray(W.T.reshape(k, fh, fw, c)))
            self.conv_intercepts_.append(b)
        layers = self._hidden_layers()
        self.hidden_activations_ = [act for _, act in layers]
        self.n_outputs_ = Y.shape[1]
        self.out_activation_ = self._output_loss().activation
        self._global_pooling = self.global_pooling
        last = plan[-1]["out_shape"] if plan else self.image_shape_
        flat = int(last[-1] if self.global_pooling else np.prod(last))
        units = [flat] + [size for size, _ in layers] + [Y.shape[1]]
        self.n_layers_ = len(units)
        self.coefs_, self.intercepts_ = init_dense(
            units, self.hidden_activations_, self.activation, self.init, rng, dtype)
        for name in BATCH_NORM_ATTRS:
            setattr(self, name, [])
        for p in plan if self.batch_norm else []:  # one per conv layer; no random numbers
            for name, a in zip(BATCH_NORM_ATTRS, init_norm(p["kernel"][0], dtype)
                               + init_running(p["kernel"][0], dtype)):
                getattr(self, name).append(a)

    def _build_layers(self, dropout: float = 0.0, rng=None) -> list:
        layers = [Rescale(self.input_scale_)]
        plan_shapes = [self.image_shape_] + list(self.feature_map_shapes_)
        norms = list(zip(*(getattr(self, name, []) for name in BATCH_NORM_ATTRS)))
        for i, (K, b, act) in enumerate(zip(self.conv_kernels_, self.conv_intercepts_,
                                            self.conv_activations_)):
            h, w, _ = plan_shapes[i]
            layers.append(Conv2D(K, b, stride=self.stride, padding=self.padding,
                                 activation="identity" if norms else act,
                                 slope=self.negative_slope, input_hw=(h, w)))
            if norms:  # g(BN(conv(x)))
                layers += [BatchNorm(*norms[i]), Activation(act, self.negative_slope)]
            if self.pooling is not None:
                _, (oh, ow) = conv_geometry((h, w), K.shape[1:3], self.stride, self.padding)
                layers.append(Pool2D(self.pooling, (self.pool_size if oh > 1 else 1,
                                                    self.pool_size if ow > 1 else 1)))
        pooled = getattr(self, "_global_pooling", None)
        layers.append(GlobalPool(pooled) if pooled else Flatten())
        return layers + dense_head(self.coefs_, self.intercepts_, self.hidden_activations_,
                                   self.negative_slope, dropout, rng)

    def _architecture(self):
        return (self._conv_specs(), self._hidden_layers(), self.padding, self.stride,
                self.pooling, self.pool_size, self._output_loss().activation,
                bool(self.batch_norm), self.global_pooling)

    def _fitted_architecture(self):
        convs = [(K.shape[0], K.shape[1:3], a)
                 for K, a in zip(self.conv_kernels_, self.conv_activations_)]
        dense = [(c.shape[1], a) for c, a in zip(self.coefs_, self.hidden_activations_)]
        return ((convs, dense) + self._conv_settings + (self.out_activation_,)
                + (bool(getattr(self, "batch_norm_scales_", [])),
                   getattr(self, "_global_pooling", None)))

    def _check_architecture(self) -> None:
        super()._check_architecture()
        if self.image_shape is not None:
            given = tuple(self.image_shape) + ((1,) if len(self.image_shape) == 2 else ())
            if given != tuple(self.image_shape_):
                raise ValueError(
                    f"image_shape changed from the fitted model's {tuple(self.image_shape_)} "
                    f"to {tuple(self.image_shape)}; warm_start and partial_fit need the same "
                    "image geometry. Fit afresh (warm_start=False) to read X as other images."
                )
        shapes = [p["out_shape"] for p in self._geometry()]
        if shapes != list(self.feature_map_shapes_):
            raise ValueError(
                f"The feature maps would change from {self.feature_map_shapes_} to {shapes} "
                "(padding, stride or pooling changed); warm_start and partial_fit need the "
                "same architecture."
            )


def input_scale(X, sample_weight, dtype) -> np.ndarray:
    """Root mean square of each channel over the images, weighted as the samples.

    ``s_c = sqrt(sum_i w_i sum_p x_ipc^2 / (sum_i w_i * n_pixels))`` (1 for a channel
    that is all 0), computed in blocks of 1,024 images converted to float64 one at a
    time, so that uint8 images are never copied whole. Where squaring would overflow
    or underflow (pixels beyond about 1e150 or below 1e-150), the pixels and weights
    are first divided by their largest values.

    Parameters
    ----------
    X : ndarray of shape (n, h, w, c), any numeric dtype
    sample_weight : ndarray of shape (n,) or None
    dtype : numpy dtype
        Of the result, float32 or float64.

    Returns
    -------
    scale : ndarray of shape (c,)

    Raises
    ------
    ValueError
        Where the scale or its inverse is not a finite number of ``dtype``.
    """
    c, n = X.shape[-1], len(X)
    w = np.ones(n) if sample_weight is None else sample_weight
    pixels = int(np.prod(X.shape[1:-1]))
    total_sq, peak = np.zeros(c), np.zeros(c)
    for start in range(0, n, 1024):  # (one float64 block at a time, squared in place)
        chunk = X[start:start + 1024].astype(np.float64).reshape(-1, pixels, c)
        peak = np.maximum(peak, np.maximum(chunk.max(axis=(0, 1)), -chunk.min(axis=(0, 1))))
        total_sq += w[start:start + 1024] @ np.square(chunk, out=chunk).sum(axis=1)
    rms = np.sqrt(total_sq / max(float(w.sum()) * pixels, 1e-300))
    if not (np.isfinite(total_sq).all() and ((peak == 0) | (peak > 1e-150)).all()
            and (peak < 1e150).all()):  # again, on the scale of the largest values
        unit, w = np.where(peak > 0, peak, 1.0), w / w.max()
        total_sq[...] = 0
        for start in range(0, n, 1024):
            chunk = X[start:start + 1024].astype(np.float64).reshape(-1, pixels, c)
            chunk /= unit
            total_sq += w[start:start + 1024] @ np.square(chunk, out=chunk).sum(axis=1)
        rms = unit * np.sqrt(total_sq / (float(w.sum()) * pixels))
    with np.errstate(over="ignore", divide="ignore"):
        scale = np.where(rms > 0, rms, 1.0).astype(dtype)
        ok = np.isfinite(scale).all() and np.isfinite(1 / scale).all() and (scale > 0).all()
    if not ok:
        raise ValueError(
            f"The pixels of X are too {'small' if (rms < 1).all() else 'large'} to rescale "
            f"in {np.dtype(dtype).name}: their root mean square per channel is {rms}. "
            "Scale X first (divide it by its largest value)"
            + (", or pass it as float64." if np.dtype(dtype) == np.float32 else ".")
        )
    return scale


def _dtype(X):
    """How validation converts X: integer, bool and float16 arrays (uint8 images) are
    kept as they are, converted one batch at a time by the first layer (Rescale); other
    input becomes float64 (float32 stays float32)."""
    dtype = getattr(X, "dtype", None)
    if isinstance(dtype, np.dtype) and (dtype.kind in "uib" or dtype == np.float16):
        return None
    return (np.float64, np.float32)


def _ndim(X) -> int:
    """Dimensions of X without converting it (2 for tables, DataFrames, array-likes)."""
    ndim = getattr(X, "ndim", None)
    if isinstance(ndim, int):
        return ndim
    return np.ndim(X) if isinstance(X, (list, tuple)) else 2
