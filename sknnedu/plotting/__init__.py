"""Pictures of the notes' ideas: activations, training curves, gradients, kernels, feature maps.

matplotlib is the optional ``plot`` extra (``pip install sknnedu[plot]``); it is
imported only when one of these functions is called, and a clear ImportError
says how to install it when it is missing.

Every function returns the :class:`matplotlib.figure.Figure` it drew on.
Functions that draw one panel take ``ax=None`` (draw into that Axes, or into a
new figure); functions that draw a grid of panels take ``fig=None`` (an empty
Figure to fill, or a new one). Nothing is shown or saved: call
``fig.savefig(path)`` or ``plt.show()``.

* :func:`plot_activations`: g(z) or g'(z) of named activations (the notes' In[4], In[5]);
* :func:`plot_loss_curves`: ``loss_curve_`` of estimators, or raw curves;
* :func:`plot_gradient_norms`: ``gradient_norms_``, ``||dJ/dW[l]||`` per layer and epoch;
* :func:`plot_gradient_check`: backpropagation against finite differences;
* :func:`plot_hidden_units`: the weights into each hidden unit (symmetry);
* :func:`plot_filters`: convolution kernels with their values;
* :func:`plot_feature_maps`: images and feature maps in a grid;
* :func:`plot_confusion_matrix`: counts of (true, predicted) label pairs;
* :func:`plot_grid_heatmap`: a grid search's score over two of its parameters.

``DEFAULT_ACTIVATIONS`` is the notes' four activations, in their order
(``('sigmoid', 'tanh', 'relu', 'leakyrelu')``): what :func:`plot_activations` draws.

The code lives in one private module per kind of picture, read in this order:
``_figure`` (the shared plumbing), ``_activations``, ``_training`` (curves and
gradients), ``_weights`` (weights, kernels, images) and ``_evaluation``
(confusion matrices, grid searches). Import from ``sknnedu.plotting``.
"""

from ._activations import DEFAULT_ACTIVATIONS, plot_activations
from ._evaluation import plot_confusion_matrix, plot_grid_heatmap
from ._training import plot_gradient_check, plot_gradient_norms, plot_loss_curves
from ._weights import plot_feature_maps, plot_filters, plot_hidden_units

__all__ = [
    "DEFAULT_ACTIVATIONS",
    "plot_activations",
    "plot_confusion_matrix",
    "plot_feature_maps",
    "plot_filters",
    "plot_gradient_check",
    "plot_gradient_norms",
    "plot_grid_heatmap",
    "plot_hidden_units",
    "plot_loss_curves",
]

# The functions belong to this public module, not to the private ones that define
# them: pickles, reprs and the API reference (autosummary lists only a module's own
# functions) all say sknnedu.plotting.plot_x, as before the split.
for _name in __all__:
    _obj = globals()[_name]
    if callable(_obj):
        _obj.__module__ = __name__
del _name, _obj
