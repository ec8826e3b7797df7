"""sknnedu: scikit-learn compatible neural networks written from scratch in numpy.

The pure-numpy core (no scikit-learn inside): :mod:`sknnedu.activations`,
:mod:`sknnedu.initializers`, :mod:`sknnedu.losses`, :mod:`sknnedu.optimizers`,
:mod:`sknnedu.network`, :mod:`sknnedu.conv`, :mod:`sknnedu.filters`. The estimators on
top: :class:`NNClassifier`, :class:`NNRegressor`, :class:`CNNClassifier`,
:class:`ConvFeatureTransformer`; the networks' shared training loop is
:mod:`sknnedu.engine`, over the layers of :mod:`sknnedu.layers` and :mod:`sknnedu.conv_layers`.
"""

from .activations import ACTIVATIONS, DERIVATIVES, activation, activation_derivative
from .cnn import CNNClassifier
from .conv import avg_pool2d, conv2d, conv_pool2d, max_pool2d, pad2d
from .feature_extraction import ConvFeatureTransformer
from .filters import FILTERS, filter_bank
from .gradcheck import gradient_check
from .neural_network import NNClassifier, NNRegressor

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "DERIVATIVES",
    "FILTERS",
    "CNNClassifier",
    "ConvFeatureTransformer",
    "NNClassifier",
    "NNRegressor",
    "activation",
    "activation_derivative",
    "avg_pool2d",
    "conv2d",
    "conv_pool2d",
    "filter_bank",
    "gradient_check",
    "max_pool2d",
    "pad2d",
]
