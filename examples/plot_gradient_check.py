"""
Gradient checking
=================

Backpropagation against finite differences, every parameter of a small network.

Backpropagation is easy to get subtly wrong, so the notes check it against the
definition of the derivative, one parameter theta_i at a time::

    dJ/dtheta_i ~ (J(theta + h e_i) - J(theta - h e_i)) / (2 h)

Here every one of the parameters of a small tanh network on 30 iris flowers is
checked. A correct implementation puts every dot on the diagonal, with relative
errors around 1e-7 or below; above 1e-5 suspect a bug (a real one gives errors
near 1). tanh is used because
ReLU's kink at z = 0 makes the finite difference wrong exactly there.

Writes ``gradient_check.png``::

    python examples/plot_gradient_check.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_iris

from sknnedu import NNClassifier, gradient_check
from sknnedu.plotting import plot_gradient_check

# %%
# The code
# --------
# :func:`sknnedu.gradient_check` fits nothing: it initialises the weights of an
# unfitted :class:`sknnedu.NNClassifier` as ``fit`` would, computes the gradient
# of the loss by backpropagation and by centred differences, and returns the
# largest relative error (and, with ``return_details=True``, both gradients).
# :func:`sknnedu.plotting.plot_gradient_check` draws one against the other.

def main(out_dir: str | Path | None = None) -> dict:
    """Check every parameter, draw the scatter and the error histogram, return the numbers."""
    out = Path(out_dir or os.environ.get("SKNNEDU_EXAMPLES_OUT") or ".")
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_iris(return_X_y=True)
    rows = np.random.RandomState(0).choice(len(X), 30, replace=False)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    X, y = X[rows], y[rows]

    net = NNClassifier(hidden_layer_sizes=(6, 5), activation="tanh", init="glorot",
                       alpha=1e-2, random_state=0)
    max_error, (backprop, numeric) = gradient_check(net, X, y, return_details=True)
    rel = np.abs(backprop - numeric) / np.maximum(np.abs(backprop) + np.abs(numeric), 1e-12)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
    plot_gradient_check(backprop, numeric, ax=ax1)
    ax1.set_title(f"tanh network 4-6-5-3, {backprop.size} parameters\n"
                  f"max relative error = {max_error:.1e}")
    ax2.hist(np.log10(np.maximum(rel, 1e-16)), bins=30, color="tab:green")
    ax2.axvline(-5, color="tab:red", ls="--", label="1e-5: above this, suspect a bug")
    ax2.set_xlabel("log10 relative error per parameter")
    ax2.set_ylabel("parameters")
    ax2.set_title("|g_bp - g_fd| / (|g_bp| + |g_fd|)")
    ax2.legend()
    png = out / "gradient_check.png"
    fig.savefig(png, dpi=90)
    plt.close(fig)

    print(f"checked {backprop.size} parameters of a 4-6-5-3 tanh network on {len(X)} samples")
    print(f"max relative error {max_error:.2e}, median {np.median(rel):.2e}")
    print("backprop agrees with finite differences" if max_error < 1e-6 else
          "backprop DISAGREES with finite differences")
    print("wrote", png)
    return {"pngs": [png], "max_rel_error": max_error, "n_params": int(backprop.size)}


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
# Every dot lies on the diagonal, and the histogram sits far left of the red
# line: the backpropagated and the numerical derivative agree to about seven
# digits, as they should in float64. A bug in a backward pass (a missing
# transpose, a wrong ``g'``) would put errors near 1. The
# :doc:`gradient checking page </user_guide/gradient_checking>` says why the
# difference is centred and how the error is scaled.
