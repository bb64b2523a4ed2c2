"""Helpers for whole-process figures: a command timed from its start to its exit, as the user waits for it.

Used by benchmarks/fresh_import.py (suite "data") and benchmarks/fresh_backtest.py (suite "peers"). Each
child gets the parent's environment with the settings file pointed at an empty scratch file (a user's own
settings never change a figure), this checkout first on PYTHONPATH, and bytecode caching on (see
`fresh_env`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchmarks.machine import REPO_ROOT
from benchmarks.runner import Context


def backbench_argv() -> list[str]:
    """How a user starts the command: the `backbench` script of this environment, else `python -m app.cli`."""
    script = Path(sys.executable).with_name("backbench")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def fresh_env(ctx: Context, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["BACKBENCH_CONFIG"] = str(ctx.scratch / "fresh-settings.toml")  # absent: every setting at its default
    env = with_bytecode(env, ctx)
    env.update(extra)
    return env


def with_bytecode(env: dict[str, str], ctx: Context) -> dict[str, str]:
    """`env` for a process that runs from bytecode, as an installed command does (pip compiles it at
    install): a source checkout under PYTHONDONTWRITEBYTECODE=1 would recompile every module of ours in
    every process (~0.1 s here). The bytecode is kept under the scratch folder: the warm-up call writes it,
    timed calls read it."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(ctx.scratch / "pycache")
    return env


def run_process(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    """Run argv to its exit; its stdout (a RuntimeError naming the last lines of stderr if it failed)."""
    proc = subprocess.run(argv, cwd=cwd or REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        tail = " | ".join(line.strip() for line in proc.stderr.strip().splitlines()[-4:]) or "(no output)"
        raise RuntimeError(f"{Path(argv[0]).name} {' '.join(argv[1:3])} failed (exit {proc.returncode}): {tail}")
    return proc.stdout


def remove_store(path: Path) -> None:
    """A DuckDB file and its WAL, so the next call writes into a fresh file."""
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
