"""The argument parser of ``sknnedu`` and ``main``, which turns expected errors into one line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ._demo import cmd_demo
from ._model import MODELS
from ._predict import cmd_predict
from ._report import EXIT_ERROR, PROG, describe
from ._train import DEFAULT_IMAGE_SIZE, MAX_SIDE, cmd_train

#: Exit status when the reader of stdout goes away (``| head -1``): 128 + SIGPIPE,
#: the status of a Unix filter that SIGPIPE stopped.
EXIT_BROKEN_PIPE = 128 + 13


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    return parse


def _n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive integer or -1 (all cores)")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``sknnedu`` and its subcommands.

    Returns
    -------
    parser : argparse.ArgumentParser
        Each subcommand stores its handler in ``func``.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Neural networks and convolutional features written from scratch in "
                    "numpy, with scikit-learn's API.",
        epilog="Run 'sknnedu COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(title="commands", dest="command", required=True,
                                metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="compare activations on the digits, with pictures",
        description="Grid-search the notes' four activations and a few layer sizes for a "
                    "ConvFeatureTransformer -> NNClassifier pipeline on scikit-learn's 8x8 "
                    "digits, compare with MLPClassifier and a CNNClassifier, and draw the "
                    "results.")
    demo.add_argument("--quick", action="store_true",
                      help="fewer candidates and epochs, 2 folds (about 10 s)")
    demo.add_argument("--out", default="sknnedu-output", metavar="DIR",
                      help="folder for the PNG pictures (default: %(default)s)")
    demo.add_argument("--n-jobs", type=_n_jobs, default=2, metavar="N",
                      help="parallel fits, -1 for all cores (default: %(default)s)")
    demo.set_defaults(func=cmd_demo)

    train = sub.add_parser(
        "train", help="train on a folder of labelled images and save the model",
        description="Train a model on FOLDER, which holds one subfolder of images per class "
                    "(images in deeper subfolders belong to their class; files that are not "
                    "images are skipped, each named in a warning); print its cross-validated "
                    "accuracy and confusion matrix; save it to MODEL. The model is chosen "
                    "with --model: " + "; ".join(f"{k}: {v}" for k, v in MODELS.items()) + ".")
    train.add_argument("folder", metavar="FOLDER", help="folder with one subfolder per class")
    train.add_argument("--out", required=True, metavar="MODEL",
                       help="file to save the model to (e.g. model.skops)")
    train.add_argument("--image-size", nargs=2, type=_int_at_least(1), metavar=("H", "W"),
                       help="resize every image to H x W pixels (default: keep the size "
                            f"when all images share one up to {MAX_SIDE}x{MAX_SIDE}, else "
                            f"{DEFAULT_IMAGE_SIZE[0]}x{DEFAULT_IMAGE_SIZE[1]})")
    train.add_argument("--gray", action="store_true", help="convert the images to grayscale")
    train.add_argument("--model", choices=sorted(MODELS), default="conv",
                       help="conv: fixed filters then a dense network; cnn: a convolutional "
                            "network that learns its filters (default: %(default)s)")
    train.add_argument("--search", action="store_true",
                       help="grid-search the activation and the size of the dense layer")
    train.add_argument("--cv", type=_int_at_least(2), default=5, metavar="K",
                       help="cross-validation folds, at most the smallest class's count "
                            "(default: %(default)s)")
    train.add_argument("--n-jobs", type=_n_jobs, default=1, metavar="N",
                       help="parallel fits, -1 for all cores (default: %(default)s)")
    train.set_defaults(func=cmd_train)

    predict = sub.add_parser(
        "predict", help="classify images with a saved model",
        description="Print 'path<TAB>class<TAB>probability' for each IMAGE, read as the "
                    "training images were (size, grayscale). An unreadable IMAGE gets an "
                    "error line on stderr instead, the others are still classified, and the "
                    "exit status is 2.")
    predict.add_argument("model", metavar="MODEL", help="a model saved by 'sknnedu train'")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    predict.set_defaults(func=cmd_predict)
    return parser


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so that flushing it at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str or None, default=None
        The arguments after the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success; 2 on an expected error (reported as one line
        ``sknnedu: error: ...`` on stderr) or a usage error; 141 (128 + SIGPIPE),
        silently, when the reader of stdout closes it early (``| head -1``).
    """
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a usage error argparse reported
            return exc.code if isinstance(exc.code, int) else EXIT_ERROR
        return args.func(args)
    except BrokenPipeError:  # as Unix filters: stop quietly, the reader has all it wanted
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    except (OSError, ValueError) as exc:
        print(f"{PROG}: error: {describe(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError:
        print(f"{PROG}: error: out of memory; use smaller images (--image-size) or fewer "
              "of them", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
