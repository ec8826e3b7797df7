"""
Vanishing gradients in a deep network
=====================================

A deep (L = 10) network, and how ReLU with He initialisation keeps its gradients alive.

Backpropagation goes from the output layer back to the first one::

    dz[l] = (dz[l+1] W[l+1]^T) * g'(z[l]),        dJ/dW[l] = a[l-1]^T dz[l] / n

so every layer multiplies the gradient by its weights and by ``g'``. With the
sigmoid (``g' <= 1/4``) and small random weights (``init='normal'``, std 0.01)
that factor is far below 1, and the gradient of the first layer is ~1e-16
of the last one's: the early layers do not learn and the loss stays at
ln(10). Glorot's larger weights help, but the sigmoid still loses a factor at
every layer. ReLU (``g' = 1`` where the unit is on) with He initialisation
(``Var W = 2 / n[l-1]``) keeps the product near 1, so every layer learns.
Glorot's ``Var W = 2 / (n[l-1] + n[l])``, ``1 / n`` for equal widths, is half
of that: ReLU zeroes half of its inputs, so each layer halves the signal, and
the first layers' gradients come out an order of magnitude smaller than He's.
That is why ``init='he'`` (or ``'auto'``, He for the ReLU family) is the choice
for a deep ReLU stack, while the default, ``init='glorot'``, is scikit-learn's,
right for the shallow networks a drop-in MLPClassifier trains.
Too large weights would make the same product grow instead: exploding gradients.

Nine hidden layers of 32 units and a softmax output (L = 10) are trained for 10
epochs of SGD with momentum on the digits; ``gradient_norms_`` holds each
layer's mean ``||dJ/dW[l]||`` per epoch.

Writes ``vanishing_gradients.png``::

    python examples/plot_vanishing_gradients.py [OUT_DIR]
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
from sknnedu.plotting import plot_gradient_norms, plot_loss_curves

CONFIGS = {  # label -> (activation, init)
    "sigmoid, init='normal'": ("sigmoid", "normal"),
    "sigmoid, init='glorot'": ("sigmoid", "glorot"),
    "relu, init='glorot'": ("relu", "glorot"),
    "relu, init='he'": ("relu", "he"),
}


# %%
# The code
# --------
# Each :class:`sknnedu.NNClassifier` records, per epoch and per layer, the mean
# norm of its weight gradient in ``gradient_norms_``;
# :func:`sknnedu.plotting.plot_gradient_norms` draws it by layer or by epoch and
# :func:`sknnedu.plotting.plot_loss_curves` the losses.

def main(out_dir: str | Path | None = None) -> dict:
    """Train the four deep networks, draw their gradient norms, return the key numbers."""
    out = Path(out_dir or os.environ.get("SKNNEDU_EXAMPLES_OUT") or ".")
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0

    nets = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for label, (act, init) in CONFIGS.items():
            nets[label] = NNClassifier(
                hidden_layer_sizes=(32,) * 9, activation=act, init=init, solver="sgd",
                learning_rate_init=0.02, momentum=0.9, batch_size=64, alpha=0.0,
                max_iter=20, random_state=0,
            ).fit(X, y)

    fig, axes = plt.subplots(1, 3, figsize=(17, 5), layout="constrained")
    plot_gradient_norms(nets, epoch=0, ax=axes[0],
                        title="||dJ/dW[l]|| per layer, first epoch (L = 10)")
    plot_gradient_norms(nets["sigmoid, init='normal'"], by="epoch", ax=axes[1],
                        title="sigmoid, init='normal': every epoch")
    plot_loss_curves(nets, ax=axes[2], title="Training loss (ln 10 = 2.30: guessing)")
    png = out / "vanishing_gradients.png"
    fig.savefig(png, dpi=90)
    plt.close(fig)

    first_over_last, accuracy = {}, {}
    print("mean ||dJ/dW[l]|| in the first epoch, layer 1 .. layer 10:")
    for label, net in nets.items():
        norms = np.asarray(net.gradient_norms_[0])
        first_over_last[label] = float(norms[0] / norms[-1])
        accuracy[label] = float(net.score(X, y))
        print(f"  {label:22s} " + " ".join(f"{v:7.1e}" for v in norms))
    for label in nets:
        print(f"  {label:22s} first / last layer = {first_over_last[label]:.1e}, "
              f"final loss {nets[label].loss_curve_[-1]:.3f}, "
              f"training accuracy {accuracy[label]:.3f}")
    print("wrote", png)
    return {"pngs": [png], "first_over_last": first_over_last, "accuracy": accuracy}


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
# Left: with the sigmoid and tiny weights the gradient shrinks by orders of
# magnitude from the last layer to the first, so the first layers never move;
# the loss (right) stays at ``ln 10``, the loss of guessing. ReLU with He
# initialisation keeps every layer's gradient of the same size and learns.
# ReLU with Glorot's weights learns too, but its gradients are ten times
# smaller, shrink towards the input, and its loss falls more slowly. The
# :doc:`initialisation page </user_guide/initialisation>` explains the variance
# argument behind He and Glorot.
