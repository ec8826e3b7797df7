"""Convolutional features for scikit-learn pipelines: :class:`ConvFeatureTransformer`.

A thin estimator over :mod:`sknnedu.nn.conv`: it validates and reshapes ``X``, picks
or learns the kernels in ``fit``, and delegates the math to
:func:`sknnedu.nn.conv.conv_pool2d` in ``transform``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)
from threadpoolctl import threadpool_limits

from sknnedu._warn import stacklevel
from sknnedu.filters import BANKS, filter_bank, filter_names
from sknnedu.nn.activations import check_activation
from sknnedu.nn.conv import conv_geometry, conv_pool2d, pool_geometry
from sknnedu.nn.convolution import MAP_ACTIVATIONS
from sknnedu.nn.geometry import check_int, float_dtype, nonfinite_rows, pair, resolve_image_shape
from sknnedu.nn.im2col import patches_at
from sknnedu.nn.pooling import check_pooling

__all__ = ["DEFAULT_FILTERS", "ConvFeatureTransformer"]

#: The default kernels: the ``'edges'`` bank (Sobel x, y, both diagonals, the
#: Laplacian) and ``'centre'`` (the pixel itself), the kernels of the
#: recommended digits pipeline (``sknnedu.cli.conv_pipeline``).
DEFAULT_FILTERS: tuple[str, ...] = (*BANKS["edges"], "centre")

_FLOATS = [np.float64, np.float32]
#: Accepted by validation and kept: integer images are converted to float chunk by
#: chunk inside :func:`sknnedu.nn.conv.conv_pool2d`, never as one float64 copy of X.
_NUMERIC = "numeric"
#: At most this many patches are sampled from the images to learn k-means kernels.
MAX_KMEANS_PATCHES = 10_000
#: Lloyd iterations of k-means (features barely change after a few dozen).
KMEANS_MAX_ITER = 50
#: ZCA regulariser, for contrast-normalised patches (Coates & Ng, 2011).
ZCA_EPSILON = 0.1


def _image_ndim(X) -> int:
    """ndim of ``X`` if it may be an image array (3-D or 4-D), else 2 (left to sklearn)."""
    if sp.issparse(X) or hasattr(X, "iloc") or hasattr(X, "__dataframe__"):
        return 2
    shape = getattr(X, "shape", None)
    if shape is not None:
        return len(shape)
    try:
        return np.asarray(X).ndim
    except (TypeError, ValueError):
        return 2


class ConvFeatureTransformer(TransformerMixin, BaseEstimator):
    """Convolution, activation and pooling of images, as features for a next step.

    Each image ``x`` (``h x w x c``, channels-last) goes through one convolutional
    layer with fixed or unsupervised kernels ``K`` (``k`` of them, ``fh x fw x c``)::

        z = conv2d(x, K, stride, padding)              # (oh, ow, k), cross-correlation
        a = g(z)                                       # elementwise activation
        out = pool(a, pool_size, pool_stride)          # (oph, opw, k)

    with ``z[i, j, k] = sum_{u, v, ch} xp[i*s + u, j*s + v, ch] K[k, u, v, ch]``
    (``xp`` zero-padded) and ``oph = (oh - ph) // sh + 1``. ``transform`` returns
    ``out`` flattened to ``oph * opw * k`` features per image, ordered (row,
    column, filter), and (``standardize``) scaled to mean 0 and variance 1 per
    feature over the training images, ready for a classifier in a
    :class:`~sklearn.pipeline.Pipeline`.

    The defaults (:data:`DEFAULT_FILTERS`, ``|z|``, 2x2 average pooling with
    stride 1, standardised features) serve as they are:
    ``make_pipeline(ConvFeatureTransformer(image_shape=(8, 8)), NNClassifier())``
    beats ``NNClassifier`` on the raw pixels of the digits, and matches the
    README's conv -> StandardScaler -> NNClassifier pipeline
    (``benchmarks/bench_digits.py``). ``sknnedu.cli.conv_pipeline`` is the same
    with ``pool_stride=None``.

    Parameters
    ----------
    filters : str, list of str or array-like, default=DEFAULT_FILTERS
        The kernels:

        - :data:`DEFAULT_FILTERS`: the ``'edges'`` bank and ``'centre'``;
        - a bank name of :data:`sknnedu.filters.BANKS` (``'edges'``: Sobel x, y and
          both diagonals, and the Laplacian), a name of
          :data:`sknnedu.filters.FILTERS` or a list of such names. 2-D kernels are
          shared across channels (applied to each and summed);
        - ``'random'``: ``n_filters`` Gaussian kernels ``N(0, 1 / (fh fw c))``;
        - ``'kmeans'``: ``n_filters`` kernels learned in ``fit`` by k-means on image
          patches (Coates & Ng, 2011): each patch ``p`` (``fh fw c`` values) is
          normalised, ``p <- (p - mean(p)) / sqrt(var(p) + eps)`` with ``eps`` 1% of
          the mean patch variance (so a patch needs at least 2 values: not
          ``kernel_size=1`` on grayscale), ZCA-whitened if ``whiten``,
          ``p <- W p`` with ``W = U (S + 0.1)^(-1/2) U^T`` from the eigendecomposition
          ``U S U^T`` of the patches' covariance, and clustered. The kernels are the
          centroids ``D_k`` mapped back to pixels, ``W D_k``, with zero mean and unit
          norm (so ``conv2d`` on raw images computes ``D_k . W (p - mean(p))``);
        - an array of kernels of shape ``(k, fh, fw, c)`` or ``(k, fh, fw)``.
    n_filters : int, default=8
        Number of kernels for ``'random'`` and ``'kmeans'``.
    kernel_size : int or (fh, fw), default=3
        Kernel size for ``'random'`` and ``'kmeans'``.
    stride : int, default=1
        Convolution stride ``s``.
    padding : {'same', 'valid'} or int, default='same'
        Zero padding of the convolution; ``'same'`` gives ``oh = ceil(h / s)``.
    activation : str, default='abs'
        ``g``: one of 'identity', 'logistic', 'sigmoid', 'tanh', 'relu',
        'leakyrelu', 'abs' (see :mod:`sknnedu.nn.activations`). ``|z|`` keeps an
        edge whichever way it runs (dark to light or light to dark).
    pooling : {'max', 'avg'} or None, default='avg'
        Pooling of each feature map; None keeps the ``oh x ow`` maps.
    pool_size : int or (ph, pw), default=2
        Pooling window. A feature map smaller than the window is pooled with the
        window cut to its size (e.g. a 1-row map is only pooled along its width).
    pool_stride : int, (sh, sw) or None, default=1
        Step between pooling windows; None means ``pool_size`` (windows that do
        not overlap). The default 1 overlaps the 2x2 windows: each feature
        averages a small neighbourhood, a little translation invariance, but the
        maps keep their resolution (``(h - 1) x (w - 1)`` for 'same' padding).
        With ``NNClassifier()`` on the digits this scored 0.9898 against 0.9879
        for non-overlapping windows (mean over 3 splits and 5 seeds), at the
        price of about 3 times more features (4 times on large images: pass
        ``pool_stride=None`` when that matters).
    image_shape : (h, w) or (h, w, c), default=None
        How to read each row of a 2-D ``X``: as ``row.reshape(h, w, c)``, so rows
        are pixel-major with the channels of a pixel adjacent (``(h, w)`` means
        ``c = 1``). None: a square grayscale image when the number of features is
        a perfect square, else a ``1 x n_features`` grayscale strip, with a
        warning (flattened colour images, e.g. 3072 = 32 x 32 x 3 values, need
        ``image_shape=(32, 32, 3)``). Ignored for 3-D/4-D ``X``, except that it
        must then match the images' shape.
    whiten : bool, default=True
        ZCA-whiten the patches before k-means (``filters='kmeans'`` only).
    standardize : bool, default=True
        Scale each output feature ``f`` to ``(f - mean_) / scale_``, its mean and
        standard deviation over the images given to ``fit`` (as a
        :class:`~sklearn.preprocessing.StandardScaler` would; a feature constant
        in training is only centred). The summed responses of colour images are
        up to ``4 c`` for a Sobel kernel; a network learns best from inputs of
        unit scale. False returns the pooled maps as they are.
    random_state : int, RandomState instance or None, default=None
        Seeds ``'random'`` kernels and the patch sampling and k-means of
        ``'kmeans'``.

    Attributes
    ----------
    kernels_ : ndarray of shape (k, fh, fw, c), float64
        The kernels used by ``transform``.
    filter_names_ : ndarray of shape (k,), object
        One name per kernel: the filter names, ``'random{i}'``, ``'kmeans{i}'`` or
        ``'filter{i}'`` for given arrays.
    image_shape_ : tuple (h, w, c)
        Shape of one input image.
    conv_shape_ : tuple (oh, ow, k)
        Shape of the feature maps of one image before pooling.
    pool_size_ : tuple (ph, pw) or None
        Pooling window actually used (``pool_size`` cut to the map), None without
        pooling.
    output_shape_ : tuple (oph, opw, k)
        Shape of the pooled maps of one image; ``transform`` returns
        ``oph * opw * k`` features.
    mean_ : ndarray of shape (oph * opw * k,), float64, or None
        Mean of each feature over the training images (None unless
        ``standardize``).
    scale_ : ndarray of shape (oph * opw * k,), float64, or None
        Standard deviation of each feature over the training images, 1 where it
        is 0 (None unless ``standardize``).
    n_features_in_ : int
        ``h * w * c``, the number of values per image, whether ``X`` was given as
        2-D rows or as a 3-D ``(n, h, w)`` / 4-D ``(n, h, w, c)`` image array.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of ``X``, when fitted on a DataFrame with string columns.

    See Also
    --------
    sknnedu.nn.conv.conv_pool2d : The function doing the work.
    sknnedu.filters.FILTERS : The named kernels.

    References
    ----------
    A. Coates, A. Ng and H. Lee, "An Analysis of Single-Layer Networks in
    Unsupervised Feature Learning", AISTATS 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.feature_extraction import ConvFeatureTransformer
    >>> X = np.random.default_rng(0).random((4, 64))  # four 8x8 grayscale images
    >>> conv = ConvFeatureTransformer().fit(X)
    >>> conv.image_shape_, conv.conv_shape_, conv.output_shape_
    ((8, 8, 1), (8, 8, 6), (7, 7, 6))
    >>> conv.transform(X).shape
    (4, 294)
    >>> conv.get_feature_names_out()[:2].tolist()
    ['sobel_x_r0_c0', 'sobel_y_r0_c0']
    """

    def __init__(
        self,
        filters=DEFAULT_FILTERS,
        *,
        n_filters=8,
        kernel_size=3,
        stride=1,
        padding="same",
        activation="abs",
        pooling="avg",
        pool_size=2,
        pool_stride=1,
        image_shape=None,
        whiten=True,
        standardize=True,
        random_state=None,
    ):
        self.filters = filters
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.activation = activation
        self.pooling = pooling
        self.pool_size = pool_size
        self.pool_stride = pool_stride
        self.image_shape = image_shape
        self.whiten = whiten
        self.standardize = standardize
        self.random_state = random_state

    # ------------------------------------------------------------------------------------
    # scikit-learn API
    # ------------------------------------------------------------------------------------
    def fit(self, X, y=None) -> ConvFeatureTransformer:
        """Read the image geometry, choose (or learn) the kernels, and the feature scales.

        Parameters
        ----------
        X : array-like of shape (n, h * w * c), (n, h, w) or (n, h, w, c)
            Images; 2-D rows are reshaped with ``image_shape``. Integer pixels
            are converted to float chunk by chunk, never all at once.
        y : None
            Ignored.

        Returns
        -------
        self : ConvFeatureTransformer
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None, **fit_params) -> np.ndarray:
        """``fit(X).transform(X)``, convolving ``X`` once.

        Parameters
        ----------
        X : array-like of shape (n, h * w * c), (n, h, w) or (n, h, w, c)
        y : None
            Ignored.
        **fit_params : dict
            Ignored.

        Returns
        -------
        features : ndarray of shape (n, oph * opw * k)
        """
        return self._fit(X)

    def _fit(self, X) -> np.ndarray:
        """Fit; return the (standardised) features of ``X``."""
        self._check_params()
        with np.errstate(over="ignore", invalid="ignore"):  # finiteness is checked instead
            images = self._validate_images(X, reset=True)
            kernels, names = self._make_kernels(images)
        # |conv| <= max |x| * sum |K|: refuse now what transform would overflow
        largest = max(float(images.max(initial=0)), -float(images.min(initial=0)))
        bound = largest * float(np.abs(kernels).sum(axis=(1, 2, 3)).max())
        out_dtype = float_dtype(images.dtype)
        if not bound < float(np.finfo(out_dtype).max):
            raise ValueError(
                f"X has pixel values up to {largest:.3g}: convolving them could "
                f"overflow {out_dtype}. Scale X (e.g. to [0, 1])."
            )
        h, w, _ = self.image_shape_
        k, fh, fw, _ = kernels.shape
        _, (oh, ow) = conv_geometry((h, w), (fh, fw), self.stride, self.padding)
        self.kernels_ = kernels
        self.filter_names_ = np.asarray(names, dtype=object)
        self.conv_shape_ = (oh, ow, k)
        if self.pooling is None:
            self.pool_size_ = None
            self.output_shape_ = self.conv_shape_
        else:
            ph, pw = pair(self.pool_size, "pool_size")
            self.pool_size_ = (min(ph, oh), min(pw, ow))
            oph, opw = pool_geometry((oh, ow), self.pool_size_, self._pool_stride())
            self.output_shape_ = (oph, opw, k)
        self.mean_ = self.scale_ = None
        out = self._features(images)
        if self.standardize:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                self.mean_, self.scale_ = _mean_and_scale(out)
            self._scale(out)
        return out

    def transform(self, X) -> np.ndarray:
        """Convolve, activate and pool each image; flatten the maps; standardise.

        Parameters
        ----------
        X : array-like of shape (n, h * w * c), (n, h, w) or (n, h, w, c)
            Integer pixels are converted to float chunk by chunk: the memory
            used besides ``X`` and the result does not grow with ``n``.

        Returns
        -------
        features : ndarray of shape (n, oph * opw * k)
            ``features[n].reshape(oph, opw, k)`` are the pooled maps of image ``n``
            (standardised with ``mean_`` and ``scale_``).
            float32 input gives float32, anything else float64.
        """
        check_is_fitted(self)
        with np.errstate(over="ignore", invalid="ignore"):
            images = self._validate_images(X, reset=False)
        out = self._features(images)
        if self.standardize:
            self._scale(out)
        return out

    def _features(self, images: np.ndarray) -> np.ndarray:
        """The flattened pooled maps ``(n, oph * opw * k)`` of validated images, checked finite."""
        with np.errstate(over="ignore", invalid="ignore"):  # finiteness is checked instead
            out = conv_pool2d(
                images,
                self.kernels_.astype(float_dtype(images.dtype), copy=False),
                stride=self.stride,
                padding=self.padding,
                activation=self.activation,
                pooling=self.pooling,
                pool_size=self.pool_size_ or 1,
                pool_stride=self._pool_stride(),
            )
        out = out.reshape(out.shape[0], -1)
        self._check_finite(out)
        return out

    def _scale(self, out: np.ndarray) -> None:
        """``out <- (out - mean_) / scale_``, in place, checked finite."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out -= self.mean_.astype(out.dtype)
            out /= self.scale_.astype(out.dtype)
        self._check_finite(out)

    @staticmethod
    def _check_finite(out: np.ndarray) -> None:
        """Refuse non-finite features, naming the images they come from."""
        bad = nonfinite_rows(out)
        if bad.any():
            raise ValueError(
                f"The convolution overflowed {out.dtype} on {bad.sum()} image(s) of X (the "
                f"first is image {np.flatnonzero(bad)[0]}): its pixel values are too large. "
                "Scale X (e.g. to [0, 1])."
            )

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names ``'{filter}_r{row}_c{col}'`` of the output features, in order.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against ``feature_names_in_`` / ``n_features_in_``.

        Returns
        -------
        names : ndarray of shape (oph * opw * k,), object
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        oph, opw, _ = self.output_shape_
        names = [
            f"{name}_r{i}_c{j}"
            for i in range(oph)
            for j in range(opw)
            for name in self.filter_names_
        ]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ------------------------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------------------------
    def _pool_stride(self):
        if self.pool_stride is None:
            return pair(self.pool_size, "pool_size")
        return pair(self.pool_stride, "pool_stride")

    def _check_params(self) -> None:
        check_activation(self.activation, MAP_ACTIVATIONS)
        check_pooling(self.pooling)
        pair(self.stride, "stride")
        pair(self.pool_size, "pool_size")
        self._pool_stride()
        pair(self.kernel_size, "kernel_size")
        check_int(self.n_filters, "n_filters")
        if not isinstance(self.whiten, (bool, np.bool_)):
            raise ValueError(f"whiten must be True or False, got {self.whiten!r}.")
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise ValueError(f"standardize must be True or False, got {self.standardize!r}.")

    def _validate_images(self, X, reset: bool) -> np.ndarray:
        """``X`` as float images ``(n, h, w, c)``; sets ``image_shape_`` if ``reset``."""
        ndim = _image_ndim(X)
        if ndim > 4:
            raise ValueError(
                f"X has {ndim} dimensions (shape {np.shape(X)}); expected rows of flattened "
                "images (n, h * w * c) with image_shape, or images (n, h, w) or (n, h, w, c)."
            )
        if ndim not in (3, 4):
            X = validate_data(self, X, reset=reset, dtype=_NUMERIC)
            X = _as_real(X)
            if reset:
                self.image_shape_ = resolve_image_shape(X.shape, self.image_shape,
                                                        stacklevel=stacklevel())
            return X.reshape(X.shape[0], *self.image_shape_)

        images = _as_real(check_array(X, allow_nd=True, dtype=_NUMERIC, input_name="X"))
        if images.ndim == 3:
            images = images[..., None]
        shape = images.shape[1:]
        if reset:
            self.image_shape_ = resolve_image_shape(images.shape, self.image_shape)
        elif shape != self.image_shape_:
            raise ValueError(
                f"X has images of shape {shape} (h, w, c), but {type(self).__name__} was "
                f"fitted on images of shape {self.image_shape_}."
            )
        # n_features_in_ (and the feature-name bookkeeping) on the flattened rows
        validate_data(self, images.reshape(images.shape[0], -1), reset=reset, dtype=None,
                      ensure_all_finite=False)  # check_array above checked them
        return images

    def _make_kernels(self, images: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Kernels ``(k, fh, fw, c)`` (float64) and their names."""
        c = images.shape[3]
        filters = self.filters
        if isinstance(filters, str) and filters in ("random", "kmeans"):
            fh, fw = pair(self.kernel_size, "kernel_size")
            rng = check_random_state(self.random_state)
            names = [f"{filters}{i}" for i in range(self.n_filters)]
            if filters == "random":
                shape = (self.n_filters, fh, fw, c)
                return rng.standard_normal(shape) / np.sqrt(fh * fw * c), names
            return self._kmeans_kernels(images, fh, fw, rng), names
        is_names = (isinstance(filters, (list, tuple)) and len(filters) > 0) or (
            isinstance(filters, np.ndarray) and filters.ndim == 1 and filters.dtype.kind == "U"
        )
        if isinstance(filters, str) or (is_names and all(isinstance(f, str) for f in filters)):
            names = filter_names([str(f) for f in filters] if is_names else filters)
            return filter_bank(names, n_channels=c), _unique(names)

        try:
            kernels = np.array(filters, dtype=np.float64)
        except (TypeError, ValueError):
            kernels = None
        if kernels is None or kernels.ndim not in (3, 4) or 0 in kernels.shape:
            raise ValueError(
                "filters must be 'random', 'kmeans', a bank or filter name, a list of filter "
                f"names or an array of shape (k, fh, fw[, c]), got {filters!r}."
            )
        if not np.isfinite(kernels).all():
            raise ValueError("filters contain NaN or infinity; expected finite kernels.")
        if kernels.ndim == 3:
            kernels = np.repeat(kernels[..., None], c, axis=3)
        elif kernels.shape[3] != c:
            raise ValueError(
                f"filters have {kernels.shape[3]} channel(s) but the images have {c}: "
                f"expected an array of shape (k, fh, fw, {c}) or (k, fh, fw), "
                f"got {kernels.shape}."
            )
        return kernels, [f"filter{i}" for i in range(kernels.shape[0])]

    def _kmeans_kernels(self, images: np.ndarray, fh: int, fw: int, rng) -> np.ndarray:
        """Learn ``n_filters`` kernels ``(k, fh, fw, c)`` by k-means on normalised patches."""
        n, h, w, c = images.shape
        if fh * fw * c == 1:
            raise ValueError(
                "filters='kmeans' with kernel_size=1 on single-channel images cannot learn: "
                "each patch is one pixel, which contrast normalisation sets to 0, so every "
                "kernel would be 0. Use kernel_size >= 2 (e.g. 3), or colour images."
            )
        sh, sw = pair(self.stride, "stride")
        _, (oh, ow) = conv_geometry((h, w), (fh, fw), (sh, sw), self.padding)
        # sample receptive fields (image, i, j) of the convolution, zero outside the image
        n_fields = n * oh * ow
        if n_fields < self.n_filters:
            raise ValueError(
                f"filters='kmeans' needs at least n_filters={self.n_filters} image patches, "
                f"X gives {n_fields} ({n} image(s) of {oh}x{ow} receptive fields)."
            )
        m = min(n_fields, MAX_KMEANS_PATCHES)
        fields = rng.choice(n_fields, size=m, replace=False) if m < n_fields else np.arange(m)
        patches = patches_at(images, fields, (fh, fw), (sh, sw), self.padding)
        patches = patches.astype(np.float64)
        largest = np.abs(patches).max()
        if largest > 0:  # the kernels do not depend on the scale; squares must not overflow
            patches /= largest

        # contrast normalisation: zero mean, unit variance per patch (regularised)
        patches -= patches.mean(axis=1, keepdims=True)
        var = np.mean(patches**2, axis=1, keepdims=True)
        patches /= np.sqrt(var + 0.01 * var.mean() + 1e-12)
        if self.whiten:
            s, U = np.linalg.eigh(patches.T @ patches / m)
            zca = (U / np.sqrt(np.clip(s, 0.0, None) + ZCA_EPSILON)) @ U.T
        else:
            zca = np.eye(patches.shape[1])
        km = KMeans(n_clusters=self.n_filters, n_init=1, max_iter=KMEANS_MAX_ITER, random_state=rng)
        # at most MAX_KMEANS_PATCHES small patches: one thread is plenty, and OpenMP
        # threads waiting for a busy core can make the fit many times slower
        with threadpool_limits(limits=1, user_api="openmp"):
            km.fit(patches @ zca)
        kernels = km.cluster_centers_ @ zca  # zca is symmetric: W^T D_k = W D_k
        kernels -= kernels.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(kernels, axis=1, keepdims=True)
        kernels /= np.where(norms > 0, norms, 1.0)
        return kernels.reshape(self.n_filters, fh, fw, c)


def _as_real(X: np.ndarray) -> np.ndarray:
    """Accept real numbers of any width; float16 and exotic floats become float64."""
    return X if X.dtype.kind in "biu" else X.astype(float_dtype(X.dtype), copy=False)


def _mean_and_scale(out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column of ``out``, in float64, without overflow.

    Each column is divided by its largest ``|f|`` first, so squares of huge features do
    not overflow. A standard deviation below ``10 eps`` of that size (a constant column,
    up to rounding) becomes 1, so constant features are only centred.
    """
    # ~1M values (8 MB of float64) at a time: no copy of out
    size = np.zeros(out.shape[1])
    for rows in _row_blocks(out):
        np.maximum(size, np.abs(out[rows]).max(axis=0), out=size)
    size[size == 0] = 1.0
    mean = np.zeros(out.shape[1])
    std = np.zeros(out.shape[1])
    for rows in _row_blocks(out):
        mean += (out[rows] / size).sum(axis=0)
    mean /= max(len(out), 1)
    for rows in _row_blocks(out):
        std += (((out[rows] / size) - mean) ** 2).sum(axis=0)
    std = np.sqrt(std / max(len(out), 1))
    scale = std * size
    # constant up to rounding, or a spread so small it underflows in out's dtype
    constant = (std < 10 * np.finfo(out.dtype).eps) | (scale < np.finfo(out.dtype).tiny)
    return mean * size, np.where(constant, 1.0, scale)


def _row_blocks(out: np.ndarray, n_values: int = 1 << 20):
    """Slices of about ``n_values`` values of the rows of a 2-D array."""
    step = max(1, n_values // max(1, out.shape[1]))
    return (slice(start, start + step) for start in range(0, len(out), step))


def _unique(names: list[str]) -> list[str]:
    """Make repeated filter names unique by appending ``_{i}`` (i = position)."""
    if len(set(names)) == len(names):
        return list(names)
    return [f"{name}_{i}" if names.count(name) > 1 else name for i, name in enumerate(names)]
