"""
A very deep network four ways: plain, He, batch norm, residual
==============================================================

The notes' very deep network (L = 10, here 10 hidden layers), trained on the digits
four ways, to see the three answers to its vanishing gradients side by side.

Backpropagation multiplies the gradient, once per layer, by ``W[l]^T`` and ``g'``::

    dz[l-1] = (dz[l] W[l]^T) * g'(z[l-1])

With the notes' small random weights (``W ~ N(0, 0.01^2)``) each factor is about
``0.01 sqrt(32 / 2) = 0.04`` for 32 ReLU units, and ten of them leave the first
layer a gradient some 10^-14 of the last one's: the plain network does not learn.

* **He initialisation** (``Var W = 2 / n[l-1]``) makes each factor about 1 at the
  start; the network learns, as long as training keeps the scales near there.
* **Batch normalisation** re-standardises each layer's ``z`` over the batch,
  ``z_hat = (z - mu) / sigma``, then ``a = g(gamma z_hat + beta)``. Multiply ``W`` by
  ``c`` and ``mu`` and ``sigma`` are multiplied by ``c`` too: the output, and the
  gradient that reaches the layer below, do not depend on the scale of ``W``. The same
  tiny weights now train.
* **Residual connections** add each block's input back, ``a = g(F(x) + x)``. The
  gradient reaches ``x`` along the identity as well as through ``F``, so with the same
  tiny weights (``F(x)`` about 0, each block about the identity) it arrives at the first
  layer undiminished.

Each network is built from the numpy core (:mod:`sknnedu.nn`) and trained by a loop
of a few lines: 10 hidden layers of 32 ReLU units and a softmax output, Adam
(``eta = 0.002``), 12 epochs on 1,347 digits; the other 450 are held out. Adam divides
each step by the gradient's running size, but it cannot rescue the plain network: its
gradients (about 10^-15) are far below Adam's ``epsilon = 10^-8``, and its output,
after ten products by tiny weights, is the same for every digit.

Writes ``deep_network.png``::

    python examples/plot_deep_network.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknnedu.nn.initializers import he, normal
from sknnedu.nn.layers import Activation, Dense
from sknnedu.nn.network import Network
from sknnedu.nn.normalization import BatchNorm, init_norm, init_running
from sknnedu.nn.optimizers import Adam
from sknnedu.nn.residual import Fork, Join

HIDDEN, WIDTH = 10, 32
EPOCHS, BATCH = 12, 64

# %%
# The four networks
# -----------------
# Each function returns the list of layers and the indices of its dense layers (whose
# ``||dW[l]||`` is drawn). ``Dense(W, b, 'identity')`` then ``BatchNorm`` then
# ``Activation('relu')`` is a batch-normalised layer; ``Fork()``, a dense layer,
# ``Join(fork, 'relu')`` is a residual block ``a = relu(x W + b + x)``.


def plain(n_in: int, n_out: int, rng, init=normal) -> list:
    units = [n_in] + [WIDTH] * HIDDEN
    layers = [Dense(*init(a, b, rng), "relu") for a, b in zip(units[:-1], units[1:])]
    return layers + [Dense(*init(WIDTH, n_out, rng), "identity")]


def he_init(n_in: int, n_out: int, rng) -> list:
    return plain(n_in, n_out, rng, init=he)


def batch_norm(n_in: int, n_out: int, rng) -> list:
    layers, units = [], [n_in] + [WIDTH] * HIDDEN
    for a, b in zip(units[:-1], units[1:]):
        layers += [Dense(*normal(a, b, rng), "identity"),
                   BatchNorm(*init_norm(b, np.float64), *init_running(b, np.float64)),
                   Activation("relu")]
    return layers + [Dense(*normal(WIDTH, n_out, rng), "identity")]


def residual(n_in: int, n_out: int, rng) -> list:
    layers = [Dense(*normal(n_in, WIDTH, rng), "relu")]     # 64 -> 32: no skip here
    for _ in range(HIDDEN - 1):
        fork = Fork()
        layers += [fork, Dense(*normal(WIDTH, WIDTH, rng), "identity"), Join(fork, "relu")]
    return layers + [Dense(*normal(WIDTH, n_out, rng), "identity")]


NETWORKS = {"plain, N(0, 0.01^2)": plain, "He init": he_init,
            "batch norm, N(0, 0.01^2)": batch_norm, "residual, N(0, 0.01^2)": residual}


# %%
# The training loop
# -----------------
# ``Network.loss_grad`` runs one forward and one backward pass and fills every layer's
# gradients; the optimiser steps all parameters in place. Before the first step, each
# dense layer's ``||dW[l]||`` on the first batch is recorded.

def train(layers: list, X, Y, rng) -> dict:
    net = Network(layers, "log_loss")
    dense = [layer for layer in layers if isinstance(layer, Dense)]
    opt = Adam(net.params, learning_rate_init=0.002)
    n = X.shape[0]
    net.loss_grad(X[:BATCH], Y[:BATCH])
    first = [float(np.linalg.norm(layer.grads[0])) for layer in dense]
    losses = []
    for _ in range(EPOCHS):
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, BATCH):
            rows = order[start:start + BATCH]
            total += net.loss_grad(X[rows], Y[rows]) * len(rows)
            opt.update_params(net.params, net.grads, net.grad_vector)
        losses.append(total / n)
    return {"net": net, "first_grads": first, "losses": losses}


def main(out_dir: str | Path | None = None) -> dict:
    """Train the four deep networks, draw their gradient norms and losses."""
    out = Path(out_dir or os.environ.get("SKNNEDU_EXAMPLES_OUT") or ".")
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, random_state=0)
    Y_train = np.eye(10)[y_train]

    runs = {}
    for label, build in NETWORKS.items():
        rng = np.random.RandomState(0)
        runs[label] = train(build(64, 10, rng), X_train, Y_train, rng)
        P = runs[label]["net"].predict(X_test)            # batch norm: running statistics
        runs[label]["accuracy"] = float(np.mean(P.argmax(axis=1) == y_test))

    fig, axes = plt.subplots(1, 3, figsize=(17, 5), layout="constrained")
    ax = axes[0]
    for label, run in runs.items():
        ax.semilogy(range(1, HIDDEN + 2), run["first_grads"], "o-", label=label)
    ax.set_xlabel("layer l (11 = output)")
    ax.set_ylabel("||dJ/dW[l]||")
    ax.set_title("Gradient per layer before training (first batch)")
    ax.legend()
    ax = axes[1]
    for label, run in runs.items():
        ax.plot(range(1, EPOCHS + 1), run["losses"], "o-", label=label)
    ax.axhline(np.log(10), color="k", lw=0.8, ls="--")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean training loss")
    ax.set_title("Training loss (ln 10 = 2.30: guessing)")
    ax = axes[2]
    labels = list(runs)
    acc = [runs[label]["accuracy"] for label in labels]
    ax.barh(range(len(labels)), acc, color=[f"C{i}" for i in range(len(labels))])
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    for i, a in enumerate(acc):
        ax.text(a + 0.01, i, f"{a:.3f}", va="center")
    ax.set_xlabel("accuracy on 450 held-out digits")
    ax.set_title(f"After {EPOCHS} epochs")
    png = out / "deep_network.png"
    fig.savefig(png, dpi=90)
    plt.close(fig)

    print("||dJ/dW[l]|| on the first batch, layer 1 .. 11:")
    for label, run in runs.items():
        print(f"  {label:25s} " + " ".join(f"{v:7.1e}" for v in run["first_grads"]))
    for label, run in runs.items():
        print(f"  {label:25s} final loss {run['losses'][-1]:.3f}, "
              f"held-out accuracy {run['accuracy']:.3f}")
    print("wrote", png)
    return {"pngs": [png],
            "first_grads": {label: run["first_grads"] for label, run in runs.items()},
            "accuracy": {label: run["accuracy"] for label, run in runs.items()},
            "final_loss": {label: run["losses"][-1] for label, run in runs.items()}}


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
# Left: from the tiny weights, every layer of the plain network gets a gradient near
# 10^-15. The signal vanishes both ways: forward, each layer shrinks ``a[l]`` by about
# 25, so the output no longer depends on the input; backward, each layer shrinks
# ``dz[l]`` by as much, and ``dW[l] = a[l-1]^T dz[l]`` is the product of the two. Its
# loss (middle) stays at ``ln 10``. He's weights keep every layer's gradient of one
# size, and it learns fastest here. Batch norm, from the same tiny weights as the plain
# network, gives the hidden layers gradients even larger than the output layer's: a
# layer's output no longer depends on the scale of its ``W``, so ``dW`` grows as
# ``1 / ||W||``. The residual network's gradient reaches the first layer through the
# identity paths (its hidden layers' ``dW`` are small only because their inputs are).
# Both learn from weights that stop the plain network. The
# :doc:`normalisation page </user_guide/normalisation>` derives batch norm's backward
# pass and the residual block's.
