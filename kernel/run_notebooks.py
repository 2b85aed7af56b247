#!/usr/bin/python3
"""Execute anogo's notebooks headless with the Go (gonb) kernel.

Usage (from anywhere; run kernel/setup.sh once first):

    kernel/run_notebooks.py                      # every notebooks/*.ipynb, small setting
    kernel/run_notebooks.py --setting paper      # the paper's setting
    kernel/run_notebooks.py notebooks/100_data.ipynb --timeout 1200

Each notebook runs with <repo>/notebooks as the kernel's working directory,
wherever its file lies, so the first-cell recipe's ${GONB_DIR}/.. is the
repository root. The kernel (and every cell program) gets ANOGO_SETTING in
its environment. The executed copy, outputs included, goes to
<out>/<name>.ipynb even when a cell fails, the kernel's log to
<out>/<name>.kernel.log; the script exits with status 1 if
any cell of any notebook failed or timed out, 2 on bad arguments.

It uses Debian's nbclient and nbformat, so run it with /usr/bin/python3.
"""

import argparse
import glob
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = ("small", "paper")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="notebooks to run (default: notebooks/*.ipynb)")
    ap.add_argument("--setting", choices=SETTINGS, default=os.environ.get("ANOGO_SETTING", "small"),
                    help="value of ANOGO_SETTING (default: $ANOGO_SETTING or small)")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("ANOGO_CELL_TIMEOUT", "1800")),
                    help="seconds one cell may run (default: $ANOGO_CELL_TIMEOUT or 1800)")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "notebooks"),
                    help="folder for the executed copies (default: out/notebooks)")
    ap.add_argument("--kernel", default="gonb", help="kernel name (default: gonb)")
    args = ap.parse_args()
    if args.setting not in SETTINGS:
        ap.error("ANOGO_SETTING=%r: want one of %s" % (args.setting, ", ".join(SETTINGS)))
    if args.timeout <= 0:
        ap.error("--timeout must be positive, got %d" % args.timeout)
    if not args.notebooks:
        args.notebooks = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
        if not args.notebooks:
            ap.error("no notebooks in %s" % os.path.join(ROOT, "notebooks"))
    return args


def first_error(nb):
    """Returns 'cell N: ename: evalue' for the first error output of nb, or ''."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return "cell %d: %s: %s" % (i, out.get("ename", ""), out.get("evalue", "").strip()[:300])
    return ""


def run(path, args, cwd):
    """Runs one notebook; returns an error message or ''."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:  # nbformat raises several unrelated types
        return "reading %s: %s" % (path, e)
    client = NotebookClient(nb, timeout=args.timeout, kernel_name=args.kernel,
                            resources={"metadata": {"path": cwd}})
    out = os.path.join(args.out, os.path.basename(path))
    log = open(os.path.splitext(out)[0] + ".kernel.log", "w")
    err = ""
    try:
        # The kernel's own log (GoNB logs a lot on stderr) goes to the log file.
        client.execute(stdout=log, stderr=log)
    except CellTimeoutError as e:
        err = "a cell ran over %ds: %s" % (args.timeout, str(e).strip().splitlines()[0])
    except CellExecutionError:
        err = first_error(nb) or "a cell failed"
    except DeadKernelError as e:
        err = "kernel died: %s" % e
    except Exception as e:  # kernel missing, cannot start, ...
        err = "%s: %s" % (type(e).__name__, e)
    finally:
        log.close()
    # GoNB reports some errors as output without failing the cell.
    err = err or first_error(nb)
    nbformat.write(nb, out)
    return err


def main():
    args = parse_args()
    os.environ["ANOGO_SETTING"] = args.setting
    os.makedirs(args.out, exist_ok=True)
    cwd = os.path.join(ROOT, "notebooks")
    failed = 0
    for path in args.notebooks:
        t0 = time.time()
        err = run(path, args, cwd)
        status = "FAIL: " + err if err else "ok"
        print("%s (%s, %.0fs): %s" % (os.path.relpath(path), args.setting, time.time() - t0, status), flush=True)
        failed += bool(err)
    print("%d of %d notebooks ran without error; executed copies in %s"
          % (len(args.notebooks) - failed, len(args.notebooks), args.out))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
