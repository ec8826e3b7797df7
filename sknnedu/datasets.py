"""Load images from disk into arrays that scikit-learn estimators accept.

The notes keep a labelled image set as one folder per class::

    data/cats_and_dogs/
        cats/  cat001.jpg  cat002.png ...
        dogs/  dog001.jpg  dog002.png ...

:func:`load_image_folder` turns such a tree into a :class:`~sklearn.utils.Bunch`
in the spirit of :func:`sklearn.datasets.load_digits`: ``data`` of shape
``(n, h*w*c)`` for a ``Pipeline``, ``images`` of shape ``(n, h, w[, c])`` for
the convolution code, and ``target``/``target_names`` from the folder names.
:func:`load_image` reads one file the same way (the command line
``sknnedu predict MODEL IMAGE...`` uses it), so an image seen at prediction time
goes through exactly the conversions the training images went through.

Every image, whatever its file format, becomes floating point in ``[0, 1]``:

==================== ===================================================
read from the file   becomes
==================== ===================================================
uint8 / uint16 / ... divided by the dtype's maximum (``img_as_float``)
int8 / int16 / ...   ``(x - min) / (max - min)`` of the dtype's range
bool                 0.0 / 1.0
float (e.g. TIFF)    kept as is; values outside [0, 1] are an error
(h, w) gray          stacked to (h, w, 3), or kept with ``as_gray=True``
(h, w, 2) gray+alpha composited on white, then as gray
(h, w, 3) RGB        kept, or ``rgb2gray`` with ``as_gray=True``
(h, w, 4) RGBA       composited on white (``rgba2rgb``)
(frames, h, w, c)    first frame (animated GIF)
palette, CMYK, YCbCr RGB, as Pillow displays them (palette transparency
                     composited on white)
==================== ===================================================

JPEGs, PNGs and the other formats Pillow reads are turned upright by their EXIF
orientation tag (a portrait phone photo loads as portrait) and resized to
``image_size`` by Pillow while they are decoded: a JPEG is decoded at 1/2, 1/4
or 1/8 scale when that leaves at least twice ``image_size``, then box-reduced
and Lanczos-resampled (alpha premultiplied), so a 12-megapixel photo becomes a
32x32 image in a few tens of milliseconds without ever being held in float.
Other files (TIFF of int16 or float, 16-bit grey) are read with
``skimage.io.imread``, converted to float and Lanczos-resampled channel by
channel, values clipped to [0, 1].
"""

from __future__ import annotations

import os
import warnings
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from skimage import io
from skimage.color import gray2rgb, rgb2gray, rgba2rgb
from skimage.util import img_as_float32, img_as_float64
from sklearn.utils import Bunch

from .ts_format import load_ts, sktime_ts_path

__all__ = ["image_folder_files", "load_image", "load_image_folder", "load_ts", "read_image_size",
           "sktime_ts_path"]

_ON_ERROR = ("raise", "skip")

# ------------------------------------------------------------- argument checks
# --------------------------------------------------------------------------- #
def _check_image_size(image_size: Any) -> tuple[int, int] | None:
    """Return ``image_size`` as ``(h, w)``, or None; an int n means ``(n, n)``."""
    if image_size is None:
        return None
    if isinstance(image_size, Integral) and not isinstance(image_size, bool):
        size: tuple[Any, ...] = (image_size, image_size)
    elif isinstance(image_size, (tuple, list)) and len(image_size) == 2:
        size = tuple(image_size)
    else:
        raise ValueError(
            f"image_size must be None, an int or an (h, w) pair of ints, got {image_size!r}"
        )
    if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in size):
        raise ValueError(f"image_size must hold positive ints, got {image_size!r}")
    return int(size[0]), int(size[1])


def _check_dtype(dtype: Any) -> np.dtype:
    """Return ``dtype`` as a numpy floating dtype, or raise ValueError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise ValueError(f"dtype must be a floating dtype such as np.float32, got {dtype!r}")
    return dt


# --------------------------------------------------------------------------- #
# One file
# --------------------------------------------------------------------------- #
#: Pillow modes read through Pillow, and the 8-bit mode each becomes before resizing.
_PIL_MODES = {
    "1": "L", "L": "L", "LA": "LA", "La": "LA", "P": "RGBA", "PA": "RGBA",
    "RGB": "RGB", "RGBA": "RGBA", "RGBa": "RGBA", "RGBX": "RGB",
    "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB",
}
#: Pillow's 16-bit grey modes: read as uint16 arrays (``img_as_float`` divides by 65535).
_PIL_16BIT = ("I;16", "I;16L", "I;16B", "I;16N")
#: EXIF orientations that swap width and height (rotations by 90 degrees).
_TRANSPOSED = (5, 6, 7, 8)
_ORIENTATION = 0x0112


def _decode_error(path: str, exc: BaseException | None) -> ValueError:
    """The error for a file that does not decode; ``exc=None``: no reader recognises it."""
    if exc is not None:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    elif os.path.getsize(path) == 0:
        reason = "the file is empty"
    else:  # Thumbs.db, notes.txt: the decoders' own words would only confuse
        reason = "not an image file (neither Pillow nor imageio can read it)"
    return ValueError(f"Cannot read image {path}: {reason}")


def _pillow_recognises(path: str) -> bool:
    try:
        with Image.open(path):
            return True
    except Exception:  # UnidentifiedImageError, or a header it cannot parse
        return False


def _read_other(path: str) -> np.ndarray:
    """``skimage.io.imread`` (TIFF, and what Pillow does not read), failures as ValueError."""
    try:
        with warnings.catch_warnings():
            # imageio imports its legacy plugins (DICOM, ...) while it looks for one
            # that reads a non-image file; their deprecation notices are noise here
            warnings.filterwarnings(
                "ignore", message="The legacy .* plugin is deprecated", category=DeprecationWarning
            )
            return np.asarray(io.imread(path))
    except MemoryError:
        raise
    except Exception as exc:  # PIL, imageio and tifffile raise many kinds
        raise _decode_error(path, exc if _pillow_recognises(path) else None) from exc


def _read_pil(path: str, size: tuple[int, int] | None) -> np.ndarray | None:
    """Decode with Pillow, upright, shrunk to ``size`` as early as the format allows.

    JPEGs are decoded at 1/2, 1/4 or 1/8 scale when that still leaves at least
    twice ``size`` (``Image.draft``: the DCT does the first downscale for free);
    the EXIF orientation is applied (``ImageOps.exif_transpose``); the mode becomes
    L, LA, RGB or RGBA (CMYK, palette, YCbCr... converted as Pillow displays
    them); and the image is resized with Lanczos after a box ``reduce`` (Pillow's
    ``reducing_gap``), alpha premultiplied. 16-bit grey comes back full size as
    uint16, to be resized in float. Returns None when Pillow cannot read the file
    or its mode (float or 32-bit TIFF...), for ``skimage.io.imread`` to try.
    """
    try:
        im = Image.open(path)
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    with im:
        if im.mode not in _PIL_MODES and im.mode not in _PIL_16BIT:
            return None  # e.g. int16 or float TIFF: tifffile keeps their dtype
        try:
            if size is not None and im.format == "JPEG":
                h, w = size
                if im.getexif().get(_ORIENTATION) in _TRANSPOSED:
                    h, w = w, h
                im.draft(im.mode, (2 * w, 2 * h))
            im = ImageOps.exif_transpose(im)
            if im.mode in _PIL_16BIT:
                return np.asarray(im, dtype=np.uint16)
            im = im.convert(_PIL_MODES[im.mode]) if im.mode != _PIL_MODES[im.mode] else im
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.LANCZOS, reducing_gap=2.0)
            return np.asarray(im)
        except MemoryError:
            raise
        except Exception as exc:  # truncated or corrupt data shows up while decoding
            raise _decode_error(path, exc) from exc


def read_image_size(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(h, w)`` of an image as it will load, read from its header only (no decoding).

    The EXIF orientation is applied, as by :func:`load_image`. A header is a few
    kilobytes whatever the image's size, so this decides cheaply how to load
    large images (``sknnedu train`` does).

    Parameters
    ----------
    path : str or path-like
        An image file.

    Returns
    -------
    size : (h, w) tuple of int, or None
        None when Pillow cannot read the header (a missing file, a format only
        ``skimage.io.imread`` reads, not an image); :func:`load_image` then says
        what is wrong.
    """
    try:
        with Image.open(path) as im:
            w, h = im.size
            if im.getexif().get(_ORIENTATION) in _TRANSPOSED:
                h, w = w, h
            return h, w
    except MemoryError:
        raise
    except Exception:  # not an image Pillow knows: let the decoder report it
        return None


def _resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Lanczos resize of a float (h, w[, c]) image in [0, 1], channel by channel."""
    channels = img[..., None] if img.ndim == 2 else img
    out = np.empty((*size, channels.shape[-1]), dtype=np.float32)
    for ch in range(channels.shape[-1]):
        band = Image.fromarray(np.ascontiguousarray(channels[..., ch], dtype=np.float32), "F")
        band = band.resize((size[1], size[0]), Image.Resampling.LANCZOS, reducing_gap=2.0)
        out[..., ch] = np.asarray(band)
    np.clip(out, 0.0, 1.0, out=out)  # Lanczos overshoots a little at edges
    return out[..., 0] if img.ndim == 2 else out


def _signed_to_unsigned(img: np.ndarray) -> np.ndarray:
    """Signed integers shifted by ``-min``: [min, max] of the dtype -> [0, max - min] unsigned.

    ``x - min`` is ``x`` with its sign bit flipped, read as unsigned (two's complement),
    so int64 does not overflow.
    """
    unsigned = np.dtype(img.dtype.str.replace("i", "u"))
    sign_bit = unsigned.type(1 << (8 * unsigned.itemsize - 1))
    return img.view(unsigned) ^ sign_bit


def _to_float_rgb(img: np.ndarray, path: str, as_gray: bool, dtype: np.dtype) -> np.ndarray:
    """Decoded array -> float (h, w, 3), or (h, w) with ``as_gray``, in [0, 1]."""
    if img.ndim == 4:  # (frames, h, w, c): animated GIF, keep the first frame
        img = img[0]
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[-1] in (2, 3, 4))):
        raise ValueError(
            f"Cannot read image {path}: unsupported array shape {img.shape}; expected "
            "(h, w) gray, (h, w, 3) RGB or (h, w, 4) RGBA"
        )
    if img.size == 0:
        raise ValueError(f"Cannot read image {path}: it is empty (shape {img.shape})")

    # float32 output is computed in float32, anything wider in float64
    to_float = img_as_float32 if dtype.itemsize <= 4 else img_as_float64
    was_float = img.dtype.kind == "f"
    if img.dtype.kind == "i":  # img_as_float would give [-1, 1]
        img = _signed_to_unsigned(img)
    img = to_float(img)
    if was_float and not np.all((img >= 0) & (img <= 1)):  # also catches NaN
        raise ValueError(
            f"Cannot read image {path}: its float pixels lie in "
            f"[{np.nanmin(img):g}, {np.nanmax(img):g}], expected [0, 1]"
        )

    if img.ndim == 3 and img.shape[-1] == 2:  # gray + alpha -> RGBA
        img = np.concatenate([img[..., :1], img[..., :1], img[..., :1], img[..., 1:]], axis=-1)
    if img.ndim == 3 and img.shape[-1] == 4:
        img = rgba2rgb(img)  # composite on a white background
    if as_gray:
        return rgb2gray(img) if img.ndim == 3 else img
    return gray2rgb(img) if img.ndim == 2 else img


def _load(path: str, size: tuple[int, int] | None, as_gray: bool, dtype: np.dtype) -> np.ndarray:
    """Read, convert and resize one file; arguments already checked.

    Pillow's formats are resized while decoding (see :func:`_read_pil`), so a
    12-megapixel JPEG never exists at full size in float; the rest (TIFF of
    int16 or float, 16-bit grey) are converted to float, then resized.
    """
    img = _read_pil(path, size)
    if img is None:
        img = _read_other(path)
    img = _to_float_rgb(img, path, as_gray, dtype)
    if size is not None and img.shape[:2] != size:
        img = _resize(img, size)
    return img.astype(dtype, copy=False)


def load_image(
    path: str | os.PathLike[str],
    *,
    image_size: int | tuple[int, int] | None = None,
    as_gray: bool = False,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Read one image file as a float array in [0, 1].

    The conversions are those of :func:`load_image_folder` (see the module
    docstring), so a single image read here matches the training images.

    Parameters
    ----------
    path : str or path-like
        An image file in any format Pillow or ``skimage.io.imread`` reads
        (PNG, JPEG, BMP, TIFF, GIF, ...).
    image_size : int or (h, w) tuple, default=None
        Resize to this shape (an int n means (n, n)), anti-aliased (Lanczos
        after a box reduction; see the module docstring). None keeps the
        file's size.
    as_gray : bool, default=False
        Return luminance ``rgb2gray`` of shape (h, w) instead of (h, w, 3).
    dtype : floating dtype, default=np.float32
        dtype of the returned array.

    Returns
    -------
    image : ndarray of shape (h, w, 3), or (h, w) when ``as_gray``
        Pixel values in [0, 1].

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a folder (use :func:`load_image_folder`).
    ValueError
        If the file is not an image or is corrupt (the message names the file),
        or an argument is invalid.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skimage.io import imsave
    >>> from sknnedu.datasets import load_image
    >>> f = os.path.join(tempfile.mkdtemp(), "red.png")
    >>> red = np.tile(np.array([255, 0, 0], np.uint8), (4, 6, 1))
    >>> imsave(f, red, check_contrast=False)
    >>> img = load_image(f, image_size=2)
    >>> img.shape, img.dtype, img[0, 0].tolist()
    ((2, 2, 3), dtype('float32'), [1.0, 0.0, 0.0])
    """
    size = _check_image_size(image_size)
    dt = _check_dtype(dtype)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Image file not found: '{path}'")
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"'{path}' is a folder, not an image file; use load_image_folder for a folder"
        )
    return _load(path, size, bool(as_gray), dt)


# --------------------------------------------------------------------------- #
# A folder of class folders
# --------------------------------------------------------------------------- #
def _visible(entries: Any) -> list[Path]:
    """Sorted entries whose names do not start with '.' (hidden)."""
    return sorted((p for p in entries if not p.name.startswith(".")), key=lambda p: p.name)


def _files_under(folder: Path, ancestors: frozenset = frozenset()) -> list[Path]:
    """Visible files in ``folder`` and its visible sub-folders (not a link back up), by path."""
    real = folder.resolve()
    if real in ancestors:
        return []
    files: list[Path] = []
    for entry in _visible(folder.iterdir()):
        if entry.is_dir():
            files += _files_under(entry, ancestors | {real})
        elif entry.is_file():
            files.append(entry)
    return files


def _check_root(root: Path) -> None:
    if not root.exists():
        raise FileNotFoundError(f"Image folder not found: '{root}'")
    if not root.is_dir():
        raise NotADirectoryError(
            f"'{root}' is not a folder; load_image_folder expects a folder with one "
            "subfolder per class (use load_image for a single file)"
        )


def image_folder_files(path: str | os.PathLike[str]) -> list[tuple[str, list[Path]]]:
    """The classes of an image folder and their files, as :func:`load_image_folder` reads them.

    Class folders are the sub-folders of ``path``, sorted by name; a class's
    files are those in its folder and, at any depth, its sub-folders (as
    torchvision's ``ImageFolder``), sorted by path. Hidden names (``.DS_Store``,
    ``.ipynb_checkpoints``) and plain files directly in ``path`` are left out.
    No file is opened: whether it is an image is found out when it is read.

    Parameters
    ----------
    path : str or path-like
        The folder holding the class subfolders.

    Returns
    -------
    classes : list of (str, list of Path)
        ``(class name, its files)`` per class folder, in label order; ``[]``
        when ``path`` has no class folder.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    NotADirectoryError
        If ``path`` is a file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sknnedu.datasets import image_folder_files
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ["dogs/d1.png", "cats/c2.png", "cats/old/c1.png", "cats/.DS_Store"]:
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     (root / name).touch()
    >>> [(c, [f.name for f in files]) for c, files in image_folder_files(root)]
    [('cats', ['c2.png', 'c1.png']), ('dogs', ['d1.png'])]
    """
    root = Path(path)
    _check_root(root)
    class_dirs = [p for p in _visible(root.iterdir()) if p.is_dir()]
    return [(d.name, _files_under(d)) for d in class_dirs]


def _labelled_files(root: Path, classes: list[tuple[str, list[Path]]]) -> list[tuple[int, Path]]:
    """``(label, file)`` pairs; an error without class folders, a warning per empty class."""
    if not classes:
        loose = sum(p.is_file() for p in _visible(root.iterdir()))
        hint = f"; it holds {loose} file(s) directly, move them into class folders" if loose else ""
        raise ValueError(
            f"No class subfolders in '{root}': expected one subfolder per class, "
            f"e.g. '{root / 'cats'}/' and '{root / 'dogs'}/', each holding images{hint}"
        )
    labelled: list[tuple[int, Path]] = []
    for label, (name, files) in enumerate(classes):
        if not files:
            warnings.warn(f"Class folder '{root / name}' holds no files; class '{name}' will "
                          "have no samples", UserWarning, stacklevel=3)
        labelled += [(label, file) for file in files]
    return labelled


def _read_images(labelled: list[tuple[int, Path]], size: tuple[int, int] | None, as_gray: bool,
                 dtype: np.dtype, on_error: str):
    """Read the files one at a time into one array (peak: the result and one image).

    Returns the images (None if none was read), labels, paths and the number skipped.
    """
    stacked: np.ndarray | None = None
    target: list[int] = []
    filenames: list[str] = []
    n_skipped = 0
    for label, file in labelled:
        name = str(file)
        try:
            img = _load(name, size, as_gray, dtype)
        except ValueError as exc:
            if on_error == "raise":
                raise
            warnings.warn(f"{exc}; skipped", UserWarning, stacklevel=3)
            n_skipped += 1
            continue
        if stacked is None:
            stacked = np.empty((len(labelled) - n_skipped, *img.shape), dtype=dtype)
        elif img.shape != stacked.shape[1:]:
            raise ValueError(
                f"Images differ in size: '{filenames[0]}' has shape {stacked.shape[1:]} "
                f"but '{name}' has shape {img.shape}; pass image_size=(h, w) to "
                "resize them all to one size"
            )
        stacked[len(filenames)] = img
        del img
        target.append(label)
        filenames.append(name)
    if stacked is not None:
        stacked = stacked[: len(filenames)]  # files skipped after the first image
    return stacked, target, filenames, n_skipped


def load_image_folder(
    path: str | os.PathLike[str],
    *,
    image_size: int | tuple[int, int] | None = None,
    as_gray: bool = False,
    on_error: str = "raise",
    dtype: Any = np.float32,
) -> Bunch:
    """Load a labelled image set stored as one subfolder per class.

    ``path/cats/*.png`` and ``path/dogs/*.jpg`` give ``target_names
    == ['cats', 'dogs']`` and ``target`` 0 for cats, 1 for dogs. Class folders
    are sorted by name; images in sub-folders of a class folder (``cats/2023/``)
    belong to that class. Names starting with ``'.'`` are ignored, as are plain
    files directly in ``path`` (:func:`image_folder_files` lists what is read).
    Every other file is read with :func:`load_image`, so a stray ``notes.txt``
    or ``Thumbs.db`` is reported (an error, or with ``on_error='skip'`` a
    warning naming it), never silently dropped.

    Parameters
    ----------
    path : str or path-like
        The folder holding the class subfolders.
    image_size : int or (h, w) tuple, default=None
        Resize every image to this shape (an int n means (n, n)). None keeps
        the files' size, which must then be the same for all of them.
    as_gray : bool, default=False
        Load luminance images of shape (h, w) instead of (h, w, 3).
    on_error : {'raise', 'skip'}, default='raise'
        What to do with a file that is not a readable image: raise
        ``ValueError``, or warn (``UserWarning`` naming the file) and skip it.
    dtype : floating dtype, default=np.float32
        dtype of ``data`` and ``images``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes

        data : ndarray of shape (n, h*w*c)
            One flattened image per row, values in [0, 1]; c is 3, or 1 with
            ``as_gray`` (then the row has h*w values).
        images : ndarray of shape (n, h, w, 3), or (n, h, w) with ``as_gray``
            The same pixels as ``data`` (the two share memory).
        target : ndarray of shape (n,), int64
            Class index of each image into ``target_names``.
        target_names : list of str
            Class (subfolder) names, sorted.
        filenames : list of str
            Path of each image, in the order of ``data``.
        image_shape : tuple
            ``images.shape[1:]``.
        DESCR : str
            One line describing what was loaded, with the number of files
            skipped (``on_error='skip'``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    NotADirectoryError
        If ``path`` is a file.
    ValueError
        If there are no class subfolders or no images, if a file cannot be
        read (with ``on_error='raise'``), if the images differ in size and
        ``image_size`` is None, or if an argument is invalid.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skimage.io import imsave
    >>> from sknnedu.datasets import load_image_folder
    >>> root = tempfile.mkdtemp()
    >>> for name, value in [("cats", 0), ("dogs", 255)]:
    ...     os.mkdir(os.path.join(root, name))
    ...     for i in range(2):
    ...         img = np.full((5, 4), value, np.uint8)
    ...         imsave(os.path.join(root, name, f"{i}.png"), img, check_contrast=False)
    >>> ds = load_image_folder(root, image_size=(3, 3))
    >>> ds.data.shape, ds.images.shape, ds.target.tolist(), ds.target_names
    ((4, 27), (4, 3, 3, 3), [0, 0, 1, 1], ['cats', 'dogs'])
    """
    size = _check_image_size(image_size)
    dt = _check_dtype(dtype)
    if on_error not in _ON_ERROR:
        raise ValueError(f"on_error must be one of {_ON_ERROR}, got {on_error!r}")
    root = Path(path)

    classes = image_folder_files(root)
    labelled = _labelled_files(root, classes)
    images, target, filenames, n_skipped = _read_images(
        labelled, size, bool(as_gray), dt, on_error)

    target_names = [name for name, _ in classes]
    skipped = f" ({n_skipped} unreadable file(s) skipped)" if n_skipped else ""
    if images is None:
        raise ValueError(
            f"No images found in '{root}'{skipped}: expected image files (PNG, JPEG, ...) "
            f"in its class subfolders {target_names}"
        )
    return Bunch(
        data=images.reshape(len(images), -1),
        images=images,
        target=np.asarray(target, dtype=np.int64),
        target_names=target_names,
        filenames=filenames,
        image_shape=images.shape[1:],
        DESCR=(
            f"{len(images)} images of shape {images.shape[1:]} in {len(target_names)} "
            f"classes {target_names}, loaded from '{root}'{skipped}"
        ),
    )
