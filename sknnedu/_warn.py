"""Warnings that point at the caller's line, not at sknnedu's.

A fixed ``stacklevel`` is right only for one call path: ``fit`` and ``partial_fit``, a
subclass's override or a hook reach the same ``warnings.warn`` through different numbers
of frames. :func:`warn` counts them: it names the first frame outside this package, the
line of the user's code (or of scikit-learn's, when a ``Pipeline`` or ``GridSearchCV``
called the estimator). When every frame is sknnedu's (its command line), the outermost.
"""

from __future__ import annotations

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def stacklevel(extra: int = 0) -> int:
    """The ``stacklevel`` that names the first frame outside sknnedu.

    Parameters
    ----------
    extra : int, default=0
        Frames between the caller and the ``warnings.warn`` call: 0 when the caller
        warns itself, 1 when it passes the level to a function that warns.

    Returns
    -------
    stacklevel : int
    """
    frame = sys._getframe(1)  # the caller: stacklevel 1 of its own warnings.warn
    level = 1
    while frame.f_code.co_filename.startswith(_PACKAGE) and frame.f_back is not None:
        frame = frame.f_back
        level += 1
    return level + extra


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)`` at the first frame outside sknnedu.

    Parameters
    ----------
    message : str
    category : Warning subclass, default=UserWarning
    """
    warnings.warn(message, category, stacklevel=stacklevel())
