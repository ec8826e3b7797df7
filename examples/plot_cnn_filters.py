"""
What a convolutional network's first layer learns
=================================================

The notes' filters (``sobel_x``, ``laplacian``, ...) were designed by hand. A
:class:`~sknnedu.CNNClassifier` learns its own: trained end to end on the digits,
backpropagation reaches every weight of its first convolution layer through the
pooling and the second convolution (``dK = sum over positions of patch^T dz``).

This example trains the default CNN on 75% of the digits, reports its hold-out
accuracy, draws the 32 learned 3x3 kernels beside the notes' hand-made ones, and
shows the cat (``skimage.data.chelsea()``, in gray) through both banks: the
learned kernels are :func:`sknnedu.nn.conv.conv2d` kernels like any other
(``cnn.conv_kernels_[0]`` has the layout ``(k, fh, fw, c)``), so they go straight
into ``conv2d`` or a :class:`~sknnedu.ConvFeatureTransformer`.

Writes ``cnn_filters.png`` and ``cnn_cat.png``::

    python examples/plot_cnn_filters.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from skimage.color import rgb2gray
from skimage.data import chelsea
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from sknnedu import CNNClassifier
from sknnedu.filters import FILTERS
from sknnedu.nn.conv import conv2d
from sknnedu.plotting import plot_feature_maps, plot_filters

HAND_MADE = ["sobel_x", "sobel_y", "laplacian", "sharpen", "gaussian_blur", "emboss"]


# %%
# The code
# --------
# ``CNNClassifier()`` at its defaults: two convolution layers (32 filters each
# of 3x3, ReLU, 2x2 max pooling) and a dense layer of 64 units. The fitted
# ``conv_kernels_[0]`` are 32 kernels of shape ``(3, 3, 1)``.

def main(out_dir: str | Path | None = None) -> dict:
    """Train the CNN on digits, draw its first-layer kernels and the cat through them."""
    out = Path(out_dir or os.environ.get("SKNNEDU_EXAMPLES_OUT") or ".")
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        (X / 16).astype(np.float32), y, test_size=0.25, stratify=y, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cnn = CNNClassifier(random_state=0).fit(X_train, y_train)
    accuracy = cnn.score(X_test, y_test)
    learned = cnn.conv_kernels_[0]  # (32, 3, 3, 1)

    fig = plt.figure(figsize=(12, 7))
    left, right = fig.subfigures(1, 2, width_ratios=[2, 1.2])
    plot_filters(learned[..., 0], [f"learned {i}" for i in range(len(learned))],
                 annotate=False, ncols=8, fig=left)
    left.suptitle(f"CNNClassifier's first layer, learned on digits "
                  f"(hold-out accuracy {accuracy:.3f})")
    plot_filters({name: FILTERS[name] for name in HAND_MADE}, ncols=2, fig=right)
    right.suptitle("the notes' hand-made kernels")
    filters_png = out / "cnn_filters.png"
    fig.savefig(filters_png, dpi=80)
    plt.close(fig)

    # how "edge-like" the learned kernels are: a kernel whose weights sum to ~0
    # ignores flat regions and answers to changes, as sobel and laplacian do
    balance = np.abs(learned.sum(axis=(1, 2, 3))) / np.abs(learned).sum(axis=(1, 2, 3))
    edgy = np.argsort(balance)[:8]

    cat = rgb2gray(chelsea())[None, :, :, None]  # (1, 300, 451, 1), gray in [0, 1]
    through_learned = conv2d(cat, learned, padding="same")[0]  # (300, 451, 16)
    hand = np.stack([FILTERS[name] for name in HAND_MADE])  # (6, 3, 3)
    through_hand = conv2d(cat, hand, padding="same")[0]
    panels = {"chelsea (gray)": cat[0, :, :, 0]}
    panels.update({f"learned {i}": through_learned[..., i] for i in edgy})
    panels.update({name: through_hand[..., i] for i, name in enumerate(HAND_MADE[:3])})
    fig = plot_feature_maps(panels, robust=True, ncols=4)
    fig.suptitle("The cat through the 8 most edge-like learned kernels and 3 of the notes'")
    cat_png = out / "cnn_cat.png"
    fig.savefig(cat_png, dpi=70)
    plt.close(fig)

    print(f"CNNClassifier on digits: hold-out accuracy {accuracy:.4f} after "
          f"{cnn.n_iter_} epochs")
    print(f"learned kernels {learned.shape}; {int((balance < 0.3).sum())} of {len(learned)} "
          "nearly sum to zero (edge or line detectors)")
    print("wrote", filters_png, cat_png)
    return {"pngs": [filters_png, cat_png], "accuracy": float(accuracy),
            "kernels_shape": learned.shape, "cat_maps_shape": through_learned.shape}


# %%
# Run it
# ------
# As a script, the folder to write to is the first argument.

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)

# %%
# What to see
# -----------
# Nobody told the network about edges, yet several learned kernels look like the
# notes' ``sobel`` or ``laplacian``: positive weights on one side, negative on the
# other, summing to about zero. On the cat they light up on the whiskers and the
# window frame as the hand-made ones do. Others are blob or line detectors that
# digits need (the loop of a 6, the stroke of a 1). The :doc:`CNN page
# </user_guide/cnn>` has the backward pass through convolution and pooling.
