"""Build helpers of the documentation: a Sphinx extension and a sphinx-gallery scraper.

* The examples save their pictures with ``fig.savefig`` and close them, so that
  ``python examples/plot_X.py OUTDIR`` works as a plain script; matplotlib's
  scraper would see no open figure. :func:`png_scraper` instead embeds the PNG
  files that an example wrote into :data:`EXAMPLE_PNGS` while a block ran.
* The docstrings write their formulas in the notes' plain-text notation
  (``delta *= g'(z)``, ``|z|``, ``n_features_in_``), which reStructuredText would
  read as emphasis, substitutions and link targets. :func:`plain_math` escapes
  those characters outside literals, so the pages show the text as written.
* A docstring whose summary line ends with ``::`` loses the indent of its literal
  block to numpydoc: :func:`summary_literal_block` restores it.
* The class pages document the methods sknnedu defines (its estimators' own and
  their training engine's), not those inherited from scikit-learn, whose
  docstrings link into scikit-learn's own site.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

#: Where ``conf.py`` points ``$SKNNEDU_EXAMPLES_OUT`` (inside the build folder).
EXAMPLE_PNGS = Path(__file__).resolve().parents[1] / "_build" / "example_pngs"

#: The gallery follows the notes' lessons; an example not listed comes after them.
LESSONS = (
    "plot_activations.py",
    "plot_gradient_check.py",
    "plot_symmetry.py",
    "plot_vanishing_gradients.py",
    "plot_optimizers.py",
    "plot_cat_filters.py",
    "plot_cnn_filters.py",
    "plot_grid_search.py",
)

_seen: dict[Path, int] = {}  # PNG -> its mtime when it was last embedded


class LessonOrder:
    """Sort key of the gallery (sphinx-gallery's ``within_subsection_order``)."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = Path(filename).name
        return (LESSONS.index(name) if name in LESSONS else len(LESSONS), name)


def png_scraper(block, block_vars, gallery_conf):
    """Embed, in the order they were written, the PNGs that are new since the last block."""
    new = []
    for png in EXAMPLE_PNGS.glob("*.png"):
        stamp = png.stat().st_mtime_ns
        if _seen.get(png) != stamp:
            _seen[png] = stamp
            new.append(png)
    new.sort(key=lambda p: (_seen[p], p.name))
    rst = []
    for png, target in zip(new, block_vars["image_path_iterator"]):
        shutil.copyfile(png, target)
        # one full-width image each, not a row of thumbnails: the PNGs are wide
        rst.append(figure_rst([target], gallery_conf["src_dir"]))
    return "".join(rst)


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


def summary_literal_block(app, what, name, obj, options, lines):
    """Re-indent the literal block of a docstring whose summary line ends with ``::``.

    numpydoc dedents the text after the summary line, so in ``From dz[l]::``
    followed by the indented formulas, reST then finds no literal block: give the
    block back 4 spaces. Runs after numpydoc.
    """
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or not lines[first].rstrip().endswith("::"):
        return
    start = first + 2
    if start >= len(lines) or lines[first + 1].strip() or not lines[start].strip():
        return
    end = start
    while end < len(lines) and lines[end].strip():
        if lines[end][0].isspace():  # the block kept its indent: nothing to repair
            return
        end += 1
    lines[start:end] = ["    " + line for line in lines[start:end]]


def skip_foreign_members(app, what, name, obj, skip, options):
    """On a class page, document the members sknnedu defines, not scikit-learn's.

    Methods inherited from sknnedu's own bases (``fit`` from the training engine)
    stay; ``get_params``, ``set_output``, ``set_fit_request`` and the like, whose
    docstrings link into scikit-learn's site, are left out.
    """
    if what != "class":
        return None
    fn = obj.fget if isinstance(obj, property) else obj
    module = getattr(fn, "__module__", None)
    if isinstance(module, str) and not module.startswith("sknnedu"):
        return True
    return None


def setup(app):
    # after numpydoc (priority 500) has turned the sections into reST
    app.connect("autodoc-process-docstring", summary_literal_block, priority=550)
    app.connect("autodoc-process-docstring", plain_math, priority=600)
    app.connect("autodoc-skip-member", skip_foreign_members)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
