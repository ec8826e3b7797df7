"""
A convolutional network over time series, and where it looked
=============================================================

:class:`sknnedu.SequenceCNNClassifier` is the fully convolutional network of Wang et
al. (2017) for time series: 1-D convolutions, each with batch normalisation and ReLU,
then the mean of the last layer's states over each series' steps, then one dense
output layer. Every layer is one product over all the steps of a batch (no loop over
time), and the same weights slide along the series, as a 2-D convolution's slide over
an image.

GunPoint, from the UCR archive: the horizontal position of an actor's hand, 150 steps,
while they either draw a replica gun from a hip holster and point it (class ``'1'``,
*Gun*) or point a finger (class ``'2'``, *Point*). 50 training series, 150 test series.

**Class activation map** (Zhou et al. 2016). The pooled vector is the mean of the last
convolution's states ``a[t]`` over the ``T`` steps, and the output layer is linear in it,
so the score of class ``k`` is a mean over the steps::

    z_k = (1/T) sum_t a[t] . W[:, k] + b_k   =   mean_t cam[t, k] + b_k,
    cam[t, k] = a[t] . W[:, k]

``cam[t, k]`` is what step ``t`` adds to the evidence for class ``k``: drawn along a
series, it shows which steps the network used.
:meth:`~sknnedu.nn.sequence_conv.GlobalPool.class_activation_map` computes it from the
pooling layer's last input and the output layer's weights ``coefs_[0]``. With two
classes the output is one logistic unit, evidence for ``classes_[1]``; its negative is
the evidence for ``classes_[0]``.

A smaller network than the default (32, 64 and 32 filters, where Wang et al. use 128,
256 and 128) and 150 epochs, so that it runs in seconds.

Writes ``sequence_cnn_cam.png``::

    python examples/plot_sequence_cnn_cam.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sknnedu import SequenceCNNClassifier
from sknnedu.datasets import load_ts, sktime_ts_path
from sknnedu.nn.sequence_conv import GlobalPool

NAMES = {"1": "Gun", "2": "Point"}


# %%
# The class activation map
# ------------------------
# The fitted arrays are the model: ``clf._network()`` builds its layers over them, a
# forward pass fills the pooling layer's ``last_input`` (the last convolution's states,
# ``(T, m, 32)``), and the map is one product with ``coefs_[0]`` of shape ``(32, 1)``.

def class_activation_maps(clf: SequenceCNNClassifier, X) -> tuple[np.ndarray, np.ndarray]:
    """``cam`` of shape (m, T), the evidence for ``classes_[1]`` at each step, and
    ``P(classes_[1])`` of shape (m,)."""
    net = clf._network()
    P = net.forward(clf._validate_X(X))                  # (m, 1): sigmoid of the logit
    pool = next(layer for layer in net.layers if isinstance(layer, GlobalPool))
    cam = pool.class_activation_map(clf.coefs_[0])       # (T, m, 1)
    return cam[:, :, 0].T, P[:, 0]


def main(out_dir: str | Path | None = None) -> dict:
    """Fit the network on GunPoint, draw the class activation maps of a few test series."""
    out = Path(out_dir or os.environ.get("SKNNEDU_EXAMPLES_OUT") or ".")
    out.mkdir(parents=True, exist_ok=True)
    X_train, y_train = load_ts(sktime_ts_path("GunPoint", "train"))   # (50, 150, 1)
    X_test, y_test = load_ts(sktime_ts_path("GunPoint", "test"))      # (150, 150, 1)
    clf = SequenceCNNClassifier(conv_layers=((32, 8), (64, 5), (32, 3)), max_iter=150,
                                random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    accuracy = float(clf.score(X_test, y_test))
    print(f"GunPoint test accuracy: {accuracy:.3f} ({len(y_test)} series)")

    cam, p = class_activation_maps(clf, X_test)
    # the map's mean plus the bias is the logit: sigmoid of it is predict_proba
    logit = cam.mean(axis=1) + clf.intercepts_[0][0]
    identity_error = float(np.abs(1 / (1 + np.exp(-logit)) - p).max())
    print(f"max |sigmoid(mean_t cam + b) - P| = {identity_error:.1e}")

    picks = [*np.flatnonzero(y_test == "1")[:3], *np.flatnonzero(y_test == "2")[:3]]
    predicted = clf.classes_[(p > 0.5).astype(int)]
    fig, axes = plt.subplots(2, 3, figsize=(16, 8), sharex=True, layout="constrained")
    t = np.arange(X_test.shape[1])
    for ax, i in zip(axes.ravel(), picks):
        sign = 1.0 if predicted[i] == clf.classes_[1] else -1.0
        evidence = sign * cam[i]                # for the class the network predicted
        limit = np.abs(evidence).max()
        ax.plot(t, X_test[i, :, 0], color="0.7", lw=1, zorder=1)
        points = ax.scatter(t, X_test[i, :, 0], c=evidence, cmap="coolwarm", s=14,
                            vmin=-limit, vmax=limit, zorder=2)
        ax.set_title(f"test series {i}: {NAMES[y_test[i]]}, predicted "
                     f"{NAMES[predicted[i]]} (P = {max(p[i], 1 - p[i]):.2f})")
        fig.colorbar(points, ax=ax, label="cam: evidence for the prediction")
    for ax in axes[1]:
        ax.set_xlabel("step t")
    for ax in axes[:, 0]:
        ax.set_ylabel("hand position x")
    fig.suptitle(f"SequenceCNNClassifier on GunPoint (test accuracy {accuracy:.3f}): "
                 "red steps speak for the predicted class, blue against it")
    png = out / "sequence_cnn_cam.png"
    fig.savefig(png, dpi=90)
    plt.close(fig)
    print("wrote", png)
    return {"pngs": [png], "accuracy": accuracy, "identity_error": identity_error,
            "cam_shape": cam.shape}


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
# On the *Gun* series the evidence sits on the way down and, most of all, on the small
# shoulder near the end, where the hand slows to put the gun back into the holster (the
# same shoulder shows on the way up, where it is drawn). A pointed finger leaves and
# returns without it: on the *Point* series the evidence is spread over the stretches
# at rest and the smooth fall, and the steepest part of the fall, which looks much like
# a gun's, argues weakly against. Because the pooling is a mean, the steps'
# contributions add up exactly to the score: ``sigmoid(mean_t cam + b)`` is
# ``predict_proba``, as printed above. A map shows what *this* network used, not what
# distinguishes the classes in general: another seed may lean on other steps.
