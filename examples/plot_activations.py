"""
Activation functions and their derivatives
==========================================

The notes' In[4] and In[5]: sigmoid, tanh, ReLU and leaky ReLU, and their slopes.

Each hidden layer computes ``a[l] = g(z[l])``. Backpropagation multiplies the
gradient by ``g'(z[l])`` at every layer, so the second picture already tells
which networks will be hard to train deep: the sigmoid's slope is at most 1/4,
tanh's at most 1 (only at z = 0), and ReLU's is exactly 1 wherever the unit is on.

Writes ``activations.png`` and ``activation_derivatives.png`` (2x2 grids) to the
folder given as the first argument, or in ``$SKNNEDU_EXAMPLES_OUT``, or the
current directory::

    python examples/plot_activations.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sknnedu.nn.activations import activation_derivative
from sknnedu.plotting import DEFAULT_ACTIVATIONS, plot_activations

# %%
# The code
# --------
# :func:`sknnedu.plotting.plot_activations` draws each ``g`` of
# :data:`sknnedu.nn.activations.ACTIVATIONS` on the notes' grid of points, or its
# derivative ``g'`` with ``derivative=True``;
# :func:`sknnedu.nn.activations.activation_derivative` gives the slopes printed below.
# ``main`` saves both grids as PNG files and returns the numbers the tests check.

def main(out_dir: str | Path | None = None) -> dict:
    """Draw both grids, print the largest slope of each activation, return the numbers."""
    out = Path(out_dir or os.environ.get("SKNNEDU_EXAMPLES_OUT") or ".")
    out.mkdir(parents=True, exist_ok=True)
    z = np.arange(-3, 3, 0.01)  # the notes' points

    pngs = []
    for derivative, filename, title in [
        (False, "activations.png", "Activations g(z)  (In[4])"),
        (True, "activation_derivatives.png", "Their derivatives g'(z)  (In[5])"),
    ]:
        fig = plot_activations(DEFAULT_ACTIVATIONS, derivative=derivative, z=z)
        fig.suptitle(title)
        fig.savefig(out / filename, dpi=90)
        plt.close(fig)
        pngs.append(out / filename)

    max_slope = {name: float(activation_derivative(name, z).max()) for name in DEFAULT_ACTIVATIONS}
    print("largest slope g'(z) on [-3, 3):")
    for name, slope in max_slope.items():
        print(f"  {name:9s} {slope:.3f}")
    print(f"the g' factors of 9 sigmoid layers alone shrink a backpropagated gradient "
          f"{1 / max_slope['sigmoid'] ** 9:,.0f}-fold or more; ReLU's leave it as it is.")
    print("wrote", *pngs)
    return {"pngs": pngs, "max_slope": max_slope}


# %%
# Run it
# ------
# As a script, the folder to write to is the first argument. Here the site's build
# ran the same call; below are the two grids it wrote and what it printed.

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)

# %%
# What to see
# -----------
# The sigmoid's derivative peaks at 1/4 and tanh's at 1, both only at ``z = 0``
# and both vanish for large ``|z|``; ReLU's is exactly 1 wherever the unit is on
# and 0 elsewhere, leaky ReLU's never falls below its small slope ``gamma``. The
# :doc:`activations page of the user guide </user_guide/activations>` has the
# formulas; :doc:`/auto_examples/plot_vanishing_gradients` shows what a product of
# nine sigmoid slopes does to a deep network.
