"""
Optimisers: SGD, momentum, RMSProp and Adam
===========================================

Plain gradient descent, momentum, RMSProp and Adam on the same problem.

All four start from the same weights of a 64-32-10 ReLU network on the digits
and see the same minibatches; only the update rule differs::

    sgd        W -= eta dW
    momentum   v = mu v - eta dW;                    W += v
    rmsprop    s = rho s + (1 - rho) dW**2;          W -= eta dW / (sqrt(s) + eps)
    adam       m, s as momentum and rmsprop, bias-corrected; W -= eta m / (sqrt(s) + eps)

Momentum averages out the zig-zag of successive steps, and RMSProp/Adam give
every weight its own step size, so all three get far below plain SGD in the same
number of epochs (the notes' answer to plateaus and saddle points).

Writes ``optimizers.png``::

    python examples/plot_optimizers.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from sknnedu import NNClassifier
from sknnedu.plotting import plot_loss_curves

SOLVERS = {  # label -> parameters of NNClassifier
    "sgd (eta=0.01)": dict(solver="sgd", momentum=0.0, learning_rate_init=0.01),
    "sgd + momentum 0.9 (eta=0.01)": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False,
                                          learning_rate_init=0.01),
    "rmsprop (eta=0.001)": dict(solver="rmsprop", learning_rate_init=0.001),
    "adam (eta=0.001)": dict(solver="adam", learning_rate_init=0.001),
}


# %%
# The code
# --------
# The four runs differ only in ``solver`` and its parameters; the update rules
# are the classes of :mod:`sknnedu.nn.optimizers` (``SGD``, ``RMSProp``, ``Adam``).
# :func:`sknnedu.plotting.plot_loss_curves` draws each fitted network's
# ``loss_curve_``, on a log scale.

def main(out_dir: str | Path | None = None) -> dict:
    """Train with each optimiser, draw the loss curves, return the final losses."""
    out = Path(out_dir or os.environ.get("SKNNEDU_EXAMPLES_OUT") or ".")
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0

    nets = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for label, params in SOLVERS.items():
            nets[label] = NNClassifier(
                hidden_layer_sizes=(32,), batch_size=64, max_iter=40, tol=0.0,
                n_iter_no_change=40, random_state=0, **params,
            ).fit(X, y)

    fig = plot_loss_curves(nets, log=True, title="Digits, 64-32-10 ReLU network, batch 64")
    png = out / "optimizers.png"
    fig.savefig(png, dpi=90)
    plt.close(fig)

    final_loss = {label: float(net.loss_curve_[-1]) for label, net in nets.items()}
    for label, net in nets.items():
        print(f"{label:30s} loss after 1 epoch {net.loss_curve_[0]:.3f}, after "
              f"{net.n_iter_} {final_loss[label]:.3f}, training accuracy {net.score(X, y):.3f}")
    print("wrote", png)
    return {"pngs": [png], "final_loss": final_loss}


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
# Plain SGD with ``eta = 0.01`` creeps down; momentum, RMSProp and Adam all end
# several times lower after the same 40 epochs. The
# :doc:`optimisers page </user_guide/optimizers>` derives each update.
