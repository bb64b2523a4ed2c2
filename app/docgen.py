"""Generated reference docs: `python -m app.docgen` writes docs/cli.md (from the argparse parser) and
docs/settings.md (from the settings model); `--check` exits 1 if either committed file is out of date.

A test runs the check, so the references cannot drift from the code. The text is built from the
parser's actions and the model's fields, not from argparse's help formatter, so it does not depend on
the terminal width or the Python version.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"

CLI_INTRO = """\
# Command-line reference

Generated from the argument parser by `python -m app.docgen`; do not edit by hand (a test fails when
this file and the parser differ). The user guide (docs/guide.md) shows the commands in use.

`backbench` with no command opens the desktop app (`backbench gui`). Every option a command's user
leaves out that has a setting (the last column) takes its value from the settings: defaults < settings
file < environment variable < flag (docs/settings.md).

Exit codes: 0 success; 1 a sweep finished but some combos failed (listed on stderr); 2 a usage, data,
strategy or settings error (one line on stderr naming what is wrong, never a traceback); 130 interrupted.
"""

SETTINGS_INTRO = """\
# Settings reference

Generated from the settings model (`app/settings/model.py`) by `python -m app.docgen`; do not edit by hand.

Every value comes from, in increasing precedence:

1. the default below;
2. the settings file, TOML: `$BACKBENCH_CONFIG` if set, else `backbench.toml` in the platform's user
   config directory (`~/Library/Application Support/Backbench` on macOS, `~/.config/Backbench` on
   Linux, `%LOCALAPPDATA%\\Backbench` on Windows). `backbench config path` prints it, `backbench config
   init` writes it with every key at its default and commented, the app's Preferences dialog edits it;
3. the environment variable (empty counts as unset);
4. the command-line flag, where there is one.

`backbench config show` prints every key, its effective value and where it came from (`default`,
`file PATH:LINE`, `env VAR` or `flag --FLAG`). An unknown section or key, a value of the wrong type, out
of range or not among the choices, a `BACKBENCH_<SECTION>_...` variable that is no key, and a TOML
syntax error all stop the command with one line naming the key, the file and the line (exit code 2).
A missing file means the defaults.

An empty path means the platform default; `<user data dir>` is `~/Library/Application
Support/Backbench` on macOS and `~/.local/share/Backbench` on Linux, `<user cache dir>` is
`~/Library/Caches/Backbench` or `~/.cache/Backbench`. A count of 0 means "automatic".
"""


# -- CLI ---------------------------------------------------------------------------------------------------
def _subcommands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of each subcommand, in order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield name, helps.get(name, ""), sub


def _help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    if "%" in text:
        params = {k: v for k, v in vars(action).items() if v is not argparse.SUPPRESS}
        params["prog"] = prog
        if params.get("choices") is not None:
            params["choices"] = ", ".join(map(str, params["choices"]))
        text = text % params
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        text += f" (one of: {', '.join(map(str, action.choices))})"
    default = action.default
    if (default not in (None, False, [], argparse.SUPPRESS) and "default" not in text
            and not isinstance(action, argparse._StoreConstAction)):
        text += f" (default: {default})"
    return text.replace("|", "\\|")


def _option_rows(parser: argparse.ArgumentParser, setting_of: dict[str, str]) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if action.option_strings:
            names = ", ".join(f"`{s}`" for s in action.option_strings)
            takes = "" if action.nargs == 0 else f"`{action.metavar or action.dest.upper()}`"
        else:
            names = f"`{action.metavar or action.dest}`"
            takes = "one or more" if action.nargs == "+" else ""
        setting = f"`{setting_of[action.dest]}`" if action.dest in setting_of else ""
        rows.append(f"| {names} | {takes} | {_help(action, parser.prog)} | {setting} |")
    return rows


def _usage(parser: argparse.ArgumentParser) -> str:
    positionals = [a for a in parser._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]
    has_options = any(a.option_strings and not isinstance(a, argparse._HelpAction) for a in parser._actions)
    has_sub = any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
    parts = [parser.prog]
    if has_sub:
        parts.append("ACTION")
    if has_options:
        parts.append("[OPTIONS]")
    for a in positionals:
        name = str(a.metavar or a.dest)
        parts.append(f"{name} [{name} ...]" if a.nargs == "+" else name)
    return " ".join(parts)


def _command_doc(summary: str, parser: argparse.ArgumentParser, depth: int,
                 setting_of: dict[str, str]) -> list[str]:
    out = [f"{'#' * depth} `{parser.prog}`", ""]
    description = parser.description or summary
    if description:
        out += [description[0].upper() + description[1:], ""]
    out += ["```text", _usage(parser), "```", ""]
    rows = _option_rows(parser, setting_of)
    if rows:
        out += ["| option | value | meaning | setting |", "|---|---|---|---|", *rows, ""]
    subs = list(_subcommands(parser))
    if subs:
        out += ["Actions: " + ", ".join(f"`{n}` ({h})" for n, h, _ in subs) + ".", ""]
        for _, sub_help, sub in subs:
            out += _command_doc(sub_help, sub, depth + 1, setting_of)
    return out


def cli_markdown() -> str:
    from app.cli import build_parser
    from app.settings import KEYS

    parser = build_parser()
    commands = list(_subcommands(parser))
    out = [CLI_INTRO, "| command | what it does |", "|---|---|"]
    out += [f"| [`backbench {n}`](#backbench-{n}) | {h} |" for n, h, _ in commands]
    out.append("")
    for _, summary, sub in commands:
        out += _command_doc(summary, sub, 2, {spec.dest: spec.key for spec in KEYS if spec.flag})
    return "\n".join(out).rstrip() + "\n"


# -- settings ----------------------------------------------------------------------------------------------
def settings_markdown() -> str:
    from app.settings import KEYS, SECTIONS

    out = [SETTINGS_INTRO]
    for section, cls in SECTIONS.items():
        out += [f"## [{section}]", "", (cls.__doc__ or "").strip(), "",
                "| key | type | default | environment variable | flag | meaning |", "|---|---|---|---|---|---|"]
        for spec in (s for s in KEYS if s.section == section):
            meaning = spec.help
            if spec.choices is not None and spec.key != "sweep.metric":
                meaning += f" One of: {', '.join(f'`{c}`' for c in spec.choices)}."
            elif spec.choices is not None:
                meaning += " Any stat of docs/stats.md."
            if spec.min is not None and spec.choices is None and spec.section != "simulation":
                low, high = (f"{v:,}" if spec.type is int else f"{v:g}" for v in (spec.min, spec.max or 0))
                meaning += f" Range {low} to {high}." if spec.max is not None else f" At least {low}."
            flag = f"`{spec.flag}`" if spec.flag else ""
            out.append(f"| `{spec.name}` | {spec.type.__name__} | `{spec.describe_default()}` | `{spec.env}` | "
                       f"{flag} | {meaning.replace('|', '/')} |")
        out.append("")
    out += ["## Example", "", "```toml", "[simulation]", "commission = 0.001   # 0.1 % per side",
            "slippage = 0.0005", "", "[sweep]", 'metric = "sortino_ratio"', "", "[workers]", "count = 4", "```", ""]
    return "\n".join(out).rstrip() + "\n"


GENERATED = {"cli.md": cli_markdown, "settings.md": settings_markdown}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.docgen", description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if a generated file differs; write nothing")
    args = p.parse_args(argv)
    stale = []
    for name, build in GENERATED.items():
        path = DOCS / name
        text = build()
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)} (run: python -m app.docgen)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
