"""The ``optbench`` command line.

Each subcommand lives in its own module, which defines ``HELP`` (one line), ``DESCRIPTION``,
``configure(parser)`` and ``execute(args) -> int``; this module only wires them together and
turns bad input into a one-line message with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import textwrap
import threading

from bench.errors import UsageError

# name -> module; the order is the order of `optbench --help`.
COMMANDS = {
    "run": "bench.commands.run",
    "status": "bench.commands.status",
    "list": "bench.commands.listing",
    "demo": "bench.commands.demo",
    "report": "bench.commands.report",
    "copy": "bench.commands.copy",
    "compare": "bench.commands.compare",
    "speed": "bench.commands.speed",
}

EXIT_CODES = """\
exit codes:
  0    everything ran (diverged runs are results, not failures)
  1    some runs ended in 'error' (tracebacks are in the store)
  2    bad input: unknown name, out-of-range value, broken grid or store file; or a store
       that is read-only, full, or in use by another run (cells stored before are kept)
  130  interrupted (Ctrl-C); finished cells are kept, rerun the same command to resume
  143  terminated (SIGTERM); as for Ctrl-C
"""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that the run unwinds as on Ctrl-C (workers killed,
    whole cells kept), then exits 143."""


def _terminate(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up
    raise Terminated


def _catch_sigterm():
    """Turn SIGTERM into :class:`Terminated`; returns the previous handler (None: unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _terminate)


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the hand-laid exit-code table; descriptions are wrapped by ``build_parser``."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optbench",
        description=textwrap.fill(
            "Benchmark NumPy optimizers on a zoo of problems: run grids of optimizer x "
            "problem x initializer x clipping x schedule x regularizer, store every run in SQLite, "
            "and compare them. Start with `optbench run` (the quick preset).",
            88,
        ),
        epilog=EXIT_CODES,
        formatter_class=Formatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(
            name,
            help=module.HELP,
            description=textwrap.fill(module.DESCRIPTION, 88),
            epilog=getattr(module, "EXIT_CODES", EXIT_CODES),
            formatter_class=Formatter,
        )
        module.configure(sub)
        sub.set_defaults(execute=module.execute)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:  # Ctrl-C while the commands are imported: one line too, not a traceback
        args = build_parser().parse_args(argv)
        from bench.grid import GridError
        from bench.run.parallel.workers import WorkerError
        from bench.store.store import StoreError
    except KeyboardInterrupt:
        print("\noptbench: interrupted before anything ran", file=sys.stderr)
        return 130
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())  # `--plugin my_module` finds my_module.py here

    previous = _catch_sigterm()
    try:
        return args.execute(args)
    except (GridError, StoreError, UsageError, WorkerError) as error:
        message = " ".join(str(error).split())
        print(f"optbench {args.command}: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `optbench list | head`: the reader left, that is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 0
    except KeyboardInterrupt as interrupt:
        print(
            f"\noptbench {args.command}: interrupted; finished cells are saved in the store. "
            f"Resume with the same command: optbench {' '.join(argv)}",
            file=sys.stderr,
        )
        return 143 if isinstance(interrupt, Terminated) else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
