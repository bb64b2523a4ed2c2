"""The `backbench` command.

Each group of subcommands lives in its own module (`app/cli_*.py`) exposing `register(subparsers)`;
a subcommand sets `func` (handler taking the parsed args, returning an exit code).
Errors caused by the user (`BackbenchError`) print one line on stderr and exit 2, never a traceback.
Settings (app/settings/: defaults < file < env < flags) are loaded first; options a command's user
left out are filled from them (app/cli_config.py).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from engine.errors import BackbenchError

# Modules that add subcommands, in the order their commands appear in --help.
COMMAND_MODULES = ("app.cli_gui", "app.cli_run", "app.cli_portfolio", "app.cli_sweep", "app.cli_analysis",
                   "app.cli_report", "app.cli_data", "app.cli_cache", "app.cli_info", "app.cli_config", "app.cli_bench")
# The module that registers each command. A command line that starts with one of them builds only that
# module's parser, so a fresh `backbench import` does not import the option code of the sweep, the
# portfolio or the GUI (docs/performance.md#fresh-process-commands); anything else (no command, --help,
# a misspelt command) builds them all. tests/app/test_import_graph.py checks this table against them.
COMMANDS = {"gui": "app.cli_gui", "run": "app.cli_run", "strategies": "app.cli_run", "portfolio": "app.cli_portfolio",
            "sweep": "app.cli_sweep", "montecarlo": "app.cli_analysis", "report": "app.cli_report",
            "import": "app.cli_data", "data": "app.cli_data", "cache": "app.cli_cache", "info": "app.cli_info",
            "compile": "app.cli_info",
            "config": "app.cli_config", "bench": "app.cli_bench"}


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2 (its default code)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"backbench: error: {message}\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The `backbench` parser: every command, or only the command `argv` starts with (see COMMANDS)."""
    parser = _Parser(prog="backbench", description="Backtesting workbench: run, sweep, import, inspect.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    first = argv[0] if argv else None
    for name in (COMMANDS[first],) if first in COMMANDS else COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command group not built yet
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    if os.environ.get("BACKBENCH_QT_PROBE") and getattr(sys, "frozen", False):  # `backbench gui`'s probe child
        from app.gui.platform_check import probe_child

        return probe_child()
    # Settings from the file and the environment come first: thread caps and NUMBA_CACHE_DIR must be in
    # the environment before numpy/numba load (building the parser imports them).
    from app.cli_config import apply_process_settings, early_settings

    early, settings_error = early_settings()
    apply_process_settings(early)
    _terminate_cleanly()
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):  # plain `backbench`: the app (headless demo where there is no screen)
        args = build_parser(["gui"]).parse_args(["gui"])
    try:
        _apply_settings(args, settings_error)
        if hasattr(args, "metrics_port"):  # sweep, run, import, gui: /metrics and --metrics-file (docs/metrics.md)
            from app.metrics.exporter import command_metrics

            with command_metrics(args):
                return int(args.func(args) or 0)
        return int(args.func(args) or 0)
    except BackbenchError as exc:
        print(f"backbench: error: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print("backbench: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("backbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so `with` blocks and `finally` run (the store's transaction rolls
    back, the sweep pool closes) and the cache's pending writes are flushed at exit."""


def _terminate_cleanly() -> None:
    import signal
    import threading

    def handler(signum: int, _frame: object) -> None:
        raise Terminated()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def _apply_settings(args: argparse.Namespace, settings_error: BackbenchError | None) -> None:
    """Reload the settings with this command's flags on top and fill the options left out."""
    from app.cli_config import apply_to_args, needs_settings, overrides_from_args
    from app.settings import load_settings

    if not needs_settings(args):  # `config path` / `config init` work even with a broken file
        return
    if settings_error is not None:
        raise settings_error
    overrides, flag_names = overrides_from_args(args)
    settings = load_settings(overrides, flag_names=flag_names)
    apply_to_args(args, settings)


if __name__ == "__main__":
    sys.exit(main())
