"""`backbench gui` (and plain `backbench`): the desktop app, or headless help where there is no screen."""

from __future__ import annotations

import argparse
import os
import sys

from app.cli_options import add_metrics_args, add_setting_flags


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop app", description="Open the Backbench desktop app.")
    add_setting_flags(p, "store.path", "strategies.dir", "workers.count")
    p.add_argument("--screenshot", metavar="FILE", help="save a screenshot of the window and exit")
    p.add_argument("--tab", choices=("results", "sweep", "dashboard", "benchmarks"), default="results",
                   help="tab to show in the screenshot (benchmarks: the committed baseline results)")
    add_metrics_args(p)
    p.set_defaults(func=cmd_gui)


def has_screen() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM") == "offscreen")


def cmd_gui(args: argparse.Namespace) -> int:
    if args.screenshot and not has_screen():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    if not has_screen():
        print("backbench: no screen here (no DISPLAY); running the demo backtest headless instead.\n"
              "           (`backbench gui --screenshot out.png` renders the app offscreen)", file=sys.stderr)
        from app.cli import main

        return main(["run", "--demo"])
    from app.gui import platform_check

    if platform_check.needs_probe():  # Qt aborts when its platform cannot load
        problem = platform_check.check()
        if problem:
            print(problem, file=sys.stderr)
            return 2
    from app.gui.app import run_gui

    return run_gui(args.workbench, args.screenshot, args.tab)
