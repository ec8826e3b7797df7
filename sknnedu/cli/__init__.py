"""The ``sknnedu`` command line (also ``python -m sknnedu``).

::

    sknnedu demo [--quick] [--out DIR] [--n-jobs N]
    sknnedu train FOLDER --out MODEL [--model conv|cnn] [--image-size H W] [--gray]
                  [--search] [--cv K] [--n-jobs N]
    sknnedu predict MODEL IMAGE...

``demo`` compares the notes' four activations on scikit-learn's 8x8 digits with
a convolutional pipeline (``ConvFeatureTransformer -> NNClassifier``), next to
plain ``MLPClassifier`` and a :class:`~sknnedu.CNNClassifier` at its defaults, and
draws the results. ``train`` fits a model on a folder of labelled images (one
subfolder per class; images in deeper subfolders belong to their class, files
that are not images are skipped with a warning that names each), prints its
cross-validated accuracy and confusion matrix, and saves it with
:func:`sknnedu.persistence.save_model`; ``predict`` reads new images the way the
training images were read and prints one line per image.

``train --model conv`` (the default) fits :func:`conv_pipeline`::

    image -> conv2d with 6 fixed 3x3 kernels (4 Sobel gradients, the Laplacian
             and the centre pixel), 'same' padding
          -> |z|                      (the sign of an edge does not matter)
          -> 2x2 average pooling      (a little translation invariance)
          -> standardised             (features of mean 0, variance 1, whatever the
                                       images' contrast and number of channels)
          -> NNClassifier(hidden_layer_sizes, activation)

The first four steps are ``ConvFeatureTransformer``'s defaults, but with
non-overlapping pooling windows (``pool_stride=None``): 4 times fewer features
for the network on large images, as accurate on the digits with 128 hidden units.
``train --model cnn`` fits a :class:`~sknnedu.CNNClassifier` at its defaults,
whose convolutions learn their filters (batches no larger than the smallest
training fold).

Expected failures (a missing path, an empty folder, a corrupt model, a model
that is not a fitted classifier, an image size too large, running out of
memory) print one line ``sknnedu: error: ...`` on stderr and exit with status 2.
``predict`` goes on past an unreadable image, as ``file`` does: one line per
image on stdout, one error line per bad one on stderr, status 2 if any failed.
When the reader of stdout goes away (``sknnedu predict ... | head -1``), the
command stops quietly with status 141, as a Unix filter stopped by SIGPIPE.

The code lives in private modules, read in this order: ``_report`` (tables,
error and warning lines), ``_model`` (what the commands fit), ``_demo``,
``_train``, ``_predict`` (one per command) and ``_main`` (the parser and
:func:`main`). Import from ``sknnedu.cli``.
"""

from . import _model
from ._main import build_parser, main
from ._model import conv_filters, conv_pipeline

__all__ = ["FILTER_NAMES", "build_parser", "conv_filters", "conv_pipeline", "main"]

#: Names of the kernels of :func:`conv_filters`, in order.
FILTER_NAMES = _model.FILTER_NAMES

# The functions belong to this public module, not to the private ones that define
# them: reprs and the API reference (autosummary lists only a module's own
# functions) say sknnedu.cli.conv_pipeline, as before the split.
for _function in (build_parser, conv_filters, conv_pipeline, main):
    _function.__module__ = __name__
del _function
