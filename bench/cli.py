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
from bench.shadowing import shadowing
from bench.text import closest

# name -> module; the order is the order of `optbench --help`.
COMMANDS = {
    "run": "bench.commands.run",
    "status": "bench.commands.status",
    "list": "bench.commands.listing",
    "demo": "bench.commands.demo",
    "report": "bench.commands.report",
    "copy": "bench.commands.copy",
    "export": "bench.commands.export",
    "merge": "bench.commands.merge",
    "compare": "bench.commands.compare",
    "speed": "bench.commands.speed",
}

# The top-level help's table; each command module has its own EXIT_CODES, shown by its --help.
EXIT_CODES = """\
exit codes:
  0    the command did what it was asked
  1    the command's own kind of failure (see optbench COMMAND --help): runs ended in 'error'
       (run), a regression (compare, speed)
  2    bad input: an unknown command, name or value, a broken grid or store file
  130  interrupted (Ctrl-C)
  143  terminated (SIGTERM)
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


def _quiet_pool_teardown(hook_args: threading.ExceptHookArgs) -> None:
    """Keep loky's own bookkeeping error out of the terminal when a run is interrupted.

    When Ctrl-C or SIGTERM lands while a cell is being handed to a worker, loky's manager thread
    can raise ``KeyError`` on the work item the interrupted run just withdrew (seen in CI: the
    one-line message then came after a traceback). Only that thread's ``KeyError`` is muted;
    anything else is reported as usual.
    """
    thread = getattr(hook_args.thread, "name", "")
    if hook_args.exc_type is KeyError and thread.startswith("ExecutorManagerThread"):
        return
    threading.__excepthook__(hook_args)


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


def unknown_command(argv: list[str]) -> str | None:
    """The one-line message for a first argument that is neither an option nor a command."""
    if not argv or argv[0].startswith("-") or argv[0] in COMMANDS:
        return None
    return f"optbench: unknown command {argv[0]!r}{closest(argv[0], COMMANDS)}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    message = unknown_command(argv)
    if message:  # argparse would print its usage and every command name over several lines
        print(message, file=sys.stderr)
        return 2
    shadowed = shadowing()  # before the commands import problems and optimizers
    if shadowed:
        print(f"optbench: error: {shadowed}", file=sys.stderr)
        return 2
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
    threading.excepthook = _quiet_pool_teardown
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
        resume = (
            f"; finished cells are saved in the store. Resume with the same command: "
            f"optbench {' '.join(argv)}"
            if args.command == "run"
            else ""
        )
        print(f"\noptbench {args.command}: interrupted{resume}", file=sys.stderr)
        return 143 if isinstance(interrupt, Terminated) else 130
    finally:
        threading.excepthook = threading.__excepthook__
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
