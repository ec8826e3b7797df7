"""sknnedu: scikit-learn compatible neural networks written from scratch in numpy.

Two layers you can see in the tree:

- :mod:`sknnedu.nn`, the pure-numpy core, which imports nothing from scikit-learn:
  activations, initializers, losses, optimizers, layers, convolution and pooling,
  conv layers, recurrent layers and the network, in that reading order;
- the scikit-learn estimators on top (:class:`NNClassifier`, :class:`NNRegressor`,
  :class:`CNNClassifier`, :class:`CNNRegressor`, :class:`ConvFeatureTransformer`, ...),
  trained by one loop, :mod:`sknnedu.engine`, with the data sets, persistence, plotting
  and the CLI beside them.

The names below are loaded lazily (a module ``__getattr__``, PEP 562), so that
``import sknnedu.nn`` works on a machine without scikit-learn.
"""

from __future__ import annotations

import importlib

from . import _moved

_moved.install()  # the module paths of 0.1 that moved: a FutureWarning, then the new module

__version__ = "0.2.0"

#: public name -> the module (relative to this package) that defines it
_LAZY = {
    "ACTIVATIONS": ".nn.activations",
    "DERIVATIVES": ".nn.activations",
    "activation": ".nn.activations",
    "activation_derivative": ".nn.activations",
    "avg_pool2d": ".nn.conv",
    "conv2d": ".nn.conv",
    "conv_pool2d": ".nn.conv",
    "max_pool2d": ".nn.conv",
    "pad2d": ".nn.conv",
    "FILTERS": ".filters",
    "filter_bank": ".filters",
    "CNNClassifier": ".cnn",
    "CNNRegressor": ".cnn",
    "ConvFeatureTransformer": ".feature_extraction",
    "gradient_check": ".gradcheck",
    "NNClassifier": ".neural_network",
    "NNRegressor": ".neural_network",
    "RNNClassifier": ".rnn",
    "RNNRegressor": ".rnn",
    "SequenceCNNClassifier": ".sequence_cnn",
    "SequenceCNNRegressor": ".sequence_cnn",
    "TransformerClassifier": ".transformer",
    "TransformerRegressor": ".transformer",
    "TextSequencer": ".text",
    "TrainingDivergedError": "._training_state",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    """Import the module that defines ``name`` on first use (PEP 562)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
