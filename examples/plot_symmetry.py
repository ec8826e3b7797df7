"""
Symmetry: why the weights must not start equal
==============================================

Why the weights must not all start at the same value.

If every weight of a layer starts equal (``init='zeros'``), every hidden unit
computes the same ``a[1]_j = g(sum_i x_i W[i, j] + b_j)``, receives the same
gradient, takes the same step, and so stays equal to the others for ever: the
8 units below act as one. Random initialisation breaks the tie, and the units
learn different features of the digits.

A sigmoid layer is used so the zero-initialised units do move (with tanh or
ReLU, ``g(0) = 0`` and they would also stay exactly zero). Each small image is
one hidden unit's 64 incoming weights as the 8x8 digit they look for.

Writes ``symmetry.png``::

    python examples/plot_symmetry.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sknnedu import NNClassifier
from sknnedu.plotting import plot_hidden_units

# %%
# The code
# --------
# The same 64-8-10 sigmoid :class:`sknnedu.NNClassifier` is trained twice, from
# ``init='zeros'`` and from ``init='glorot'`` (:mod:`sknnedu.nn.initializers`);
# :func:`sknnedu.plotting.plot_hidden_units` draws each hidden unit's column of
# ``coefs_[0]`` as an 8x8 image.

def main(out_dir: str | Path | None = None) -> dict:
    """Train the same network from zeros and from random weights, compare the hidden units."""
    out = Path(out_dir or os.environ.get("SKNNEDU_EXAMPLES_OUT") or ".")
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0

    nets = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for init in ("zeros", "glorot"):
            nets[f"init='{init}'"] = NNClassifier(
                hidden_layer_sizes=(8,), activation="sigmoid", init=init,
                learning_rate_init=0.01, max_iter=30, random_state=0,
            ).fit(X, y)

    fig = plot_hidden_units(nets, image_shape=(8, 8))
    fig.suptitle("Weights into each of the 8 hidden units (red > 0, blue < 0)")
    png = out / "symmetry.png"
    fig.savefig(png, dpi=90)
    plt.close(fig)

    spread, identical, accuracy = {}, {}, {}
    for label, net in nets.items():
        W, b = net.coefs_[0], net.intercepts_[0]
        # how far apart two units' weights on the same input are; 0 when all are equal
        spread[label] = float(np.ptp(W, axis=1).max())
        identical[label] = bool((W == W[:, :1]).all() and (b == b[0]).all())
        accuracy[label] = float(net.score(X, y))
        print(f"{label:15s} all hidden units identical: {identical[label]!s:5s} "
              f"(largest weight spread across units {spread[label]:.3g}, "
              f"largest |W| {np.abs(W).max():.3g}), training accuracy {accuracy[label]:.3f}")
    print("wrote", png)
    return {"pngs": [png], "spread": spread, "identical": identical, "accuracy": accuracy}


# %%
# Run it
# ------
# As a script, the folder to write to is the first argument. The site's build ran
# the same call: below is the picture it wrote and what it printed.

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)

# %%
# What to see
# -----------
# The top row, started from zeros, shows eight copies of one picture: the units
# moved, but together, so the layer is worth one unit, and the training accuracy
# shows it. The bottom row, started at random, shows eight different strokes.
# The :doc:`initialisation page </user_guide/initialisation>` has the argument.
