"""Image regression: the rotation angle of a digit, CNNRegressor beside NNRegressor and torch.

Each 8x8 image of ``load_digits`` is turned by ``--rotations`` angles drawn uniformly in
[-45, 45] degrees (``scipy.ndimage.rotate``, ``reshape=False``, ``order=1``: the digit turns
inside its frame, pixels in [0, 1]); the target is the angle in degrees. A quarter of the
digit images, with all their rotations, is held out, so the test set holds only digits no
model saw turned. The table gives each model's held-out R^2 and its fit time in seconds
(run it with ``OMP_NUM_THREADS=1`` for single-threaded numbers).

Contenders:

- ``Ridge``: a linear model of the pixels, the reference for "how much is linear";
- ``NNRegressor()``: the dense network at its defaults, on the flattened pixels;
- ``CNNRegressor()``: at its defaults, (32@3x3 + 2x2 max pool) x 2, dense 64, adam at 0.003,
  batch 64, up to 100 epochs;
- ``CNNRegressor(y standardised)``: the same inside ``TransformedTargetRegressor`` with a
  ``StandardScaler`` on y;
- ``torch CNN`` (only when ``import torch`` works): the default CNNRegressor's network,
  initialisation, optimiser, batches and 100 epochs (no early stop), on the images divided
  by their root mean square as CNNRegressor divides them, on the CPU.

    OMP_NUM_THREADS=1 python benchmarks/bench_cnn_regressor.py [--rotations 2] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.ndimage import rotate
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.preprocessing import StandardScaler

from sknnedu import CNNRegressor, NNRegressor

warnings.simplefilter("ignore", ConvergenceWarning)


def rotated_digits(rotations: int, seed: int):
    """Rotated digit images, their angles and a split by image.

    Returns
    -------
    X : ndarray of shape (n_images * rotations, 64)
        Pixels in [0, 1], rows of 8x8 images.
    angle : ndarray of shape (n_images * rotations,)
        Degrees, uniform in [-45, 45].
    test : ndarray of bool, shape (n_images * rotations,)
        The rows of the held-out quarter of the images.
    """
    images = load_digits().images / 16.0
    rng = np.random.default_rng(seed)
    source = np.repeat(np.arange(len(images)), rotations)
    angle = rng.uniform(-45.0, 45.0, source.size)
    X = np.stack([rotate(images[i], a, reshape=False, order=1)  # one image per call
                  for i, a in zip(source, angle)])
    X = np.clip(X, 0.0, 1.0).reshape(len(source), -1)
    held_out = rng.permutation(len(images))[: len(images) // 4]
    return X, angle, np.isin(source, held_out)


def torch_cnn(seed: int):
    """The default CNNRegressor's network in torch, fitted as CNNRegressor fits it, or None."""
    try:
        import torch
        from torch import nn
    except ImportError:
        return None

    class TorchCNN:
        def fit(self, X, y):
            torch.manual_seed(seed)
            self.scale = float(np.sqrt(np.mean(X ** 2)))  # CNNRegressor's input_scale_
            self.net = nn.Sequential(
                nn.Conv2d(1, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(32, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(32 * 2 * 2, 64), nn.ReLU(), nn.Linear(64, 1))
            for m in self.net:
                if isinstance(m, (nn.Conv2d, nn.Linear)):  # He normal, init='auto' for relu
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                    nn.init.zeros_(m.bias)
            # adam at 0.003, batch 64, L2 alpha=1e-4 on the weights, 100 epochs
            opt = torch.optim.Adam(self.net.parameters(), lr=0.003)
            Xt = self._images(X)
            yt = torch.as_tensor(y, dtype=torch.float32)[:, None]
            n = len(Xt)
            for _ in range(100):
                for rows in torch.randperm(n).split(64):
                    opt.zero_grad()
                    loss = 0.5 * ((self.net(Xt[rows]) - yt[rows]) ** 2).mean()
                    l2 = sum((p ** 2).sum() for name, p in self.net.named_parameters()
                             if name.endswith("weight"))
                    (loss + 0.5e-4 * l2 / len(rows)).backward()
                    opt.step()
            return self

        def _images(self, X):
            return torch.as_tensor(X.reshape(-1, 1, 8, 8) / self.scale, dtype=torch.float32)

        def predict(self, X):
            with torch.no_grad():
                return self.net(self._images(X)).numpy().ravel()

    return TorchCNN()


def contenders(seed: int) -> dict:
    models = {
        "Ridge (linear)": lambda: Ridge(alpha=1.0),
        "NNRegressor()": lambda: NNRegressor(random_state=seed),
        "CNNRegressor()": lambda: CNNRegressor(random_state=seed),
        "CNNRegressor(y standardised)": lambda: TransformedTargetRegressor(
            CNNRegressor(random_state=seed), transformer=StandardScaler()),
    }
    if torch_cnn(seed) is not None:
        models["torch CNN (same network)"] = lambda: torch_cnn(seed)
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rotations", type=int, default=2, help="angles per digit image")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    X, angle, test = rotated_digits(args.rotations, args.seed)
    print(f"{len(X)} rotated digits (8x8), {(~test).sum()} to train, {test.sum()} held out "
          f"(unseen images); target: the angle in degrees, std {angle.std():.1f}")
    models = contenders(args.seed)
    if "torch CNN (same network)" not in models:
        print("(torch is not installed: its row is skipped)")
    print(f"\n{'model':32s} {'R^2 held out':>12s} {'fit (s)':>8s}")
    for name, make in models.items():
        model = make()
        start = time.perf_counter()
        model.fit(X[~test], angle[~test])
        seconds = time.perf_counter() - start
        score = r2_score(angle[test], model.predict(X[test]))
        print(f"{name:32s} {score:12.4f} {seconds:8.1f}", flush=True)


if __name__ == "__main__":
    main()
