"""The documentation site covers the package: every public name and module is in the API reference,
and the user guide's code runs.

The site itself is built by ``make docs`` (sphinx, with warnings as errors); these
checks only read ``docs/`` and run with the other tests, without sphinx.
"""

from __future__ import annotations

import ast
import doctest
import io
import pkgutil
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

import sknnedu
import sknnedu.nn

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


def _old_path(path: Path) -> bool:
    """An old module path kept for one release: its docstring starts 'Moved to'."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    return bool(doc) and doc.startswith("Moved to")


def _modules() -> tuple[set[str], set[str]]:
    """The modules of sknnedu and of sknnedu.nn, as api.rst names them (``rnn``,
    ``nn.recurrent``), and the old paths among them."""
    modules, old = set(), set()
    for prefix, package in (("", sknnedu), ("nn.", sknnedu.nn)):
        folder = Path(package.__path__[0])
        for m in pkgutil.iter_modules(package.__path__):
            if m.name.startswith("_"):
                continue
            source = folder / m.name / "__init__.py" if m.ispkg else folder / f"{m.name}.py"
            (old if _old_path(source) else modules).add(prefix + m.name)
    return modules, old


def test_every_module_is_in_the_api_reference():
    entries = _autosummary_entries(API.read_text())
    modules, old = _modules()
    missing = sorted(modules - entries)
    assert not missing, (
        f"docs/api.rst lists no module {missing}: add each under 'Modules' of docs/api.rst "
        "(the numpy core or the estimators), then build the site with 'make docs'."
    )
    assert {"rnn", "nn.recurrent"} <= modules  # the walk found both levels
    listed_old = sorted(old & entries)
    assert not listed_old, (
        f"docs/api.rst lists the old module paths {listed_old}, aliases kept for one "
        "release: list the modules they moved to (nn.X) instead."
    )


def test_every_user_guide_page_is_in_its_toctree():
    index = (DOCS / "user_guide" / "index.rst").read_text()
    pages = sorted(p.stem for p in (DOCS / "user_guide").glob("*.rst") if p.stem != "index")
    assert len(pages) >= 8
    for page in pages:
        assert f"\n   {page}\n" in index, page



# ------------------------------------------------------------------------------------------
# the user guide's code runs, as the docstrings' examples do
# ------------------------------------------------------------------------------------------
USER_GUIDE = DOCS / "user_guide"
#: An rst comment whose indented body is code run before the page's next blocks (not shown).
SETUP = ".. test setup:"
#: An rst comment before a block that is not run, with the reason.
SKIP = ".. test skip:"
LANGUAGES = {"python": "python", "python3": "python", "py": "python", "pycon": "pycon"}


@dataclass
class Block:
    """One code block of a page: its kind, where it starts, its code, why it is not run."""

    kind: str  # 'python', 'pycon' (doctest) or 'setup'
    line: int
    code: str
    skip: str | None = None


def _indented_body(lines: list[str], start: int) -> tuple[str, int]:
    """The indented block after a directive (options and blank lines first), dedented."""
    i = start
    while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith(":")):
        i += 1  # blank lines and directive options such as :linenos:
    body = []
    while i < len(lines) and (not lines[i].strip() or lines[i][0].isspace()):
        body.append(lines[i])
        i += 1
    return textwrap.dedent("\n".join(body)).strip("\n") + "\n", i


def _compiles(code: str) -> bool:
    try:
        compile(code, "<literal block>", "exec")
    except SyntaxError:
        return False
    return True


def code_blocks(text: str) -> list[Block]:
    """The Python of an rst page, in order: ``.. code-block:: python`` and ``pycon``,
    ``::`` literal blocks that are Python, and ``.. test setup:`` comments."""
    lines = text.splitlines()
    blocks, skip, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        kind = None
        if line.startswith(".. code-block::"):
            kind = LANGUAGES.get(line.split("::", 1)[1].strip(), "other")
        elif line.startswith(SETUP):
            kind = "setup"
        elif line.startswith(SKIP):
            skip = line[len(SKIP):].strip()
        elif line.rstrip().endswith("::") and not line.startswith(".."):
            kind = "literal"
        if kind is None:
            i += 1
            continue
        code, end = _indented_body(lines, i + 1)
        if kind == "literal":  # a diagram or a shell session is not Python
            kind = "python" if code.startswith(">>>") or _compiles(code) else "other"
        if kind == "python" and code.startswith(">>>"):
            kind = "pycon"
        if kind != "other":
            blocks.append(Block(kind, i + 1, code, skip if kind != "setup" else None))
        skip = None if kind != "setup" else skip
        i = end
    return blocks


PAGES = sorted(p.name for p in USER_GUIDE.glob("*.rst") if code_blocks(p.read_text()))


def test_the_user_guide_has_code_to_run():
    assert {"cnn.rst", "large_data.rst"} <= set(PAGES)
    blocks = code_blocks((USER_GUIDE / "large_data.rst").read_text())
    assert [(b.kind, b.skip is not None) for b in blocks] == [
        ("setup", False), ("python", False), ("python", False), ("python", True)]


def _run_doctest(block: Block, namespace: dict, name: str) -> None:
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block.code, namespace, name, name, block.line)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = io.StringIO()
    runner.run(test, out=report.write, clear_globs=False)
    namespace.update(test.globs)  # a DocTest runs in a copy: later blocks see its names
    assert runner.failures == 0, report.getvalue()


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_user_guide_code_runs(page, tmp_path, monkeypatch):
    """Each page's blocks run in order in one namespace, in an empty folder; ``pycon``
    blocks are doctests, whose printed results must match."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__docs__"}
    for block in code_blocks((USER_GUIDE / page).read_text()):
        name = f"{page}:{block.line}"
        if block.skip is not None:
            compile(block.code, name, "exec")  # not run, but it must still be Python
            continue
        try:
            if block.kind == "pycon":
                _run_doctest(block, namespace, name)
            else:
                exec(compile(block.code, name, "exec"), namespace)  # noqa: S102
        except ModuleNotFoundError as exc:  # an optional extra, such as dask
            pytest.skip(f"{name} needs {exc.name}")
