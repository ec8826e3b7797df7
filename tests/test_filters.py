"""Named kernels: shapes, what they compute (against scipy.ndimage), and the bank helper."""

import numpy as np
import pytest
from scipy import ndimage

from sknnedu.filters import BANKS, FILTERS, filter_bank, filter_names
from sknnedu.nn.conv import conv2d

NOTES_NAMES = ["identity", "red", "green", "blue"]
CLASSIC_NAMES = [
    "sobel_x",
    "sobel_y",
    "prewitt_x",
    "prewitt_y",
    "laplacian",
    "sharpen",
    "box_blur",
    "gaussian_blur",
    "edge_detect",
    "emboss",
]


@pytest.fixture
def rgb():
    return np.random.default_rng(0).random((3, 7, 8, 3))


def same(x, names):
    """Filter with zero 'same' padding."""
    return conv2d(x, filter_bank(names, n_channels=x.shape[-1]), padding="same")


def test_all_names_present_with_shapes_and_dtype():
    for name in NOTES_NAMES:
        assert FILTERS[name].shape == (3, 3, 3)
    for name in CLASSIC_NAMES:
        assert FILTERS[name].shape == (3, 3)
    for kernel in FILTERS.values():
        assert kernel.dtype == np.float64
        assert not kernel.flags.writeable


def test_notes_filter_dict_kernels():
    centre_only = np.zeros((3, 3, 3), dtype=bool)
    centre_only[1, 1] = True
    for name, channels in [("identity", [0, 1, 2]), ("red", [0]), ("green", [1]), ("blue", [2])]:
        kernel = FILTERS[name]
        assert np.all(kernel[~centre_only] == 0)
        np.testing.assert_array_equal(kernel[1, 1], np.isin(np.arange(3), channels))


def test_red_green_blue_reproduce_the_image(rgb):
    np.testing.assert_array_equal(same(rgb, "rgb"), rgb)


def test_identity_reproduces_the_sum_of_channels(rgb):
    np.testing.assert_allclose(same(rgb, ["identity"])[..., 0], rgb.sum(axis=-1), atol=1e-15)
    gray = rgb[..., :1]
    # on a grayscale image repeated in 3 channels it is the image times 3
    np.testing.assert_allclose(same(np.repeat(gray, 3, axis=-1), ["identity"]), 3 * gray)


@pytest.mark.parametrize(
    "name, reference",
    [
        ("sobel_x", lambda x: ndimage.sobel(x, axis=1, mode="constant")),
        ("sobel_y", lambda x: ndimage.sobel(x, axis=0, mode="constant")),
        ("prewitt_x", lambda x: ndimage.prewitt(x, axis=1, mode="constant")),
        ("prewitt_y", lambda x: ndimage.prewitt(x, axis=0, mode="constant")),
        ("laplacian", lambda x: ndimage.laplace(x, mode="constant")),
        ("box_blur", lambda x: ndimage.uniform_filter(x, 3, mode="constant")),
        ("edge_detect", lambda x: 9 * x - ndimage.uniform_filter(x, 3, mode="constant") * 9),
        ("sharpen", lambda x: x - ndimage.laplace(x, mode="constant")),
    ],
)
def test_classic_kernels_match_scipy_ndimage(name, reference):
    image = np.random.default_rng(1).random((9, 11))
    out = conv2d(image[None], FILTERS[name][None], padding="same")[0, :, :, 0]
    np.testing.assert_allclose(out, reference(image), atol=1e-12)


def test_gaussian_blur_is_outer_product_of_binomials():
    binomial = np.array([1.0, 2.0, 1.0]) / 4
    np.testing.assert_allclose(FILTERS["gaussian_blur"], np.outer(binomial, binomial))


@pytest.mark.parametrize("name", ["box_blur", "gaussian_blur", "sharpen", "emboss"])
def test_smoothing_kernels_keep_constant_images(name):
    # kernels summing to 1 leave the interior of a constant image unchanged
    assert FILTERS[name].sum() == pytest.approx(1.0)
    out = conv2d(np.full((1, 5, 5), 7.0), FILTERS[name][None])
    np.testing.assert_allclose(out, 7.0)


@pytest.mark.parametrize("name", BANKS["edges"] + ("prewitt_x", "prewitt_y", "edge_detect"))
def test_edge_kernels_ignore_constants_and_see_ramps(name):
    assert FILTERS[name].sum() == 0
    np.testing.assert_allclose(conv2d(np.full((1, 5, 5), 3.0), FILTERS[name][None]), 0.0)
    ramp = np.add.outer(np.arange(6.0), 2 * np.arange(6.0))[None]  # grows down and right
    response = conv2d(ramp, FILTERS[name][None])[0, :, :, 0]
    expected = {
        "sobel_x": 8 * 2,
        "prewitt_x": 6 * 2,
        "sobel_y": 8,
        "prewitt_y": 6,
        "sobel_diag": 6 * (1 + 2),  # 6 (d/dy + d/dx)
        "sobel_antidiag": 6 * (2 - 1),  # 6 (d/dx - d/dy)
        "laplacian": 0,
        "edge_detect": 0,
    }[name]
    np.testing.assert_allclose(response, expected)


def test_filter_bank_shapes():
    assert filter_bank("edges").shape == (len(BANKS["edges"]), 3, 3)
    assert filter_bank(["sobel_x", "laplacian"], n_channels=4).shape == (2, 3, 3, 4)
    assert filter_bank("sobel_x", n_channels=1).shape == (1, 3, 3, 1)
    assert filter_bank(["sobel_x", "red"]).shape == (2, 3, 3, 3)
    bank = filter_bank(["laplacian", "green"], n_channels=3)
    for ch in range(3):
        np.testing.assert_array_equal(bank[0, :, :, ch], FILTERS["laplacian"])
    np.testing.assert_array_equal(bank[1], FILTERS["green"])
    bank[0, 0, 0, 0] = 99.0  # a copy, the dict is untouched
    assert FILTERS["laplacian"][0, 0] == 0


def test_shared_bank_equals_repeated_bank(rgb):
    names = list(BANKS["edges"])
    np.testing.assert_allclose(
        conv2d(rgb, filter_bank(names), padding="same"), same(rgb, names), atol=1e-12
    )


def test_banks_and_names():
    for bank in BANKS.values():
        assert all(name in FILTERS for name in bank)
    assert filter_names("edges") == list(BANKS["edges"])
    assert filter_names("sobel_y") == ["sobel_y"]
    assert filter_names(("red", "blue")) == ["red", "blue"]


@pytest.mark.parametrize(
    "names, n_channels, match",
    [
        ("nope", None, "Unknown filter 'nope'; expected one of"),
        (["sobel_x", "sobelx"], None, "Unknown filter 'sobelx'"),
        ([], None, "at least one filter name"),
        (["sobel_x", 3], None, "Unknown filter 3"),
        (["red"], 1, r"\['red'\] are RGB kernels.*need images with 3 channels, got 1"),
        (["sobel_x"], 0, "n_channels must be an int >= 1"),
    ],
)
def test_filter_bank_errors(names, n_channels, match):
    with pytest.raises(ValueError, match=match):
        filter_bank(names, n_channels=n_channels)
