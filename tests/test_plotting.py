"""Tests for sknnedu.plotting: what each helper draws, into which Axes, and its errors."""

from __future__ import annotations

import sys
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import confusion_matrix

from sknnedu import NNClassifier, activation, activation_derivative, plotting
from sknnedu.filters import FILTERS, filter_bank
from sknnedu.nn.conv import conv2d
from sknnedu.plotting import (
    plot_activations,
    plot_confusion_matrix,
    plot_feature_maps,
    plot_filters,
    plot_gradient_check,
    plot_gradient_norms,
    plot_grid_heatmap,
    plot_hidden_units,
    plot_loss_curves,
)

plt.switch_backend("Agg")  # draw off-screen


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


@pytest.fixture(scope="module")
def nets(iris):
    """Two small fitted networks: 3 weight matrices and 2 weight matrices."""
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        deep = NNClassifier((6, 5), max_iter=4, random_state=0).fit(X, y)
        flat = NNClassifier((4,), max_iter=7, random_state=0).fit(X, y)
    return {"deep": deep, "flat": flat}


def _one_ax():
    fig, ax = plt.subplots()
    return fig, ax


# ------------------------------------------------------------------ optional matplotlib
@pytest.mark.parametrize("call", [
    lambda: plot_activations(),
    lambda: plot_loss_curves([1.0, 0.5]),
    lambda: plot_confusion_matrix([0, 1], [0, 1]),
    lambda: plot_filters([np.eye(3)]),
])
def test_missing_matplotlib_says_how_to_install(monkeypatch, call):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install sknnedu\[plot\]"):
        call()


def test_public_names():
    assert set(plotting.__all__) >= {
        "plot_activations", "plot_confusion_matrix", "plot_feature_maps", "plot_filters",
        "plot_gradient_check", "plot_gradient_norms", "plot_grid_heatmap",
        "plot_hidden_units", "plot_loss_curves",
    }
    for name in plotting.__all__:
        assert getattr(plotting, name).__doc__ or name.isupper()


# ------------------------------------------------------------------ activations
@pytest.mark.parametrize("derivative", [False, True])
def test_plot_activations_grid(derivative):
    fig = plot_activations(derivative=derivative)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes][0] == (
        "sigmoid (derivative)" if derivative else "sigmoid")
    z, g = fig.axes[3].lines[0].get_data()
    assert z[0] == -3 and z[-1] == pytest.approx(2.99)  # the notes' np.arange(-3, 3, 0.01)
    expected = activation_derivative if derivative else activation
    np.testing.assert_allclose(g, expected("leakyrelu", z))


def test_plot_activations_names_z_and_fig():
    fig = plt.figure()
    out = plot_activations("tanh", z=np.linspace(-1, 1, 5), fig=fig)
    assert out is fig and len(fig.axes) == 1
    assert plot_activations(["relu", "identity", "logistic"], ncols=3).axes[2].get_title() \
        == "logistic"


@pytest.mark.parametrize("kwargs, match", [
    (dict(names=["relu", "swish"]), "Unknown activation 'swish'"),
    (dict(names=["softmax"], derivative=True), "activation with a derivative"),
    (dict(names=[]), "at least one"),
    (dict(z=np.zeros((2, 2))), "z must be 1-D"),
    (dict(ncols=0), "ncols"),
])
def test_plot_activations_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_activations(**kwargs)


# ------------------------------------------------------------------ loss curves, gradients
def test_plot_loss_curves(nets):
    fig = plot_loss_curves({"deep": nets["deep"], "list": [3.0, 2.0, 1.5]}, log=True)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.lines] == ["deep", "list"]
    x, y = ax.lines[0].get_data()
    np.testing.assert_array_equal(x, np.arange(1, 5))
    np.testing.assert_allclose(y, nets["deep"].loss_curve_)
    assert ax.get_yscale() == "log"
    assert ax.get_legend() is not None


def test_plot_loss_curves_into_given_ax(nets):
    fig, ax = _one_ax()
    assert plot_loss_curves(nets["flat"], ax=ax, title=None) is fig
    assert len(fig.axes) == 1 and len(ax.lines) == 1
    assert ax.lines[0].get_label() == "loss"


@pytest.mark.parametrize("curves, match", [
    ({}, "empty"),
    ({"unfitted": NNClassifier()}, "has no loss_curve_; fit it first"),
    ({"2d": [[1.0, 2.0]]}, "1-D"),
    ({"empty": []}, "non-empty"),
    ({"words": ["a", "b"]}, "1-D sequence of losses"),
])
def test_plot_loss_curves_errors(curves, match):
    with pytest.raises(ValueError, match=match):
        plot_loss_curves(curves)


def test_plot_gradient_norms_by_layer(nets):
    fig = plot_gradient_norms(nets)
    (ax,) = fig.axes
    assert len(ax.lines) == 2
    x, y = ax.lines[0].get_data()
    np.testing.assert_array_equal(x, [1, 2, 3])
    np.testing.assert_allclose(y, nets["deep"].gradient_norms_[0])
    assert ax.get_yscale() == "log"
    assert "first epoch" in ax.get_title()
    last = plot_gradient_norms(nets["flat"], epoch=-1).axes[0]
    np.testing.assert_allclose(last.lines[0].get_ydata(), nets["flat"].gradient_norms_[-1])


def test_plot_gradient_norms_by_epoch_into_ax(nets):
    fig, ax = _one_ax()
    norms = np.array(nets["deep"].gradient_norms_)
    assert plot_gradient_norms(norms, by="epoch", ax=ax) is fig
    assert len(ax.lines) == 3  # one per layer
    np.testing.assert_allclose(ax.lines[2].get_ydata(), norms[:, 2])
    assert [line.get_label() for line in ax.lines] == ["W[1]", "W[2]", "W[3]"]
    both = plot_gradient_norms(nets, by="epoch").axes[0]
    assert len(both.lines) == 3 + 2


@pytest.mark.parametrize("kwargs, match", [
    (dict(by="sample"), "by must be"),
    (dict(epoch=4), "out of range"),
    (dict(norms=np.ones(3)), r"\(n_epochs, n_layers\)"),
    (dict(norms=NNClassifier()), "has no gradient_norms_"),
])
def test_plot_gradient_norms_errors(nets, kwargs, match):
    kwargs.setdefault("norms", nets["deep"])
    with pytest.raises(ValueError, match=match):
        plot_gradient_norms(**kwargs)


def test_plot_gradient_check():
    bp = np.array([0.1, -0.2, 0.3])
    fd = bp * (1 + np.array([0.0, 1e-8, 0.0]))
    fig = plot_gradient_check(bp, fd)
    (ax,) = fig.axes
    assert ax.get_title() == "max relative error = 5.0e-09"
    np.testing.assert_allclose(ax.collections[0].get_offsets(), np.c_[fd, bp])
    fig2, ax2 = _one_ax()
    assert plot_gradient_check(bp, fd, ax=ax2, title="mine") is fig2
    assert ax2.get_title() == "mine"
    with pytest.raises(ValueError, match="same length"):
        plot_gradient_check(bp, fd[:2])


# ------------------------------------------------------------------ weights, kernels, images
def test_plot_hidden_units_matrix(nets):
    fig = plot_hidden_units(nets)
    assert len(fig.axes) == 2
    W = nets["deep"].coefs_[0]
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), W)
    assert f"{np.ptp(W, axis=1).max():.3g}" in fig.axes[0].get_title()
    one = plot_hidden_units(np.zeros((4, 3)))
    assert len(one.axes) == 1 and "spread across units = 0" in one.axes[0].get_title()


def test_plot_hidden_units_as_images(nets):
    fig = plot_hidden_units(nets, image_shape=(2, 2), max_units=5)
    assert len(fig.axes) == 2 * 5  # min(6 units of 'deep', 5) per row
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(),
                                  nets["deep"].coefs_[0][:, 1].reshape(2, 2))
    assert not fig.axes[5 + 4].axison  # 'flat' has only 4 units: the 5th panel is empty
    second = plot_hidden_units(nets["deep"], layer=1, image_shape=(3, 2))
    assert len(second.axes) == 5


@pytest.mark.parametrize("kwargs, match", [
    (dict(image_shape=(3, 3)), "needs 9 inputs"),
    (dict(layer=3), "out of range"),
    (dict(image_shape=(2, 2), max_units=0), "max_units"),
])
def test_plot_hidden_units_errors(nets, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_hidden_units(nets["deep"], **kwargs)
    with pytest.raises(ValueError, match="fit it first"):
        plot_hidden_units(NNClassifier())


def test_plot_filters_dict_and_bank():
    fig = plot_filters({name: FILTERS[name] for name in ("sobel_x", "laplacian", "red")})
    assert len(fig.axes) == 3
    assert fig.axes[0].get_title() == "sobel_x"
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), FILTERS["sobel_x"])
    assert [t.get_text() for t in fig.axes[1].texts][4] == "-4"
    # an RGB kernel: its 3 channels side by side, a blank column between them
    assert fig.axes[2].images[0].get_array().shape == (3, 11)
    assert "R | G | B" in fig.axes[2].get_title()

    bank = filter_bank("edges")
    fig = plot_filters(bank, titles=list("abcde"), annotate=False, ncols=2)
    assert len(fig.axes) == 5 and fig.axes[4].get_title() == "e"
    assert not fig.axes[0].texts


def test_plot_filters_into_given_figure():
    fig = plt.figure()
    assert plot_filters([np.ones((5, 5)), -np.ones((5, 5))], fig=fig) is fig
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "kernel 2"


@pytest.mark.parametrize("kernels, titles, match", [
    ({}, None, "empty"),
    ([], None, "at least one"),
    (np.ones((3, 3)), None, "bank must have shape"),
    ([np.ones(3)], None, "must have shape"),
    ([np.ones((3, 3))], ["a", "b"], "2 titles for 1 panels"),
])
def test_plot_filters_errors(kernels, titles, match):
    with pytest.raises(ValueError, match=match):
        plot_filters(kernels, titles)


def test_plot_feature_maps_from_conv2d():
    rng = np.random.default_rng(0)
    images = rng.random((1, 12, 10, 3))
    maps = conv2d(images, filter_bank(["sobel_x", "sobel_y", "red"], n_channels=3))
    fig = plot_feature_maps(maps, ncols=2)
    assert len(fig.axes) == 3
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(), images[0, 1:-1, 1:-1, 0])
    assert fig.axes[0].get_title() == "map 1  10x8"
    assert not fig.axes[0].get_xticks().size


def test_plot_feature_maps_dict_rgb_cmaps_robust():
    rng = np.random.default_rng(0)
    gray = rng.normal(size=(20, 20))
    gray[0, 0] = 100.0  # one outlier
    fig = plot_feature_maps({"rgb": rng.random((20, 20, 3)) * 3, "gray": gray},
                            cmap=["gray", "viridis"], robust=True)
    assert [ax.get_title().split()[0] for ax in fig.axes] == ["rgb", "gray"]
    rgb = fig.axes[0].images[0].get_array()
    assert rgb.min() >= 0 and rgb.max() <= 1  # floats rescaled into [0, 1]
    image = fig.axes[1].images[0]
    assert image.get_cmap().name == "viridis"
    assert image.get_clim() == pytest.approx(tuple(np.percentile(gray, [1, 99])))


@pytest.mark.parametrize("maps, kwargs, match", [
    (np.ones((2, 5, 5, 3)), {}, "batch of 2"),
    (np.ones(5), {}, r"\(h, w, k\)"),
    ([np.ones((5, 5, 2))], {}, "RGB"),
    ([np.array([["a"]])], {}, "numeric"),
    ([], {}, "at least one"),
    ([np.ones((5, 5))], dict(titles=["a", "b"]), "2 titles"),
    ([np.ones((5, 5))], dict(cmap=["gray", "gray"]), "2 colormaps for 1 maps"),
])
def test_plot_feature_maps_errors(maps, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_feature_maps(maps, **kwargs)


# ------------------------------------------------------------------ evaluation, model selection
def test_plot_confusion_matrix():
    y_true = ["cat", "dog", "cat", "bird", "dog"]
    y_pred = ["cat", "cat", "cat", "bird", "dog"]
    fig = plot_confusion_matrix(y_true, y_pred)
    (ax,) = fig.axes
    labels = ["bird", "cat", "dog"]
    np.testing.assert_array_equal(ax.images[0].get_array(),
                                  confusion_matrix(y_true, y_pred, labels=labels))
    assert [t.get_text() for t in ax.get_xticklabels()] == labels
    assert ax.get_title() == "accuracy = 0.800 (5 samples)"
    assert len(ax.texts) == 9

    fig2, ax2 = _one_ax()
    assert plot_confusion_matrix(y_true, y_pred, ["dog", "cat"], normalize=True, ax=ax2) is fig2
    M = ax2.images[0].get_array()
    np.testing.assert_allclose(M, [[0.5, 0.5], [0.0, 1.0]])
    assert [t.get_text() for t in ax2.get_yticklabels()] == ["dog", "cat"]


def test_plot_confusion_matrix_errors():
    with pytest.raises(ValueError, match="same length"):
        plot_confusion_matrix([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="same length"):
        plot_confusion_matrix([], [])


def _cv_results():
    """cv_results_ as GridSearchCV writes it for two grids, one without 'alpha'."""
    act = np.ma.MaskedArray(["relu", "relu", "tanh", "tanh", "relu", "relu"], dtype=object)
    size = np.ma.MaskedArray(np.empty(6, dtype=object))
    size[:] = [(4,), (8, 8), (4,), (8, 8), (4,), (4,)]
    alpha = np.ma.MaskedArray([0.1, 0.1, 0.1, 0.1, 1.0, 0.0],
                              mask=[False] * 5 + [True], dtype=object)
    return {"param_activation": act, "param_hidden_layer_sizes": size, "param_alpha": alpha,
            "mean_test_score": np.array([0.5, 0.6, 0.7, 0.8, 0.9, 0.1]),
            "mean_fit_time": np.ones(6)}


def test_plot_grid_heatmap_cells():
    fig = plot_grid_heatmap(_cv_results(), "activation", "param_hidden_layer_sizes")
    (ax,) = fig.axes
    # relu/(4,) is the best over alpha: max(0.5, 0.9, 0.1)
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.9, 0.6], [0.7, 0.8]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["(4,)", "(8, 8)"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["relu", "tanh"]
    assert ax.get_xlabel() == "hidden_layer_sizes" and ax.get_ylabel() == "activation"
    assert sorted(t.get_text() for t in ax.texts) == ["0.600", "0.700", "0.800", "0.900"]


def test_plot_grid_heatmap_skips_masked_and_missing_cells():
    fig, ax = _one_ax()
    assert plot_grid_heatmap(_cv_results(), "alpha", "activation", ax=ax, fmt=".1f") is fig
    M = np.ma.filled(ax.images[0].get_array(), np.nan)
    # rows 0.1 and 1.0 (the masked 0.0 candidate is left out); tanh never had alpha=1.0
    np.testing.assert_allclose(M, [[0.6, 0.8], [0.9, np.nan]])
    assert len(ax.texts) == 3


def test_plot_grid_heatmap_from_a_search(iris):
    from sklearn.model_selection import GridSearchCV

    X, y = iris
    search = GridSearchCV(NNClassifier(max_iter=3, random_state=0),
                          {"activation": ["relu", "tanh"], "alpha": [1e-4, 1e-2]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    fig = plot_grid_heatmap(search, "activation", "alpha", score="mean_fit_time")
    assert fig.axes[0].images[0].get_array().shape == (2, 2)
    assert fig.axes[0].get_title() == "mean_fit_time"


@pytest.mark.parametrize("args, kwargs, match", [
    (("activation", "width"), {}, r"Unknown parameter 'width'; cv_results has \['activation'"),
    (("activation", "alpha"), dict(score="accuracy"), "Unknown score 'accuracy'"),
])
def test_plot_grid_heatmap_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_grid_heatmap(_cv_results(), *args, **kwargs)
    with pytest.raises(ValueError, match="cv_results_"):
        plot_grid_heatmap(object(), "activation", "alpha")
