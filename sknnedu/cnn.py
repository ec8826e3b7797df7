"""CNNClassifier and CNNRegressor: convolutional networks trained end to end, in numpy.

The notes end where they say that "a combination of convolution and pooling when
combined over multiple layers" works best for images. Here every filter learns:
the network is ::

    [Conv2D -> Pool2D] x len(conv_layers) -> Flatten -> [Dense] x len(hidden) -> Dense

(:mod:`sknnedu.nn.conv_layers`, :mod:`sknnedu.nn.layers`), trained by the same engine as
:class:`~sknnedu.NNClassifier` (:mod:`sknnedu.engine`). Each estimator is a body plus a
target: the conv body (``sknnedu/_conv_body.py``: how images come in, which layers there
are and how their arrays start) with the classifier's labels or the regressor's values.
This module holds only their parameters and documentation.
"""

from __future__ import annotations

from ._conv_body import POOLINGS, _ConvBody, input_scale
from .neural_network import NNClassifier, NNRegressor

__all__ = ["CNNClassifier", "CNNRegressor", "POOLINGS", "input_scale"]


class CNNClassifier(_ConvBody, NNClassifier):
    """Convolutional neural network classifier, backpropagation written in numpy.

    Each entry of ``conv_layers`` is a convolution (``'same'`` padding by default)
    with its activation, followed by ``pooling``; the last feature maps are
    flattened (C order of ``(h, w, c)``, channels-last) into the dense layers of
    ``hidden_layer_sizes`` and a softmax (multiclass) or sigmoid (binary,
    multilabel) output::

        z = conv2d(a_prev, K) + b,  a = pool(g(z))          each conv layer
        z[l] = a[l-1] W[l] + b[l],  a[l] = g[l](z[l])       each dense layer

    Backpropagation runs through all of them (``dK = dZ^T P``, the input
    gradient as the correlation of ``dZ`` with the flipped kernels, the max
    pool's gradient to the maximum of each window); the training loop, solvers,
    early stopping, dropout (on the dense hidden layers) and diagnostics are those
    of :class:`~sknnedu.NNClassifier`, whose training parameters it shares.

    Parameters
    ----------
    conv_layers : sequence, default=((32, 3), (32, 3))
        One entry per convolution layer: ``(n_filters, kernel_size)`` or
        ``(n_filters, kernel_size, activation)``, ``kernel_size`` an int or
        ``(fh, fw)``.
    hidden_layer_sizes : int or sequence, default=(64,)
        Dense layers after flattening: ints or ``(size, activation)`` pairs.
    activation : str, default='relu'
        Activation of the conv layers and the int dense layers.
    padding : {'same', 'valid'} or int, default='same'
        Zero padding of every convolution.
    stride : int, default=1
        Stride of every convolution.
    pooling : {'max', 'avg'} or None, default='max'
        Pooling after each convolution.
    pool_size : int, default=2
        Window (and stride) of the pooling. An axis of length 1 is not pooled.
    image_shape : (h, w) or (h, w, c), default=None
        How 2-D rows are read as images. None: a square feature count ``h * h``
        is an ``h x h`` grayscale image; any other count ``d`` a ``1 x d`` strip
        (with a warning). 3-D ``(n, h, w)`` and 4-D ``(n, h, w, c)`` input are
        images as they are.
    batch_norm : bool, default=False
        Batch normalisation after every convolution, before its activation:
        ``a = g(BN(conv(x)))`` (:class:`~sknnedu.nn.normalization.BatchNorm` over the batch's
        images and positions in training, the running statistics at prediction).
    global_pooling : {'avg', 'max'} or None, default=None
        Pool each channel of the last feature map over all its positions (global average
        or max pooling) before the dense head, in place of flattening it: the head then
        reads one number per channel, whatever the image size.
    solver, alpha, batch_size, learning_rate, learning_rate_init, power_t, \
max_iter, shuffle, random_state, tol, verbose, warm_start, momentum, \
nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, \
epsilon, n_iter_no_change, max_fun, init, class_weight, dropout, rho, \
negative_slope
        As in :class:`~sknnedu.NNClassifier`, with defaults measured for images
        (``batch_size=64``, ``learning_rate_init=0.003``, ``max_iter=100``: on the
        digits these beat MLPClassifier's; see ``benchmarks/bench_digits.py``);
        ``dropout`` applies to the dense hidden layers.

    Attributes
    ----------
    conv_kernels_ : list of ndarray
        ``conv_kernels_[i]`` of shape ``(n_filters, fh, fw, c_in)``, the layout of
        :func:`sknnedu.conv2d` (``ConvFeatureTransformer(filters=...)`` takes it).
    conv_intercepts_ : list of ndarray
        ``conv_intercepts_[i]`` of shape ``(n_filters,)``.
    coefs_, intercepts_ : lists of ndarray
        The dense part; ``coefs_[0]`` reads the last feature maps flattened in C
        order of ``(h, w, c)``.
    image_shape_ : tuple (h, w, c)
        The resolved input geometry.
    input_scale_ : ndarray of shape (c,)
        Root mean square of each channel over the training images: the network
        sees ``X / input_scale_``, so raw 0-255 pixels and [0, 1] pixels train
        alike (set by the first ``fit`` or ``partial_fit``; 0 stays 0, the value
        of the zero padding).
    feature_map_shapes_ : list of tuple
        ``(h, w, c)`` after each conv + pooling layer.
    conv_activations_ : list of str
    hidden_activations_ : list of str
    classes_, loss_, loss_curve_, best_loss_, validation_scores_, \
validation_loss_curve_, best_validation_score_, gradient_norms_, n_iter_, t_, \
n_outputs_, out_activation_, n_features_in_
        As in :class:`~sknnedu.NNClassifier`; ``gradient_norms_`` lists the conv
        layers first; ``n_features_in_`` is ``h * w * c``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknnedu import CNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> cnn = CNNClassifier(((4, 3),), (16,), max_iter=5, random_state=0).fit(X[:300] / 16,
    ...                                                                     y[:300])
    >>> cnn.conv_kernels_[0].shape
    (4, 3, 3, 1)
    >>> cnn.predict(X[:3] / 16).shape
    (3,)
    """

    def __init__(
        self,
        conv_layers=((32, 3), (32, 3)),
        hidden_layer_sizes=(64,),
        activation="relu",
        *,
        padding="same",
        stride=1,
        pooling="max",
        pool_size=2,
        image_shape=None,
        batch_norm=False,
        global_pooling=None,
        solver="adam",
        alpha=0.0001,
        batch_size=64,
        learning_rate="constant",
        learning_rate_init=0.003,
        power_t=0.5,
        max_iter=100,
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
        self.conv_layers = conv_layers
        self.padding = padding
        self.stride = stride
        self.pooling = pooling
        self.pool_size = pool_size
        self.image_shape = image_shape
        self.global_pooling = global_pooling
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, init=init, class_weight=class_weight, dropout=dropout, rho=rho,
            negative_slope=negative_slope, batch_norm=batch_norm)


class CNNRegressor(_ConvBody, NNRegressor):
    """Convolutional neural network regressor (image to value or vector), backprop in numpy.

    The conv body of :class:`CNNClassifier` (its layers, input geometry, input scale
    and defaults measured for images) with the output and losses of
    :class:`~sknnedu.NNRegressor`::

        z = conv2d(a_prev, K) + b,  a = pool(g(z))          each conv layer
        z[l] = a[l-1] W[l] + b[l],  a[l] = g[l](z[l])       each dense layer

    with ``g[L]`` the identity (``exp`` for ``loss='poisson'``), minimising the loss
    plus ``alpha / 2`` times the squared weights (kernels and dense weights), both
    divided by the total sample weight. With residuals ``r = a[L] - y``, the losses
    per sample, summed over the outputs, are ``r**2 / 2`` (``'squared_error'``),
    ``|r|`` (``'absolute_error'``), Huber's (``r**2 / 2`` for ``|r| <= d``, else
    ``d (|r| - d / 2)``, ``d = huber_delta``) and Poisson's deviance (see
    :class:`~sknnedu.NNRegressor`). ``y`` is used as it is given (not rescaled); the
    images are divided by their root mean square, as :class:`CNNClassifier` does.

    Parameters
    ----------
    conv_layers : sequence, default=((32, 3), (32, 3))
        One entry per convolution layer: ``(n_filters, kernel_size)`` or
        ``(n_filters, kernel_size, activation)``, ``kernel_size`` an int or
        ``(fh, fw)``.
    hidden_layer_sizes : int or sequence, default=(64,)
        Dense layers after flattening: ints or ``(size, activation)`` pairs.
    activation : str, default='relu'
        Activation of the conv layers and the int dense layers.
    loss : {'squared_error', 'poisson', 'absolute_error', 'huber'}, \
default='squared_error'
        The loss minimised, as in :class:`~sknnedu.NNRegressor`. ``'poisson'`` needs
        ``y >= 0`` and predicts ``exp(z)``.
    padding, stride, pooling, pool_size, image_shape, batch_norm, global_pooling
        As in :class:`CNNClassifier`: ``'same'`` padding, stride 1, max pooling of
        2 x 2, rows read as square grayscale images, no batch normalisation and the last
        feature map flattened, by default.
    solver, alpha, batch_size, learning_rate, learning_rate_init, power_t, \
max_iter, shuffle, random_state, tol, verbose, warm_start, momentum, \
nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, \
epsilon, n_iter_no_change, max_fun, init, dropout, rho, negative_slope
        As in :class:`CNNClassifier` (``batch_size=64``, ``learning_rate_init=0.003``,
        ``max_iter=100``, ``init='auto'``); early stopping scores the held-out R^2.
    huber_delta : float, default=1.0
        Threshold d of ``loss='huber'``: residuals beyond it count linearly.

    Attributes
    ----------
    conv_kernels_ : list of ndarray
        ``conv_kernels_[i]`` of shape ``(n_filters, fh, fw, c_in)``.
    conv_intercepts_ : list of ndarray
        ``conv_intercepts_[i]`` of shape ``(n_filters,)``.
    coefs_, intercepts_ : lists of ndarray
        The dense part; ``coefs_[-1]`` of shape ``(n[L-1], n_outputs_)``.
    image_shape_ : tuple (h, w, c)
        The resolved input geometry.
    input_scale_ : ndarray of shape (c,)
        Root mean square of each channel over the training images; the network
        sees ``X / input_scale_``.
    feature_map_shapes_ : list of tuple
        ``(h, w, c)`` after each conv + pooling layer.
    conv_activations_ : list of str
    hidden_activations_ : list of str
    out_activation_ : str
        ``'identity'``, or ``'exp'`` for ``loss='poisson'``.
    loss_, loss_curve_, best_loss_, validation_scores_, validation_loss_curve_, \
best_validation_score_, gradient_norms_, n_iter_, t_, n_layers_, n_outputs_, \
n_features_in_
        As in :class:`~sknnedu.NNRegressor`; ``gradient_norms_`` lists the conv layers
        first; ``n_features_in_`` is ``h * w * c``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknnedu import CNNRegressor
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> y = X.sum(axis=1)                         # each image's total ink
    >>> reg = CNNRegressor(((4, 3),), (16,), pooling="avg", learning_rate_init=0.01,
    ...                    max_iter=60, random_state=0).fit(X[:300], y[:300])
    >>> reg.score(X[300:500], y[300:500]) > 0.9   # R^2 on unseen digits
    True
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    def __init__(
        self,
        conv_layers=((32, 3), (32, 3)),
        hidden_layer_sizes=(64,),
        activation="relu",
        *,
        loss="squared_error",
        padding="same",
        stride=1,
        pooling="max",
        pool_size=2,
        image_shape=None,
        batch_norm=False,
        global_pooling=None,
        solver="adam",
        alpha=0.0001,
        batch_size=64,
        learning_rate="constant",
        learning_rate_init=0.003,
        power_t=0.5,
        max_iter=100,
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
        dropout=0.0,
        rho=0.9,
        negative_slope=0.01,
        huber_delta=1.0,
    ):
        self.conv_layers = conv_layers
        self.padding = padding
        self.stride = stride
        self.pooling = pooling
        self.pool_size = pool_size
        self.image_shape = image_shape
        self.global_pooling = global_pooling
        super().__init__(
            loss, hidden_layer_sizes, activation, solver=solver, alpha=alpha,
            batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, init=init, dropout=dropout, rho=rho,
            negative_slope=negative_slope, batch_norm=batch_norm, huber_delta=huber_delta)
