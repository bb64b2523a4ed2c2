"""The `backbench` command.

Each group of subcommands lives in its own module (`app/cli_*.py`) exposing `register(subparsers)`;
a subcommand sets `func` (handler taking the parsed args, returning an exit code).
Errors caused by the user (`BackbenchError`) print one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from engine.errors import BackbenchError

# Modules that add subcommands, in the order their commands appear in --help.
COMMAND_MODULES = ("app.cli_gui", "app.cli_run", "app.cli_sweep", "app.cli_data", "app.cli_cache", "app.cli_info")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2 (its default code)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"backbench: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="backbench", description="Backtesting workbench: run, sweep, import, inspect.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command group not built yet
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Thread caps must be in the environment before numpy/numba load (workers get 1 thread each).
    from engine.threads import cap_main_process

    cap_main_process()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):  # plain `backbench`: the app (headless demo where there is no screen)
        args = parser.parse_args(["gui"])
    try:
        return int(args.func(args) or 0)
    except BackbenchError as exc:
        print(f"backbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("backbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
