"""How NNClassifier's fit time and peak memory grow: with rows, with width, with epochs.

Data: ``make_classification`` rows of 784 float32 features, 10 classes (made once, saved as
``.npy`` in a temporary folder). Model: adam, batch 200, one hidden ReLU layer. Three sweeps:

* rows: 10k, 60k, 240k at hidden (256,), 3 epochs;
* width: hidden (64,), (256,), (1024,) at 60k rows, 3 epochs;
* epochs: 1, 3, 9 at 60k rows, hidden (256,): the peak must not grow with the epochs, since
  every epoch reuses the same buffers.

Each run is a fresh subprocess that loads its data (into memory, not memory-mapped), notes its
resident set size, fits, and notes the peak resident set size during fit (``VmHWM``, reset
after loading where Linux allows): the difference is what fit itself needed on top of the
data. A subprocess per run is the honest measure: nothing freed by an earlier run can hide a
later one's peak, and everything counts (numpy, BLAS, Python).

    .venv/bin/python benchmarks/bench_scale.py [--quick] [--repeats 3]

``--quick`` divides every row count by 6 (about 1.7k, 10k, 40k rows) for a run of a minute or
so; the full run needs about 3 GB of memory and a few minutes. Each configuration runs
``--repeats`` times and the fastest is shown, the least disturbed by other work.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FEATURES = 784
CLASSES = 10
ROWS = (10_000, 60_000, 240_000)
WIDTHS = (64, 256, 1024)
EPOCHS = (1, 3, 9)
BASE_ROWS, BASE_WIDTH, BASE_EPOCHS = 60_000, 256, 3
MB = 2**20


def memory() -> tuple[int, int]:
    """(current, peak) resident set size of this process, in bytes.

    On Linux from ``/proc/self/status`` (VmRSS, VmHWM): VmHWM starts afresh at exec, unlike
    ``ru_maxrss``, which keeps the parent's peak from before the fork. Elsewhere both are
    ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f)
        return (int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024)
    except (OSError, KeyError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = peak if sys.platform == "darwin" else peak * 1024
        return peak, peak


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so that the next peak is fit's own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ------------------------------------------------------------------------------------------
# one run, in a child process
# ------------------------------------------------------------------------------------------
def child(spec: dict) -> dict:
    """Load the data, fit, and measure; returns the numbers as a dict."""
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning

    from sknnedu import NNClassifier

    X = np.load(spec["X"])
    y = np.load(spec["y"])
    clf = NNClassifier((spec["width"],), solver="adam", batch_size=200,
                       max_iter=spec["epochs"], n_iter_no_change=spec["epochs"] + 1,
                       random_state=0)
    reset = reset_peak()
    before, _ = memory()
    start, start_cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    _, peak = memory()
    return dict(spec, seconds=seconds, cpu_seconds=cpu, epochs_run=clf.n_iter_,
                data_bytes=X.nbytes + y.nbytes, rss_before=before, rss_peak=peak,
                peak_reset=reset, loss=clf.loss_)


def run_in_subprocess(spec: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"run {spec} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def best_of(spec: dict, repeats: int) -> dict:
    """``repeats`` fresh subprocesses: the fastest time (the least disturbed by other work on
    the machine) and the largest memory figures."""
    runs = [run_in_subprocess(spec) for _ in range(repeats)]
    best = min(runs, key=lambda r: r["seconds"])
    return dict(best, rss_peak=max(r["rss_peak"] for r in runs),
                rss_before=min(r["rss_before"] for r in runs), repeats=repeats)


# ------------------------------------------------------------------------------------------
# the sweeps
# ------------------------------------------------------------------------------------------
def make_data(folder: Path, rows: list[int]) -> dict[int, tuple[str, str]]:
    """The first n rows of one big make_classification set, saved per n as X_n.npy, y_n.npy."""
    import numpy as np
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=max(rows), n_features=FEATURES, n_informative=64,
                               n_redundant=0, n_classes=CLASSES, random_state=0)
    X = X.astype(np.float32)
    paths = {}
    for n in sorted(set(rows)):
        paths[n] = (str(folder / f"X_{n}.npy"), str(folder / f"y_{n}.npy"))
        np.save(paths[n][0], X[:n])
        np.save(paths[n][1], y[:n])
    return paths


def blas_description() -> str:
    import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)
    from threadpoolctl import threadpool_info

    blas = [f"{p['internal_api']} {p.get('version')} x{p['num_threads']} threads"
            for p in threadpool_info() if p["user_api"] == "blas"]
    return ", ".join(blas[:1]) or "unknown BLAS"


def print_table(results: list[dict]) -> None:
    head = (f"{'sweep':<7} {'rows':>8} {'hidden':>7} {'epochs':>6} {'data MB':>8} "
            f"{'fit s':>8} {'CPU s':>8} {'s/epoch':>8} {'us/row/ep':>9} {'peak RSS MB':>11} "
            f"{'fit extra MB':>12}")
    print(head)
    print("-" * len(head))
    for r in results:
        per_epoch = r["seconds"] / r["epochs_run"]
        extra = max(r["rss_peak"] - r["rss_before"], 0)
        print(f"{r['sweep']:<7} {r['rows']:>8,} {r['width']:>7} {r['epochs_run']:>6} "
              f"{r['data_bytes'] / MB:>8.1f} {r['seconds']:>8.2f} {r['cpu_seconds']:>8.2f} "
              f"{per_epoch:>8.2f} "
              f"{per_epoch / r['rows'] * 1e6:>9.1f} {r['rss_peak'] / MB:>11.1f} "
              f"{extra / MB:>12.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="row counts divided by 6")
    parser.add_argument("--repeats", type=int, default=3,
                        help="subprocesses per configuration; the fastest is shown")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    scale = 6 if args.quick else 1
    rows = [n // scale for n in ROWS]
    base_rows = BASE_ROWS // scale
    runs = ([("rows", n, BASE_WIDTH, BASE_EPOCHS) for n in rows]
            + [("width", base_rows, w, BASE_EPOCHS) for w in WIDTHS]
            + [("epochs", base_rows, BASE_WIDTH, e) for e in EPOCHS])
    print(f"NNClassifier, adam, batch 200, {FEATURES} float32 features, {CLASSES} classes; "
          f"{os.cpu_count()} CPUs, {blas_description()}")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        paths = make_data(Path(tmp), rows + [base_rows])
        print(f"data made in {time.perf_counter() - start:.1f} s; one subprocess per run, "
              f"best time of {args.repeats}, peak RSS from /proc/self/status VmHWM\n")
        results = []
        for sweep, n, width, epochs in runs:
            X_path, y_path = paths[n]
            results.append(best_of(dict(sweep=sweep, rows=n, width=width, epochs=epochs,
                                        X=X_path, y=y_path), args.repeats))
    print_table(results)
    how = ("peak reset after loading (clear_refs)" if all(r["peak_reset"] for r in results)
           else "peak since the process started")
    print(f"\nfit s: wall clock, the fastest of {args.repeats}; CPU s: that run's CPU time, "
          f"all threads (BLAS included).\nfit extra MB: peak RSS during fit minus RSS once "
          f"the data was loaded ({how}).")
    ep = [r for r in results if r["sweep"] == "epochs"]
    growth = (max(r["rss_peak"] for r in ep) - min(r["rss_peak"] for r in ep)) / MB
    flat = growth <= max(16.0, 0.02 * min(r["rss_peak"] for r in ep) / MB)
    print(f"peak RSS over {', '.join(str(r['epochs_run']) for r in ep)} epochs varies by "
          f"{growth:.1f} MB: "
          + ("flat, memory does not grow with the epochs." if flat
             else "memory GROWS with the epochs."))


if __name__ == "__main__":
    main()
