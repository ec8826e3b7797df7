"""Sphinx configuration of the sknnedu site (``make docs``).

Everything the built pages need ships with them: MathJax comes from the
``sphinx-mathjax-offline`` wheel and is copied into ``_static/``, and there is
no intersphinx (it would download inventories at build time): links to
scikit-learn's and numpy's documentation are written out in the pages.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "sphinxext"))

from sknnedu_docs import EXAMPLE_PNGS  # noqa: E402

import sknnedu  # noqa: E402

project = "sknnedu"
author = "the sknnedu developers"
copyright = "the sknnedu developers"  # noqa: A001
release = version = sknnedu.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # sets mathjax_path to the copy it ships: no CDN
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sknnedu_docs",  # sphinxext/: plain-text formulas of the docstrings, the PNG scraper
]

templates_path = ["_templates"]
exclude_patterns = ["_build"]
root_doc = "index"
default_role = "literal"

# -- API reference ---------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc docstrings give every type and shape
numpydoc_show_class_members = False  # the class template lists the methods itself
numpydoc_class_members_toctree = False

# -- The gallery -------------------------------------------------------------
# Every example writes its PNGs into $SKNNEDU_EXAMPLES_OUT (the same code that a
# person runs as `python examples/plot_X.py OUTDIR`); the scraper embeds them.
shutil.rmtree(EXAMPLE_PNGS, ignore_errors=True)
EXAMPLE_PNGS.mkdir(parents=True)
os.environ["SKNNEDU_EXAMPLES_OUT"] = str(EXAMPLE_PNGS)

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "sknnedu_docs.LessonOrder",
    "image_scrapers": ("matplotlib", "sknnedu_docs.png_scraper"),
    "run_stale_examples": True,  # never show a picture made by older code
    "doc_module": ("sknnedu",),
    "backreferences_dir": "api/generated/backreferences",
    "download_all_examples": False,
    "write_computation_times": False,
    "remove_config_comments": True,
    "min_reported_time": 10,
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sknnedu {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_static_path = ["_static"]
html_css_files = ["sknnedu.css"]
html_show_sourcelink = True
html_context = {"default_mode": "light"}

# Module pages link the names that sknnedu re-exports to their sknnedu.NAME pages
# (see _templates/autosummary/module.rst) instead of documenting them twice.
autosummary_context = {
    "toplevel": [name for name in sknnedu.__all__ if callable(getattr(sknnedu, name))]
}
