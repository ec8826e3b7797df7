"""The models the commands fit: the conv pipeline and a CNNClassifier."""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import Pipeline

from ..cnn import CNNClassifier
from ..feature_extraction import DEFAULT_FILTERS, ConvFeatureTransformer
from ..filters import filter_bank
from ..neural_network import NNClassifier

#: The notes' activations, compared by ``demo`` and searched by ``train --search``.
NOTES_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leakyrelu")
#: MLPClassifier's names for the same (it has no leaky ReLU).
MLP_ACTIVATIONS = ("logistic", "tanh", "relu")
#: Names of the kernels of :func:`conv_filters`, in order.
FILTER_NAMES = DEFAULT_FILTERS
#: ``train --model``: what each choice fits.
MODELS = {
    "conv": "ConvFeatureTransformer (fixed named filters) -> NNClassifier",
    "cnn": "CNNClassifier (convolutions learned end to end)",
}


def conv_filters() -> np.ndarray:
    """The kernels of :func:`conv_pipeline`: the ``'edges'`` bank and the centre pixel.

    Returns
    -------
    kernels : ndarray of shape (6, 3, 3)
        ``sobel_x, sobel_y, sobel_diag, sobel_antidiag, laplacian`` (see
        :data:`sknnedu.filters.FILTERS`) and a kernel with a single 1 in the
        middle, which passes the image through (summed over the channels).
        2-D kernels are shared across the channels of colour images.
    """
    return filter_bank(FILTER_NAMES)


def conv_pipeline(
    image_shape: tuple[int, ...],
    *,
    hidden_layer_sizes: tuple = (128,),
    activation: str = "relu",
    max_iter: int = 200,
    random_state: int | None = 0,
) -> Pipeline:
    """The pipeline of ``sknnedu demo`` and ``sknnedu train``.

    ``ConvFeatureTransformer(pool_stride=None)``, its defaults (the kernels
    :data:`FILTER_NAMES`, ``|z|``, 2x2 average pooling, standardised features)
    with non-overlapping pooling windows, and an :class:`~sknnedu.NNClassifier`:
    on the digits an image of 8x8 pixels becomes ``4 * 4 * 6 = 96`` features.
    Standardising keeps the network's inputs near unit scale, which the summed
    responses of colour images (up to ``4 c`` for a Sobel kernel) are not.

    Parameters
    ----------
    image_shape : (h, w) or (h, w, c)
        Shape of one image; rows of ``X`` are images flattened channels-last.
    hidden_layer_sizes : tuple, default=(128,)
        Hidden layers of the network.
    activation : str, default='relu'
        Activation of the hidden layers.
    max_iter : int, default=200
        Epochs of adam.
    random_state : int or None, default=0
        Seed of the network's initialisation and shuffling.

    Returns
    -------
    pipeline : Pipeline
        Steps ``'conv'`` and ``'nn'``, unfitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sknnedu.cli import conv_pipeline
    >>> pipe = conv_pipeline((8, 8))
    >>> pipe["conv"].fit(np.zeros((2, 64))).output_shape_
    (4, 4, 6)
    """
    return Pipeline([
        ("conv", ConvFeatureTransformer(image_shape=tuple(image_shape), pool_stride=None)),
        ("nn", NNClassifier(hidden_layer_sizes, activation, max_iter=max_iter,
                            random_state=random_state)),
    ])


def training_model(kind: str, image_shape: tuple[int, ...], n_train: int):
    """The unfitted model ``train --model kind`` fits, and the prefix of its parameters.

    A CNNClassifier's batches are made no larger than ``n_train``, the smallest
    training set it will see (a cross-validation fold), so that no fit warns
    that its batch_size was cut to the samples.
    """
    if kind == "cnn":
        batch_size = min(CNNClassifier().batch_size, n_train)
        return CNNClassifier(image_shape=image_shape, batch_size=batch_size, random_state=0), ""
    return conv_pipeline(image_shape), "nn__"


def values_per_image(kind: str, h: int, w: int) -> str:
    """What an h x w image costs the model ``train --model kind`` fits, in words."""
    if kind == "cnn":
        n_filters = CNNClassifier().conv_layers[0][0]
        return (f"the CNN's first convolution would compute {h * w * n_filters:,} values "
                "per image")
    # 'same' padding keeps h x w; 2x2 pooling without overlap rounds up
    n = len(FILTER_NAMES) * (-(-h // 2)) * (-(-w // 2))
    return f"ConvFeatureTransformer would give each image {n:,} features"
