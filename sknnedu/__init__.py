"""sknnedu: scikit-learn compatible neural networks written from scratch in numpy.

The pure-numpy core (no scikit-learn inside): :mod:`sknnedu.activations`,
:mod:`sknnedu.initializers`, :mod:`sknnedu.losses`, :mod:`sknnedu.optimizers`,
:mod:`sknnedu.network`. The estimators on top: :class:`NNClassifier`.
"""

from .activations import ACTIVATIONS, DERIVATIVES, activation, activation_derivative
from .gradcheck import gradient_check
from .neural_network import NNClassifier

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "DERIVATIVES",
    "NNClassifier",
    "activation",
    "activation_derivative",
    "gradient_check",
]
