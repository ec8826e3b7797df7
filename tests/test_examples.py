"""Run every ``examples/plot_*.py``: its pictures must exist and not be blank, its lesson hold.

Each example exposes ``main(out_dir) -> dict`` with the paths of the PNGs it
wrote (``'pngs'``) and the numbers it printed; an example is run once per test
session and its result shared by the tests below. New examples are picked up by
the glob.
"""

from __future__ import annotations

import contextlib
import io
import os
import runpy
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.image import imread

matplotlib.use("Agg")  # the examples draw off-screen

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("plot_*.py"))


def _load(path: Path) -> dict:
    """The example's globals, without running its ``__main__`` block."""
    return runpy.run_path(str(path), run_name=f"example_{path.stem}")


@pytest.fixture(scope="module")
def run_example(tmp_path_factory):
    """``run_example(stem) -> (result, printed)``, running each example at most once."""
    cache: dict[str, tuple[dict, str]] = {}

    def run(stem: str) -> tuple[dict, str]:
        if stem not in cache:
            out = tmp_path_factory.mktemp(stem)
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                result = _load(EXAMPLES_DIR / f"{stem}.py")["main"](out)
            cache[stem] = (result, printed.getvalue())
        return cache[stem]

    return run


def test_examples_found():
    assert len(EXAMPLES) >= 7, [p.name for p in EXAMPLES]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_writes_pictures(path, run_example):
    result, printed = run_example(path.stem)
    pngs = [Path(p) for p in result["pngs"]]
    assert pngs, f"{path.name} wrote no PNG"
    for png in pngs:
        assert png.suffix == ".png" and png.is_file(), png
        assert png.stat().st_size > 10_000, f"{png.name} is only {png.stat().st_size} bytes"
        img = imread(png)
        assert img.ndim == 3 and min(img.shape[:2]) >= 200, img.shape
        rgb = img[..., :3]
        assert rgb.std() > 0.02, f"{png.name} is nearly one flat colour"
        # more than a few colours: there is a drawing, not just frames and text
        assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50
        assert png.name in printed
    assert path.read_text().count('if __name__ == "__main__":') == 1


def test_activations_lesson(run_example):
    result, _ = run_example("plot_activations")
    slope = result["max_slope"]
    assert slope["sigmoid"] == pytest.approx(0.25, abs=1e-4)
    assert slope["tanh"] == pytest.approx(1.0, abs=1e-4)
    assert slope["relu"] == 1.0
    assert slope["leakyrelu"] == 1.0
    assert len(result["pngs"]) == 2


def test_gradient_check_lesson(run_example):
    result, printed = run_example("plot_gradient_check")
    assert result["n_params"] == 4 * 6 + 6 + 6 * 5 + 5 + 5 * 3 + 3
    assert result["max_rel_error"] < 1e-6
    assert "agrees" in printed


def test_vanishing_gradients_lesson(run_example):
    result, _ = run_example("plot_vanishing_gradients")
    ratio, accuracy = result["first_over_last"], result["accuracy"]
    # sigmoid with tiny weights: the first layer's gradient vanishes, nothing is learnt
    assert ratio["sigmoid, init='normal'"] < 1e-10
    assert ratio["sigmoid, init='glorot'"] < 1e-4
    assert accuracy["sigmoid, init='normal'"] < 0.2
    # ReLU with He initialisation: every layer gets a gradient of the same order
    assert 0.1 < ratio["relu, init='he'"] < 10
    assert accuracy["relu, init='he'"] > 0.6


def test_symmetry_lesson(run_example):
    result, _ = run_example("plot_symmetry")
    assert result["identical"] == {"init='zeros'": True, "init='glorot'": False}
    assert result["spread"]["init='zeros'"] == 0.0
    assert result["spread"]["init='glorot'"] > 0.1
    assert result["accuracy"]["init='glorot'"] > result["accuracy"]["init='zeros'"] + 0.3


def test_optimizers_lesson(run_example):
    result, _ = run_example("plot_optimizers")
    loss = result["final_loss"]
    plain = loss.pop("sgd (eta=0.01)")
    assert len(loss) == 3
    for label, value in loss.items():
        assert value < plain / 2, (label, value, plain)


def test_cat_filters_lesson(run_example):
    result, _ = run_example("plot_cat_filters")
    assert result["red_is_red_channel"] < 1e-12
    assert result["identity_is_rgb_sum"] < 1e-12
    assert result["max_pool_ge_avg_pool"]
    assert result["pooled_shape"] == ((300 - 2) // 4, (451 - 2) // 4)


def test_cnn_filters_lesson(run_example):
    result, printed = run_example("plot_cnn_filters")
    assert result["accuracy"] > 0.95  # the default CNN on a quarter of the digits
    assert result["kernels_shape"] == (32, 3, 3, 1)
    assert result["cat_maps_shape"] == (300, 451, 32)
    assert "nearly sum to zero" in printed


def test_rnn_memory_lesson(run_example):
    result, printed = run_example("plot_rnn_memory")
    ratio = result["ratio_init"]
    # through 80 steps an untrained rnn's gradient vanishes or explodes with ||W_h||
    assert ratio[0.5] < 1e-15
    assert ratio[0.5] < ratio[1.0] < 1 < ratio[2.0]
    # the LSTM learns to carry the first step to the end; the RNN does not
    assert result["accuracy"]["lstm"] > 0.95
    assert result["accuracy"]["rnn"] < 0.7
    assert result["ratio_trained"]["lstm"] > 10 * result["ratio_trained"]["rnn"]
    # the GRU's states: the same until the pulse, apart to the end, the answers right
    assert result["gru_accuracy"] > 0.9
    for m in result["memory"].values():
        assert m["gap_before"] == 0.0
        assert m["gap_end"] > 0.5
        assert m["answer_up"] > 0.5 > m["answer_down"]
    assert "held-out accuracy" in printed

def test_grid_search_lesson(run_example):
    result, _ = run_example("plot_grid_search")
    assert result["best_score"] > 0.8
    assert result["best_params"]["hidden_layer_sizes"] != (4,)
    assert result["worst_score"] < result["best_score"] - 0.1


def test_text_brackets_lesson(run_example):
    result, printed = run_example("plot_text_brackets")
    assert result["accuracy"] >= 0.95            # the text pipeline reads the order
    assert abs(result["bag_accuracy"] - 0.5) < 0.06  # a bag of characters: chance
    # the letters, which never change the answer, sit together; ( and ) far apart
    assert result["letter_spread"] < result["bracket_gap"] / 5
    for s in ["(a)(b)", "((x)y(z))", "a(bc)(()x)"]:
        assert result["shown"][s] > 0.9, s
    for s in [")a(b", "(()))(()", "())("]:
        assert result["shown"][s] < 0.1, s
    assert "held-out strings" in printed


def test_output_dir_from_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKNNEDU_EXAMPLES_OUT", str(tmp_path / "from_env"))
    result = _load(EXAMPLES_DIR / "plot_activations.py")["main"]()
    assert all(Path(p).parent == tmp_path / "from_env" for p in result["pngs"])
    assert (tmp_path / "from_env" / "activations.png").is_file()
    assert "activations.png" in capsys.readouterr().out


def test_script_takes_output_dir_argument(tmp_path):
    """Run as a person would; the command-line folder wins over the environment."""
    env = dict(os.environ, MPLBACKEND="Agg", SKNNEDU_EXAMPLES_OUT=str(tmp_path / "env"))
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES_DIR / "plot_activations.py"), str(tmp_path / "arg")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "arg" / "activation_derivatives.png").is_file()
    assert not (tmp_path / "env").exists()
    assert "sigmoid" in proc.stdout


def test_deep_network_lesson(run_example):
    result, printed = run_example("plot_deep_network")
    grads, accuracy, loss = result["first_grads"], result["accuracy"], result["final_loss"]
    plain = "plain, N(0, 0.01^2)"
    # tiny weights: the signal vanishes both ways, every layer's gradient ~1e-15
    assert len(grads[plain]) == 11
    assert max(grads[plain]) < 1e-10
    assert loss[plain] > 2.2 and accuracy[plain] < 0.2  # stays at ln 10: guessing
    # He's weights, batch norm and residual blocks (the last two from the same tiny
    # weights) each get a gradient to the first layer, and learn
    for label in ("He init", "batch norm, N(0, 0.01^2)", "residual, N(0, 0.01^2)"):
        assert min(grads[label]) > 1e-4, label
        assert loss[label] < 1.0, label
        assert accuracy[label] > 0.7, label
    # batch norm: dW grows as 1 / ||W||, larger than the output layer's
    assert grads["batch norm, N(0, 0.01^2)"][0] > grads["batch norm, N(0, 0.01^2)"][-1]
    assert "held-out accuracy" in printed


def test_sequence_cnn_cam_lesson(run_example):
    result, printed = run_example("plot_sequence_cnn_cam")
    assert result["accuracy"] > 0.95  # GunPoint's 150 test series
    assert result["cam_shape"] == (150, 150)
    # the mean of the map over the steps plus the bias is the logit
    assert result["identity_error"] < 1e-10
    assert "test accuracy" in printed


def test_transformer_brackets_lesson(run_example):
    from sknnedu.nn.attention import MultiHeadSelfAttention

    result, printed = run_example("plot_transformer_brackets")
    assert result["accuracy"] > 0.9
    assert result["positions_shape"] == (20, 32)  # the longest training string, model_dim
    weight, uniform = result["partner_weight"], result["uniform"]
    assert weight.shape == (2, 4)
    assert weight.max() < 2 * uniform  # no head looks for the partner bracket
    # nearly all its mistakes are unbalanced strings called balanced
    assert len(result["called_balanced"]) >= 0.8 * result["n_mistakes"]
    # the maps recomputed from the fitted arrays are the weights the layers used
    pipe = result["model"]
    maps = _load(EXAMPLES_DIR / "plot_transformer_brackets.py")["attention_maps"](
        pipe, ["(()(()))()", "())("])
    net = pipe[-1]._network()
    net.forward(pipe[-1]._validate_X(pipe[0].transform(["(()(()))()", "())("])))
    used = [layer._cache["P"] for layer in net.layers
            if isinstance(layer, MultiHeadSelfAttention)]
    assert len(maps) == len(used) == 2
    for P, Q in zip(maps, used):
        np.testing.assert_allclose(P, Q, atol=1e-6)
        assert np.all(P[1, :, :, 4:] == 0)  # '())(' is padded beyond its 4 steps
    assert "mean weight on the partner" in printed
