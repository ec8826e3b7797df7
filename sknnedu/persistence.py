"""Save fitted models to disk and load them back, safely, with skops.

:func:`save_model` writes a fitted estimator (an :class:`~sknnedu.NNClassifier`,
a :class:`~sknnedu.feature_extraction.ConvFeatureTransformer`, or a
:class:`~sklearn.pipeline.Pipeline` of them) together with a dict of metadata
(the class names, the image size...) into one ``skops`` file. :func:`load_model`
reads the estimator back, as ``skops.io.load``, ``joblib.load`` and
``pickle.load`` do; :func:`load_metadata` reads the metadata, and
``load_model(path, return_metadata=True)`` both at once::

    model = load_model("pets.skops")
    model.predict(X)
    load_metadata("pets.skops")["image_size"]          # [32, 32]
    model, metadata = load_model("pets.skops", return_metadata=True)

Why skops and not pickle
------------------------
Unpickling runs whatever code the file names, so a pickle from an untrusted
source can do anything to your computer. A skops file is a zip of a JSON
description plus ``.npy`` arrays; loading it rebuilds only objects whose types
are *trusted*. skops trusts builtins, numpy arrays and scikit-learn's own
estimators by default; :func:`load_model` adds exactly the types listed in
:data:`TRUSTED_TYPES` (sknnedu's estimators) and refuses a file that names any
other type, before building anything from it. It never passes
``trusted=True``.

pickle and joblib still work (the fitted estimators hold only numpy arrays and
builtins) and are fine for files you wrote yourself.

File layout
-----------
The skops file holds one dict::

    {"format": "sknnedu-model", "format_version": 1, "sknnedu_version": "0.1.0",
     "model": <the estimator>, "metadata": {...}}
"""

from __future__ import annotations

import os
import zipfile
import zlib
from typing import Any, NamedTuple

import skops.io as sio
from skops.io.exceptions import UnsupportedTypeException, UntrustedTypesFoundException

__all__ = ["TRUSTED_TYPES", "LoadedModel", "load_metadata", "load_model", "save_model"]

FORMAT = "sknnedu-model"
FORMAT_VERSION = 1

#: Types that :func:`load_model` trusts on top of skops' defaults (builtins,
#: numpy arrays and dtypes, scikit-learn's estimators such as ``Pipeline``):
#: the project's own estimators. Anything else a file names is refused.
TRUSTED_TYPES: tuple[str, ...] = (
    "sknnedu.neural_network.NNClassifier",
    "sknnedu._regressor.NNRegressor",
    # files of 0.1 name NNRegressor where it was rewritten to live (it is importable there)
    "sknnedu.neural_network.NNRegressor",
    "sknnedu.cnn.CNNClassifier",
    "sknnedu.cnn.CNNRegressor",
    "sknnedu.feature_extraction.ConvFeatureTransformer",
    "sknnedu.rnn.RNNClassifier",
    "sknnedu.rnn.RNNRegressor",
    "sknnedu.sequence_cnn.SequenceCNNClassifier",
    "sknnedu.sequence_cnn.SequenceCNNRegressor",
    "sknnedu.transformer.TransformerClassifier",
    "sknnedu.transformer.TransformerRegressor",
    "sknnedu.text.TextSequencer",
)

_METADATA_SCALARS = (str, int, float, bool, type(None))

#: What skops raises on a truncated, corrupt or hand-edited file (ValueError
#: covers broken JSON, TypeError an unknown loader).
_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, IndexError, TypeError,
            AttributeError, ImportError, ValueError)


class LoadedModel(NamedTuple):
    """What ``load_model(path, return_metadata=True)`` returns: ``model, metadata = ...``.

    Attributes
    ----------
    model : estimator
        The fitted estimator, as it was saved.
    metadata : dict
        The ``metadata`` given to :func:`save_model` (``{}`` if none).
    """

    model: Any
    metadata: dict


def _check_metadata(value: Any, where: str = "metadata") -> None:
    """Refuse metadata that is not made of builtins (it must load without trust)."""
    if type(value) in _METADATA_SCALARS:
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            _check_metadata(item, f"{where}[{i}]")
        return
    if type(value) is dict:
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where} keys must be str; got {key!r}")
            _check_metadata(item, f"{where}[{key!r}]")
        return
    raise ValueError(
        f"{where} must hold only str, int, float, bool, None, list, tuple and dict; "
        f"got {type(value).__name__} {value!r}. Convert numpy values with .tolist()."
    )


def save_model(model: Any, path: str | os.PathLike[str], *, metadata: dict | None = None) -> None:
    """Write a fitted estimator and its metadata to a skops file.

    Parameters
    ----------
    model : estimator
        Usually a fitted :class:`~sknnedu.NNClassifier` or a ``Pipeline`` ending
        in one. Any object skops can store is accepted, but :func:`load_model`
        only reads back the types of :data:`TRUSTED_TYPES` and skops' defaults.
    path : str or path-like
        Where to write; by convention the name ends in ``.skops``. An existing
        file is replaced.
    metadata : dict or None, default=None
        What a later user needs to apply the model, e.g.
        ``{"class_names": [...], "image_size": [32, 32], "as_gray": False}``.
        Keys are str; values are builtins (str, int, float, bool, None, and
        lists, tuples and dicts of them).

    Raises
    ------
    ValueError
        If ``metadata`` holds something other than builtins, or skops cannot
        store ``model``.
    OSError
        If the file cannot be written.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_digits
    >>> from sknnedu import NNClassifier
    >>> from sknnedu.persistence import load_model, save_model
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = NNClassifier((16,), max_iter=20, random_state=0).fit(X / 16, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "digits.skops")
    >>> save_model(clf, path, metadata={"image_size": [8, 8]})
    >>> loaded = load_model(path)
    >>> bool((loaded.predict(X / 16) == clf.predict(X / 16)).all())
    True
    >>> from sknnedu.persistence import load_metadata
    >>> load_metadata(path)
    {'image_size': [8, 8]}
    """
    metadata = {} if metadata is None else metadata
    if type(metadata) is not dict:
        raise ValueError(f"metadata must be a dict or None; got {type(metadata).__name__}")
    _check_metadata(metadata)
    from . import __version__

    envelope = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sknnedu_version": __version__,
        "model": model,
        "metadata": metadata,
    }
    try:
        sio.dump(envelope, os.fspath(path))
    except UnsupportedTypeException as exc:
        raise ValueError(f"Cannot save the model to {os.fspath(path)}: {exc}") from exc


def _bad_file(path: str, reason: str) -> ValueError:
    return ValueError(
        f"{path} is not a readable sknnedu model file ({reason}); "
        "save one with sknnedu.persistence.save_model or `sknnedu train`"
    )


def _read(path: str | os.PathLike[str]) -> LoadedModel:
    """The model and metadata of a file written by :func:`save_model`, types audited first."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Model file not found: '{path}'")
    if os.path.isdir(path):
        raise IsADirectoryError(f"'{path}' is a folder, not a model file")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (PermissionError, FileNotFoundError):
        raise
    except (*_CORRUPT, OSError) as exc:  # a damaged zip can also seek before its start
        raise _bad_file(path, f"{type(exc).__name__}: {exc}") from exc
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise ValueError(
            f"{path} names types that sknnedu does not trust, so it was not loaded: "
            f"{refused}. Only files made by sknnedu.persistence.save_model from "
            f"sknnedu and scikit-learn estimators are accepted (trusted: {list(TRUSTED_TYPES)})."
        )
    try:
        envelope = sio.load(path, trusted=list(untrusted))
    except UntrustedTypesFoundException as exc:  # a type the audit above did not see
        raise ValueError(f"{path} was not loaded: {exc}") from exc
    except (PermissionError, FileNotFoundError):
        raise
    except (*_CORRUPT, OSError) as exc:
        raise _bad_file(path, f"{type(exc).__name__}: {exc}") from exc

    if not (isinstance(envelope, dict) and envelope.get("format") == FORMAT):
        raise _bad_file(path, "it holds a bare object, not the dict save_model writes")
    if envelope.get("format_version") != FORMAT_VERSION:
        raise _bad_file(
            path, f"format version {envelope.get('format_version')!r}, expected {FORMAT_VERSION}"
        )
    metadata = envelope.get("metadata")
    if "model" not in envelope or type(metadata) is not dict:
        raise _bad_file(path, "its 'model' or 'metadata' entry is missing")
    model = envelope["model"]
    if not _is_estimator(model):
        raise _bad_file(path, f"its model is a {type(model).__name__}, not an estimator")
    return LoadedModel(model, metadata)


def load_model(path: str | os.PathLike[str], *, return_metadata: bool = False) -> Any:
    """Read the estimator of a file written by :func:`save_model`, trusting only known types.

    Returns the estimator, as ``skops.io.load``, ``joblib.load`` and
    ``pickle.load`` do, so ``load_model(path).predict(X)`` works. The file's
    list of types is checked first (``skops.io.get_untrusted_types``); if it
    names a type that is neither trusted by skops by default nor in
    :data:`TRUSTED_TYPES`, nothing is built and ``ValueError`` names the type.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model` (by any sknnedu version that
        writes format version 1, 0.1.0 included).
    return_metadata : bool, default=False
        Also return the metadata, from the same read of the file.

    Returns
    -------
    model : estimator
        The fitted estimator, which predicts exactly as the saved one did.
    loaded : LoadedModel
        With ``return_metadata=True``, the named tuple ``(model, metadata)``
        instead. :func:`load_metadata` gives the metadata alone.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        If ``path`` cannot be opened (an :class:`OSError`).
    ValueError
        If the file is not a skops file, is truncated or corrupt, names an
        untrusted type, was not written by :func:`save_model`, or its model is
        not an estimator (no ``fit`` and ``get_params``: a str, a dict...). The
        message starts with the path.
    """
    loaded = _read(path)
    return loaded if return_metadata else loaded.model


def load_metadata(path: str | os.PathLike[str]) -> dict:
    """Read the metadata of a file written by :func:`save_model`.

    The file is checked and read as by :func:`load_model` (the metadata is
    stored beside the estimator, in the same skops file).

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.

    Returns
    -------
    metadata : dict
        The ``metadata`` given to :func:`save_model` (``{}`` if none), e.g.
        ``{"class_names": [...], "image_size": [32, 32], "as_gray": False}``
        for a model saved by ``sknnedu train``.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, PermissionError
        If ``path`` cannot be opened (an :class:`OSError`).
    ValueError
        If the file is not a skops file, is truncated or corrupt, names an
        untrusted type, was not written by :func:`save_model`, or its model is
        not an estimator (no ``fit`` and ``get_params``: a str, a dict...). The
        message starts with the path.
    """
    return _read(path).metadata


def _is_estimator(obj: Any) -> bool:
    """scikit-learn's duck type of an estimator: ``fit`` and ``get_params`` methods."""
    return callable(getattr(obj, "fit", None)) and callable(getattr(obj, "get_params", None))
