"""
Convolution filters and pooling on a cat
========================================

The notes' filters and pooling on a cat (``skimage.data.chelsea()``).

A 3x3 filter ``F`` slides over the image and at every position takes the sum of
the pixels under it times its weights (the notes' ``(M * F)[a, b]``):

* ``identity`` / ``red`` / ``green`` / ``blue`` are the notes' RGB kernels: a 1
  at the centre of the chosen channels, so they return ``r + g + b`` or one
  channel unchanged;
* ``sobel_x`` / ``sobel_y`` respond to intensity rising left-to-right /
  top-to-bottom (vertical / horizontal edges), ``laplacian`` and
  ``edge_detect`` to edges in any direction; ``sharpen``, ``gaussian_blur``
  and ``emboss`` are the photo-editor classics.

Without padding a 3x3 filter gives a (300 - 2) x (451 - 2) map. Pooling then
shrinks a map by keeping the maximum (max pool) or the mean (average pool) of
every 4x4 block: max pooling keeps every strong edge at full strength, average
pooling dilutes thin edges with their dark surroundings.

Writes ``cat_filters.png`` and the kernels, ``cat_kernels.png``::

    python examples/plot_cat_filters.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from skimage.data import chelsea

from sknnedu.filters import FILTERS, filter_bank
from sknnedu.nn.conv import avg_pool2d, conv2d, max_pool2d
from sknnedu.plotting import plot_feature_maps, plot_filters

NAMES = ["identity", "red", "green", "blue", "sobel_x", "sobel_y", "laplacian", "edge_detect",
         "sharpen", "gaussian_blur", "emboss"]
POOL = 4


# %%
# The code
# --------
# :func:`sknnedu.filters.filter_bank` stacks the named kernels of
# :data:`sknnedu.filters.FILTERS` into one ``(k, 3, 3, 3)`` bank, and a single call
# of :func:`sknnedu.nn.conv.conv2d` computes all eleven feature maps of the image at
# once. :func:`sknnedu.nn.conv.max_pool2d` and :func:`sknnedu.nn.conv.avg_pool2d`
# shrink the edge map; :func:`sknnedu.plotting.plot_feature_maps` and
# :func:`sknnedu.plotting.plot_filters` draw the maps and the kernels.

def main(out_dir: str | Path | None = None) -> dict:
    """Filter and pool the cat, draw every map, return checks of what the filters did."""
    out = Path(out_dir or os.environ.get("SKNNEDU_EXAMPLES_OUT") or ".")
    out.mkdir(parents=True, exist_ok=True)
    cat = chelsea() / 255.0  # (300, 451, 3), floats in [0, 1]

    bank = filter_bank(NAMES, n_channels=3)  # (11, 3, 3, 3): 2-D kernels shared by r, g, b
    maps = conv2d(cat[None], bank)[0]  # (298, 449, 11): the notes' (n - f + 1) x (m - f + 1)
    feature = dict(zip(NAMES, np.moveaxis(maps, -1, 0)))
    edges = np.hypot(feature["sobel_x"], feature["sobel_y"])  # gradient magnitude
    max_pooled = max_pool2d(edges[None], POOL)[0]
    avg_pooled = avg_pool2d(edges[None], POOL)[0]

    panels = {"chelsea (input)": cat, **feature, "|sobel| (edge strength)": edges,
              f"max pool {POOL}x{POOL} of |sobel|": max_pooled,
              f"avg pool {POOL}x{POOL} of |sobel|": avg_pooled}
    fig = plot_feature_maps(panels, robust=True, ncols=4)
    for ax in fig.axes[-3:]:  # one colour scale for the edge map and its two poolings
        ax.images[0].set_clim(0, np.percentile(edges, 99))
    fig.suptitle("conv2d with the notes' 3x3 filters (no padding), then pooling")
    png = out / "cat_filters.png"
    fig.savefig(png, dpi=80)
    plt.close(fig)
    fig = plot_filters({name: FILTERS[name] for name in NAMES}, ncols=4)
    fig.suptitle("The kernels (RGB ones as their R | G | B slices)")
    kernels_png = out / "cat_kernels.png"
    fig.savefig(kernels_png, dpi=80)
    plt.close(fig)

    inner = cat[1:-1, 1:-1]  # the pixels under the kernels' centres
    checks = {
        "red_is_red_channel": float(np.abs(feature["red"] - inner[..., 0]).max()),
        "identity_is_rgb_sum": float(np.abs(feature["identity"] - inner.sum(axis=-1)).max()),
        "max_pool_ge_avg_pool": bool((max_pooled >= avg_pooled - 1e-12).all()),
        "mean_abs_sobel_x": float(np.abs(feature["sobel_x"]).mean()),
        "mean_abs_sobel_y": float(np.abs(feature["sobel_y"]).mean()),
        "pooled_shape": max_pooled.shape,
    }
    print(f"cat {cat.shape} -> {len(NAMES)} feature maps {maps.shape} -> pooled "
          f"{max_pooled.shape}")
    print(f"max |conv(red) - red channel|     = {checks['red_is_red_channel']:.1e}")
    print(f"max |conv(identity) - (r + g + b)| = {checks['identity_is_rgb_sum']:.1e}")
    print(f"mean |sobel_x| {checks['mean_abs_sobel_x']:.3f}, mean |sobel_y| "
          f"{checks['mean_abs_sobel_y']:.3f}; mean of max-pooled edges {max_pooled.mean():.3f} "
          f">= avg-pooled {avg_pooled.mean():.3f}")
    print("wrote", png, kernels_png)
    return {"pngs": [png, kernels_png], **checks}


# %%
# Run it
# ------
# As a script, the folder to write to is the first argument. The site's build ran
# the same call: below are the two pictures it wrote and what it printed.

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)

# %%
# What to see
# -----------
# ``red`` is the red channel and ``identity`` the sum of the three channels, to
# the last bit (the printed errors are 0): a convolution with a one-hot kernel
# only copies. ``sobel_x`` lights up on the vertical edges (the whiskers, the
# window frame) and ``sobel_y`` on the horizontal ones. The two poolings keep a
# quarter of the rows and columns: max pooling keeps every edge at full strength,
# average pooling blurs thin edges into their dark surroundings. The
# :doc:`convolution page </user_guide/convolution>` has the formulas.
