"""The documentation site covers the package: every public name and module is in the API reference.

The site itself is built by ``make docs`` (sphinx, with warnings as errors); these
checks only read ``docs/`` and run with the other tests, without sphinx.
"""

from __future__ import annotations

import pkgutil
import re
from pathlib import Path

import sknnedu

DOCS = Path(__file__).resolve().parents[1] / "docs"
API = DOCS / "api.rst"


def _autosummary_entries(text: str) -> set[str]:
    """The names listed in the ``.. autosummary::`` blocks of an rst file."""
    entries, inside = set(), False
    for line in text.splitlines():
        if line.startswith(".. autosummary::"):
            inside = True
        elif inside and line and not line[0].isspace():
            inside = False
        elif inside and re.fullmatch(r"   [\w.]+", line):
            entries.add(line.strip())
    return entries


def test_every_public_name_is_in_the_api_reference():
    entries = _autosummary_entries(API.read_text())
    listed = {entry.rsplit(".", 1)[-1] for entry in entries}
    missing = sorted(set(sknnedu.__all__) - listed)
    assert not missing, (
        f"docs/api.rst documents no {missing}: add each under the right heading of "
        "docs/api.rst (an estimator under 'Estimators', a function under 'Functions'), "
        "then build the site with 'make docs'."
    )


def test_every_module_is_in_the_api_reference():
    entries = _autosummary_entries(API.read_text())
    modules = {m.name for m in pkgutil.iter_modules(sknnedu.__path__) if not m.name.startswith("_")}
    missing = sorted(modules - entries)
    assert not missing, (
        f"docs/api.rst lists no module {missing}: add each under 'Modules' of docs/api.rst "
        "(the numpy core or the estimators), then build the site with 'make docs'."
    )


def test_every_user_guide_page_is_in_its_toctree():
    index = (DOCS / "user_guide" / "index.rst").read_text()
    pages = sorted(p.stem for p in (DOCS / "user_guide").glob("*.rst") if p.stem != "index")
    assert len(pages) >= 8
    for page in pages:
        assert f"\n   {page}\n" in index, page

