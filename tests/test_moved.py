"""The module paths of 0.1 that moved (sknnedu._moved): one mechanism, a FutureWarning."""

import importlib
import subprocess
import sys

import pytest

from sknnedu._moved import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_warns_and_gives_the_new_module(old):
    sys.modules.pop(old, None)
    with pytest.warns(FutureWarning, match=f"{old} moved to {MOVED[old]}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(MOVED[old])


def test_the_warning_names_the_importing_line():
    code = ("import warnings; warnings.simplefilter('always')\n"
            "import sknnedu\n"
            "from sknnedu.network import Network\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "<string>:3: FutureWarning: sknnedu.network moved to sknnedu.nn.network" in out.stderr


def test_no_alias_module_is_left_in_the_tree():
    from pathlib import Path

    import sknnedu
    top = Path(sknnedu.__file__).parent
    left = [old for old in MOVED if (top.parent / (old.replace(".", "/") + ".py")).exists()]
    assert not left
