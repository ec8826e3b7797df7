"""Tests for sknnedu.datasets: folders of small PNGs written into tmp_path."""

from __future__ import annotations

import re
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.io import imsave
from sklearn.linear_model import LogisticRegression
from sklearn.utils import Bunch

from sknnedu.datasets import load_image, load_image_folder

# class name -> (how the PNG stores it, the RGB colour in [0, 1] it must load as)
RGB = np.array([200, 100, 50], dtype=np.uint8)
GRAY = 128
RGBA = np.array([10, 220, 90, 255], dtype=np.uint8)
EXPECTED = {
    "apples": RGB / 255,
    "bananas": np.full(3, GRAY / 255),
    "cherries": RGBA[:3] / 255,
}
N_PER_CLASS = 4


def _save(path: Path, img: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(path, img, check_contrast=False)
    return path


def _constant(kind: str, shape: tuple[int, int]) -> np.ndarray:
    """A constant image of the class's colour, in the class's pixel format."""
    if kind == "apples":
        return np.tile(RGB, (*shape, 1))
    if kind == "bananas":
        return np.full(shape, GRAY, dtype=np.uint8)
    return np.tile(RGBA, (*shape, 1))


def _make_folder(root: Path, sizes: list[tuple[int, int]]) -> Path:
    """3 classes x 4 images: RGB apples, gray bananas, RGBA cherries."""
    # created out of order: the loader must sort class names
    for kind in ["cherries", "apples", "bananas"]:
        for i in range(N_PER_CLASS):
            _save(root / kind / f"img{i}.png", _constant(kind, sizes[i % len(sizes)]))
    return root


@pytest.fixture
def same_size(tmp_path: Path) -> Path:
    return _make_folder(tmp_path / "fruit", [(6, 5)])


@pytest.fixture
def mixed_size(tmp_path: Path) -> Path:
    return _make_folder(tmp_path / "fruit", [(6, 5), (9, 12), (4, 4), (16, 7)])


# --------------------------------------------------------------------------- #
# What comes back
# --------------------------------------------------------------------------- #
def test_bunch_fields_shapes_and_labels(same_size: Path) -> None:
    ds = load_image_folder(same_size)
    assert isinstance(ds, Bunch)
    n = 3 * N_PER_CLASS
    assert ds.images.shape == (n, 6, 5, 3)
    assert ds.data.shape == (n, 6 * 5 * 3)
    assert ds.image_shape == (6, 5, 3)
    assert ds.data.dtype == ds.images.dtype == np.float32
    np.testing.assert_array_equal(ds.data, ds.images.reshape(n, -1))
    assert ds.target_names == ["apples", "bananas", "cherries"]
    assert ds.target.dtype.kind == "i" and ds.target.shape == (n,)
    np.testing.assert_array_equal(ds.target, np.repeat([0, 1, 2], N_PER_CLASS))
    assert len(ds.filenames) == n and all(isinstance(f, str) for f in ds.filenames)
    for file, label in zip(ds.filenames, ds.target):
        assert Path(file).is_file()
        assert Path(file).parent.name == ds.target_names[label]
    assert ds.data.min() >= 0 and ds.data.max() <= 1
    assert "12 images" in ds.DESCR


def test_pixel_content_survives(same_size: Path) -> None:
    ds = load_image_folder(same_size)
    for img, label in zip(ds.images, ds.target):
        colour = EXPECTED[ds.target_names[label]]
        np.testing.assert_allclose(img, np.broadcast_to(colour, img.shape), atol=1e-6)


def test_as_gray_is_luminance(same_size: Path) -> None:
    ds = load_image_folder(same_size, as_gray=True)
    assert ds.images.shape == (12, 6, 5)
    assert ds.data.shape == (12, 30)
    assert ds.image_shape == (6, 5)
    # ITU-R 709 luma, the weights skimage.color.rgb2gray documents
    weights = np.array([0.2125, 0.7154, 0.0721])
    for img, label in zip(ds.images, ds.target):
        expected = EXPECTED[ds.target_names[label]] @ weights
        np.testing.assert_allclose(img, expected, atol=1e-5)


def test_str_path_and_float64(same_size: Path) -> None:
    ds = load_image_folder(str(same_size), dtype=np.float64)
    assert ds.data.dtype == ds.images.dtype == np.float64
    ref = load_image_folder(same_size)
    np.testing.assert_allclose(ds.data, ref.data, atol=1e-6)


def test_data_feeds_a_classifier(same_size: Path) -> None:
    ds = load_image_folder(same_size)
    clf = LogisticRegression().fit(ds.data, ds.target)
    assert clf.score(ds.data, ds.target) == 1.0


# --------------------------------------------------------------------------- #
# Sizes
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(("image_size", "shape"), [(7, (7, 7)), ((4, 9), (4, 9)), ([3, 2], (3, 2))])
def test_image_size_resizes_everything(
    mixed_size: Path, image_size: int | tuple[int, int], shape: tuple[int, int]
) -> None:
    ds = load_image_folder(mixed_size, image_size=image_size)
    assert ds.images.shape == (12, *shape, 3)
    assert ds.image_shape == (*shape, 3)
    for img, label in zip(ds.images, ds.target):  # constant colours stay constant
        colour = EXPECTED[ds.target_names[label]]
        np.testing.assert_allclose(img, np.broadcast_to(colour, img.shape), atol=1e-6)


def test_image_size_with_as_gray(mixed_size: Path) -> None:
    ds = load_image_folder(mixed_size, image_size=5, as_gray=True)
    assert ds.images.shape == (12, 5, 5)
    assert ds.data.shape == (12, 25)


def test_differing_sizes_need_image_size(mixed_size: Path) -> None:
    first = str(mixed_size / "apples" / "img0.png")
    second = str(mixed_size / "apples" / "img1.png")
    with pytest.raises(ValueError, match="image_size") as info:
        load_image_folder(mixed_size)
    msg = str(info.value)
    assert first in msg and second in msg
    assert "(6, 5, 3)" in msg and "(9, 12, 3)" in msg


def test_downsampling_is_anti_aliased(tmp_path: Path) -> None:
    # a 1-pixel checkerboard shrunk 4x must average to grey, not alias to 0 or 1
    board = (np.indices((32, 32)).sum(axis=0) % 2 * 255).astype(np.uint8)
    f = _save(tmp_path / "board.png", board)
    small = load_image(f, image_size=8, as_gray=True)
    assert small.shape == (8, 8)
    np.testing.assert_allclose(small[2:-2, 2:-2], 0.5, atol=0.1)


# --------------------------------------------------------------------------- #
# Bad files
# --------------------------------------------------------------------------- #
def _bad_bytes(kind: str, good_png: Path) -> tuple[str, bytes]:
    data = good_png.read_bytes()
    return {
        "truncated": ("broken.png", data[: len(data) // 2]),
        "header-only": ("header.png", data[:30]),
        "empty": ("empty.png", b""),
        "text": ("README.txt", b"these are pictures of fruit\n"),
    }[kind]


@pytest.mark.parametrize("kind", ["truncated", "header-only", "empty", "text"])
def test_unreadable_file_raises_naming_it(same_size: Path, kind: str) -> None:
    name, payload = _bad_bytes(kind, same_size / "apples" / "img0.png")
    bad = same_size / "bananas" / name
    bad.write_bytes(payload)
    with pytest.raises(ValueError, match=re.escape(f"Cannot read image {bad}")):
        load_image_folder(same_size)
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        load_image(bad)


def test_on_error_skip_warns_and_skips(same_size: Path) -> None:
    png = (same_size / "apples" / "img0.png").read_bytes()
    broken = same_size / "bananas" / "broken.png"
    broken.write_bytes(png[: len(png) // 2])
    note = same_size / "cherries" / "notes.txt"
    note.write_text("not an image")
    with pytest.warns(UserWarning) as record:
        ds = load_image_folder(same_size, on_error="skip")
    messages = " ".join(str(w.message) for w in record)
    assert str(broken) in messages and str(note) in messages
    assert ds.images.shape[0] == 3 * N_PER_CLASS
    assert str(broken) not in ds.filenames and str(note) not in ds.filenames


def test_on_error_skip_everything_unreadable(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("nope")
    with pytest.warns(UserWarning, match="x.txt"):
        with pytest.raises(ValueError, match="No images found.*1 unreadable"):
            load_image_folder(tmp_path, on_error="skip")


def test_unknown_on_error(same_size: Path) -> None:
    with pytest.raises(ValueError, match="on_error"):
        load_image_folder(same_size, on_error="ignore")


def test_float_image_outside_unit_range(tmp_path: Path) -> None:
    f = tmp_path / "hdr.tif"
    imsave(f, np.full((8, 9), 3.0, dtype=np.float32), check_contrast=False)
    with pytest.raises(ValueError, match=re.escape(str(f)) + ".*expected \\[0, 1\\]"):
        load_image(f)


# --------------------------------------------------------------------------- #
# Bad folders
# --------------------------------------------------------------------------- #
def test_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        load_image_folder(missing)


def test_file_passed_as_folder(same_size: Path) -> None:
    f = same_size / "apples" / "img0.png"
    with pytest.raises(NotADirectoryError, match=re.escape(str(f))):
        load_image_folder(f)


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(f"No class subfolders in '{tmp_path}'")):
        load_image_folder(tmp_path)


def test_images_directly_in_folder(tmp_path: Path) -> None:
    _save(tmp_path / "img0.png", np.zeros((3, 3), np.uint8))
    with pytest.raises(ValueError, match="No class subfolders.*1 file.*class folders"):
        load_image_folder(tmp_path)


def test_class_folders_without_images(tmp_path: Path) -> None:
    (tmp_path / "cats").mkdir()
    (tmp_path / "dogs").mkdir()
    with pytest.warns(UserWarning, match="no files"):
        with pytest.raises(ValueError, match=r"No images found.*\['cats', 'dogs'\]"):
            load_image_folder(tmp_path)


def test_empty_class_warns_but_keeps_its_index(same_size: Path) -> None:
    (same_size / "avocados").mkdir()
    with pytest.warns(UserWarning, match="avocados"):
        ds = load_image_folder(same_size)
    assert ds.target_names == ["apples", "avocados", "bananas", "cherries"]
    np.testing.assert_array_equal(np.unique(ds.target), [0, 2, 3])


def test_hidden_files_and_folders_ignored(same_size: Path) -> None:
    (same_size / ".DS_Store").write_bytes(b"\x00\x01junk")
    (same_size / "apples" / ".DS_Store").write_bytes(b"\x00\x01junk")
    (same_size / "apples" / "._img0.png").write_bytes(b"\x00\x05AppleDouble")
    _save(same_size / ".thumbnails" / "t.png", np.zeros((2, 2), np.uint8))
    (same_size / "apples" / "nested").mkdir()
    (same_size / "README.md").write_text("top-level files are not classes")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_image_folder(same_size)
    assert ds.target_names == ["apples", "bananas", "cherries"]
    assert ds.images.shape[0] == 3 * N_PER_CLASS
    assert not any("/." in f.replace("\\", "/") for f in ds.filenames)


# --------------------------------------------------------------------------- #
# load_image and file formats
# --------------------------------------------------------------------------- #
def test_load_image_matches_folder(mixed_size: Path) -> None:
    ds = load_image_folder(mixed_size, image_size=(5, 6))
    for i in [0, 5, 11]:
        img = load_image(ds.filenames[i], image_size=(5, 6))
        np.testing.assert_array_equal(img, ds.images[i])
    gray = load_image(ds.filenames[0], as_gray=True)
    assert gray.shape == (6, 5) and gray.dtype == np.float32


def test_load_image_path_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "x.png"))):
        load_image(tmp_path / "x.png")
    with pytest.raises(IsADirectoryError, match="load_image_folder"):
        load_image(tmp_path)


@pytest.mark.parametrize("image_size", [0, -3, (3,), (3, 0), (2, 2.5), "big", True, 2.0])
def test_bad_image_size(same_size: Path, image_size: object) -> None:
    with pytest.raises(ValueError, match="image_size"):
        load_image_folder(same_size, image_size=image_size)
    with pytest.raises(ValueError, match="image_size"):
        load_image(same_size / "apples" / "img0.png", image_size=image_size)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, "not-a-dtype"])
def test_bad_dtype(same_size: Path, dtype: object) -> None:
    with pytest.raises(ValueError, match="dtype"):
        load_image_folder(same_size, dtype=dtype)


def test_other_formats(tmp_path: Path) -> None:
    # 16-bit grey: scaled by 65535, not 255
    f16 = _save(tmp_path / "deep.png", np.full((3, 4), 65535 // 5, dtype=np.uint16))
    np.testing.assert_allclose(load_image(f16), 0.2, atol=1e-4)
    # grey + alpha, half transparent black on white -> 0.5 grey
    # (not 3 or 4 rows: skimage.io.imread takes (3|4, w, 2) for channels-first)
    la = np.zeros((5, 6, 2), np.uint8)
    la[..., 1] = 128
    fla = tmp_path / "la.png"
    Image.fromarray(la).save(fla)
    np.testing.assert_allclose(load_image(fla), 1 - 128 / 255, atol=1e-6)
    # fully transparent RGBA composites on white
    frgba = _save(tmp_path / "clear.png", np.zeros((3, 4, 4), np.uint8))
    np.testing.assert_allclose(load_image(frgba), 1.0)
    # animated GIF: first frame, RGB
    frames = [Image.new("RGB", (4, 3), c) for c in [(255, 0, 0), (0, 0, 255)]]
    fgif = tmp_path / "anim.gif"
    frames[0].save(fgif, save_all=True, append_images=frames[1:])
    gif = load_image(fgif)
    assert gif.shape == (3, 4, 3)
    np.testing.assert_allclose(gif[1, 1], [1, 0, 0], atol=0.02)
    # JPEG and BMP read like PNG (JPEG is lossy: approximately)
    for ext, atol in [("jpg", 0.03), ("bmp", 1e-6)]:
        f = _save(tmp_path / f"c.{ext}", np.tile(RGB, (8, 8, 1)))
        np.testing.assert_allclose(load_image(f), np.broadcast_to(RGB / 255, (8, 8, 3)), atol=atol)


# --------------------------------------------------------------------------- #
# Issue 11: colour modes, orientation, big photos, signed pixels
# --------------------------------------------------------------------------- #
def _gradient(h: int, w: int) -> np.ndarray:
    """An RGB image whose every pixel differs: red grows down, green across."""
    r = np.linspace(0, 255, h)[:, None] * np.ones(w)
    g = np.ones(h)[:, None] * np.linspace(0, 255, w)
    return np.stack([r, g, np.full((h, w), 60.0)], axis=-1).astype(np.uint8)


@pytest.mark.parametrize("mode", ["CMYK", "P", "LA", "I;16", "YCbCr", "1"])
def test_pillow_modes_load_as_they_look(tmp_path: Path, mode: str) -> None:
    # a CMYK JPEG loaded all white: its K channel was taken for alpha (item 1)
    rgb = Image.fromarray(np.tile(RGB, (8, 8, 1)))
    ext = "jpg" if mode in ("CMYK", "YCbCr") else ("tif" if mode == "I;16" else "png")
    if mode == "I;16":
        saved = Image.fromarray(np.full((8, 8), 65535 // 5, np.uint16))
        expected = np.full(3, 0.2)
    elif mode == "1":
        saved = Image.fromarray(np.eye(8, dtype=bool))
        expected = None
    else:
        saved = rgb.convert(mode)
        expected = np.asarray(saved.convert("RGB")) / 255
    f = tmp_path / f"img.{ext}"
    saved.save(f)
    img = load_image(f)
    assert img.shape == (8, 8, 3) and img.min() >= 0 and img.max() <= 1
    if mode == "1":
        np.testing.assert_array_equal(img[..., 0], np.eye(8))
        return
    atol = 0.05 if ext == "jpg" else 0.01
    np.testing.assert_allclose(img, np.broadcast_to(expected, img.shape), atol=atol)
    if mode == "CMYK":  # and as the RGB that was saved, not white
        np.testing.assert_allclose(img[4, 4], RGB / 255, atol=0.05)


def test_palette_transparency_is_composited_on_white(tmp_path: Path) -> None:
    im = Image.new("P", (4, 3))
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.putpixel((1, 1), 1)
    im.info["transparency"] = 0
    f = tmp_path / "pal.png"
    im.save(f, transparency=0)
    img = load_image(f)
    np.testing.assert_allclose(img[0, 0], [1, 1, 1])  # transparent black -> white
    np.testing.assert_allclose(img[1, 1], [1, 0, 0])


@pytest.mark.parametrize("ext", ["jpg", "png"])
@pytest.mark.parametrize("image_size", [None, (6, 4)])
def test_exif_orientation_is_applied(tmp_path: Path, ext: str, image_size) -> None:
    # a phone stores a portrait photo landscape, with orientation 6 (rotate 90 cw)
    stored = _gradient(24, 36)  # landscape pixels
    exif = Image.Exif()
    exif[0x0112] = 6
    f = tmp_path / f"portrait.{ext}"
    Image.fromarray(stored).save(f, exif=exif, quality=95)
    upright = np.rot90(stored, k=-1)  # what a viewer shows: (36, 24), portrait
    img = load_image(f, image_size=image_size)
    if image_size is None:
        assert img.shape == (36, 24, 3)
        np.testing.assert_allclose(img, upright / 255, atol=0.05)
    else:
        assert img.shape == (6, 4, 3)
        # the red ramp runs across the upright image (right to left), the green one down
        assert img[3, 0, 0] > img[3, -1, 0] + 0.3
        assert img[-1, 2, 1] > img[0, 2, 1] + 0.3


def test_big_photo_loads_small_fast(tmp_path: Path) -> None:
    # item 3: a 12-megapixel JPEG took 28 s to shrink to 32x32 with skimage's resize
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (189, 252, 3), dtype=np.uint8)
    photo = Image.fromarray(small).resize((4032, 3024), Image.Resampling.BILINEAR)
    f = tmp_path / "phone.jpg"
    photo.save(f, quality=90)
    del photo
    load_image(f, image_size=32)  # warm up the imports
    start = time.perf_counter()
    img = load_image(f, image_size=32)
    elapsed = time.perf_counter() - start
    assert img.shape == (32, 32, 3)
    assert elapsed < 2.0, f"{elapsed:.2f} s"
    # and it is the photo, shrunk: the same as a careful float resize, within JPEG noise
    ref = np.asarray(Image.fromarray(small).resize((32, 32), Image.Resampling.BOX)) / 255
    assert np.abs(img - ref).mean() < 0.03


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_folder_memory_does_not_grow_with_the_number_of_images(tmp_path: Path) -> None:
    # item 3: every image was held at full size before being resized or stacked
    side, full = 400, 400 * 400 * 3 * 4  # bytes of one float32 image at full size
    peaks = {}
    for n in (2, 8):
        root = tmp_path / f"n{n}"
        for i in range(n):
            _save(root / ("a" if i % 2 else "b") / f"{i}.png", _gradient(side, side))
        peaks[n] = _peak_bytes(lambda root=root: load_image_folder(root, image_size=16))
    assert peaks[8] < 1.5 * full, peaks
    assert peaks[8] - peaks[2] < 0.25 * full, peaks


def test_signed_pixels_map_into_unit_range(tmp_path: Path) -> None:
    # item 4: int16 with negative values loaded as [-1, 1]
    values = np.array([[-32768, -1000, 0], [1000, 20000, 32767]], dtype=np.int16)
    f = tmp_path / "signed.tif"
    imsave(f, values, check_contrast=False)
    img = load_image(f, as_gray=True)
    np.testing.assert_allclose(img, (values.astype(float) + 32768) / 65535, atol=1e-6)
    assert img.min() == 0 and img.max() == 1
    resized = load_image(f, image_size=(4, 6))
    assert resized.min() >= 0 and resized.max() <= 1


# --------------------------------------------------------------------------- #
# Sub-folders and stray files (hardening items 16, 20 of the CLI issue)
# --------------------------------------------------------------------------- #
def test_images_in_sub_folders_belong_to_their_class(same_size: Path) -> None:
    # they were dropped without a word (4 of 16 images in the probe)
    _save(same_size / "apples" / "2023" / "a.png", _constant("apples", (6, 5)))
    _save(same_size / "apples" / "2023" / "deeper" / "b.png", _constant("apples", (6, 5)))
    _save(same_size / "bananas" / ".cache" / "hidden.png", _constant("bananas", (6, 5)))
    ds = load_image_folder(same_size)
    assert ds.target_names == ["apples", "bananas", "cherries"]
    assert ds.images.shape[0] == 3 * N_PER_CLASS + 2
    names = [Path(f).relative_to(same_size).as_posix() for f in ds.filenames]
    assert names[:N_PER_CLASS + 2] == [
        "apples/2023/a.png", "apples/2023/deeper/b.png",
        *(f"apples/img{i}.png" for i in range(N_PER_CLASS))]
    assert (ds.target[:N_PER_CLASS + 2] == 0).all()
    assert not any(".cache" in name for name in names)
    np.testing.assert_allclose(ds.images[1, 0, 0], EXPECTED["apples"], atol=1e-6)


def test_a_linked_folder_that_loops_is_read_once(same_size: Path) -> None:
    try:
        (same_size / "apples" / "again").symlink_to(same_size / "apples", target_is_directory=True)
    except OSError:
        pytest.skip("no symbolic links here")
    ds = load_image_folder(same_size)
    assert ds.images.shape[0] == 3 * N_PER_CLASS


def test_image_folder_files_lists_what_load_image_folder_reads(same_size: Path) -> None:
    from sknnedu.datasets import image_folder_files

    _save(same_size / "cherries" / "old" / "c.png", _constant("cherries", (6, 5)))
    (same_size / "notes.txt").write_text("not a class")
    listed = image_folder_files(same_size)
    assert [name for name, _ in listed] == ["apples", "bananas", "cherries"]
    files = [str(f) for _, class_files in listed for f in class_files]
    assert files == load_image_folder(same_size).filenames
    with pytest.raises(FileNotFoundError):
        image_folder_files(same_size / "nope")


def test_read_image_size_reads_the_header(tmp_path: Path) -> None:
    from sknnedu.datasets import read_image_size

    f = _save(tmp_path / "wide.png", np.zeros((4, 7), np.uint8))
    assert read_image_size(f) == (4, 7)
    (tmp_path / "notes.txt").write_text("hello")
    assert read_image_size(tmp_path / "notes.txt") is None
    assert read_image_size(tmp_path / "nothere.png") is None


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("Thumbs.db", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "not an image file"),
    ("notes.txt", b"remember the milk", "not an image file"),
    ("short.txt", b"hi\n", "not an image file"),  # was a struct.unpack_from message
    ("notes.png", b"not a png at all", "not an image file"),
    ("empty.jpg", b"", "the file is empty"),
])
def test_a_file_that_is_not_an_image_is_named_plainly(tmp_path: Path, name, content, reason):
    # the message was imageio's "Could not find a backend to open `...`` with iomode `r`."
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(ValueError) as info:
        load_image(f)
    assert str(info.value).startswith(f"Cannot read image {f}: {reason}")
    assert "backend" not in str(info.value)
