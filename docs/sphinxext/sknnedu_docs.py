"""Build helpers of the documentation: a Sphinx extension and a sphinx-gallery scraper.

* The examples save their pictures with ``fig.savefig`` and close them, so that
  ``python examples/plot_X.py OUTDIR`` works as a plain script; matplotlib's
  scraper would see no open figure. :func:`png_scraper` instead embeds the PNG
  files that an example wrote into :data:`EXAMPLE_PNGS` while a block ran.
* The docstrings write their formulas in the notes' plain-text notation
  (``delta *= g'(z)``, ``|z|``, ``n_features_in_``), which reStructuredText would
  read as emphasis, substitutions and link targets. :func:`plain_math` escapes
  those characters outside literals, so the pages show the text as written.
* scikit-learn's generated ``set_*_request`` methods (metadata routing) are left
  out of the class pages: their docstrings link into scikit-learn's own site.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

#: Where ``conf.py`` points ``$SKNNEDU_EXAMPLES_OUT`` (inside the build folder).
EXAMPLE_PNGS = Path(__file__).resolve().parents[1] / "_build" / "example_pngs"

_seen: dict[Path, int] = {}  # PNG -> its mtime when it was last embedded


def png_scraper(block, block_vars, gallery_conf):
    """Embed, in the order they were written, the PNGs that are new since the last block."""
    new = []
    for png in EXAMPLE_PNGS.glob("*.png"):
        stamp = png.stat().st_mtime_ns
        if _seen.get(png) != stamp:
            _seen[png] = stamp
            new.append(png)
    new.sort(key=lambda p: (_seen[p], p.name))
    targets = []
    for png, target in zip(new, block_vars["image_path_iterator"]):
        shutil.copyfile(png, target)
        targets.append(target)
    return figure_rst(targets, gallery_conf["src_dir"])


# ``literal``, `interpreted text` (with an optional role before and _ or __ after)
_LITERAL = re.compile(r"(``.+?``|(?::[\w:+-]+:)?`[^`]+`_{0,2})")
_ABS = re.compile(r"(?<![\\\w])\|(?=\S)([^|`]*?\S)\|")  # |z|: absolute value, not a substitution
_INPLACE = re.compile(r"(?<!\\)\*=")  # delta *= ...: an operator, not emphasis
_TRAILING = re.compile(r"\b([A-Za-z]\w*?)_(?![\w`])")  # n_features_in_: a name, not a link


def _escape(text: str) -> str:
    parts = _LITERAL.split(text)
    for i in range(0, len(parts), 2):  # the even parts lie outside literals
        part = _ABS.sub(r"\\|\1\\|", parts[i])
        part = _INPLACE.sub(r"\\*=", part)
        parts[i] = _TRAILING.sub(r"\1\\_", part)
    return "".join(parts)


def plain_math(app, what, name, obj, options, lines):
    """Escape the plain-text formulas of a docstring, leaving literal blocks alone."""
    block_indent = None  # indentation of the line that opened a literal block or directive
    doctest = False
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if block_indent is not None:
            if not stripped or indent > block_indent:
                continue
            block_indent = None
        doctest = stripped.startswith(">>>") or (doctest and bool(stripped))
        if doctest:
            continue
        if not stripped.startswith(".. "):
            lines[i] = _escape(line)
        if stripped.endswith("::"):
            block_indent = indent


def skip_request_methods(app, what, name, obj, skip, options):
    """Leave out scikit-learn's ``set_fit_request`` and friends."""
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def setup(app):
    # after numpydoc (priority 500) has turned the sections into reST
    app.connect("autodoc-process-docstring", plain_math, priority=600)
    app.connect("autodoc-skip-member", skip_request_methods)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
