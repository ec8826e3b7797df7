"""``python -m sknnedu``: the command line of :mod:`sknnedu.cli`."""

from sknnedu.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
