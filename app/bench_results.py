"""Reading benchmark results files (`python -m benchmarks run --out`), comparing two, formatting figures.

Qt-free and standard library only, so the runner (`benchmarks/runner.py`, `benchmarks/report.py`)
and the GUI's Benchmarks tab share one definition of the file format and of what counts as a
regression, and the app can browse results without importing the benchmark machinery (nothing
imports `benchmarks`: docs/architecture.md, "Layers").

    doc = load_results("benchmarks/baselines/linux-x86_64-2core.json")   # ResultsFileError if not one
    rows = compare(doc, baseline_doc, threshold=0.10)                     # one row per result
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.errors import BackbenchError

DEFAULT_THRESHOLD = 0.10  # `--threshold` default: a median 10 % slower (and its fastest repeat too)


class ResultsFileError(BackbenchError, ValueError):
    """A file that is not a readable benchmark results JSON: "NAME: what is wrong".

    `detail` is the fault alone (for messages that name the file their own way).
    """

    def __init__(self, name: str, message: str, detail: str | None = None) -> None:
        super().__init__(f"{name}: {message}")
        self.name, self.detail = name, detail or message


# ----------------------------------------------------------------------------------------------- reading

def load_results(path: str | Path) -> dict[str, Any]:
    """The parsed results JSON at `path`, checked by `check_results`.

    Raises ResultsFileError ("NAME: what is wrong") for a missing or unreadable file, text that is
    not JSON (with line and column), or JSON that is not a results document.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsFileError(path.name, f"file not found ({path})") from None
    except UnicodeDecodeError:
        raise ResultsFileError(path.name, "not a text file, so not a results JSON") from None
    except OSError as exc:
        raise ResultsFileError(path.name, f"cannot be read ({exc.strerror or exc})") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        where = f"line {exc.lineno}, column {exc.colno}: " if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ResultsFileError(path.name, f"not valid JSON ({where}{reason})") from None
    check_results(doc, path.name)
    return doc


def check_results(doc: Any, name: str) -> None:
    """Raise ResultsFileError unless `doc` has the fields the report and the GUI read.

    Required: an object with a "results" list whose entries have "suite" and "name" and, unless the
    entry records an "error", a number "median_s"; "ratios", where present, a list of objects with
    "suite", "name" and "value". Everything else (machine, versions, commit, date) is optional.
    """
    def fail(what: str) -> None:
        raise ResultsFileError(name, f"not a Backbench results file: {what}", what)

    if not isinstance(doc, dict):
        fail(f"the top level is a JSON {_json_type(doc)}, not an object")
    if "results" not in doc:
        keys = ", ".join(list(doc)[:6]) or "none"
        fail(f"no 'results' list (its keys: {keys})")
    if not isinstance(doc["results"], list):
        fail(f"'results' is a JSON {_json_type(doc['results'])}, not a list")
    for i, r in enumerate(doc["results"], 1):
        if not isinstance(r, dict):
            fail(f"results entry {i} is a JSON {_json_type(r)}, not an object")
        for key in ("suite", "name"):
            if not isinstance(r.get(key), str):
                fail(f"results entry {i} has no {key!r}")
        if "error" not in r and not _is_number(r.get("median_s")):
            fail(f"results entry {i} ({r['suite']}/{r['name']}) has no number 'median_s'")
    ratios = doc.get("ratios", [])
    if not isinstance(ratios, list):
        fail(f"'ratios' is a JSON {_json_type(ratios)}, not a list")
    for i, q in enumerate(ratios, 1):
        if not isinstance(q, dict) or not isinstance(q.get("suite"), str) or not isinstance(q.get("name"), str):
            fail(f"ratios entry {i} has no 'suite' and 'name'")
        if q.get("value") is not None and not _is_number(q["value"]):
            fail(f"ratios entry {i} ({q['suite']}/{q['name']}) has a 'value' that is not a number")


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _json_type(x: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(x), "number")


def suites_of(doc: dict[str, Any]) -> list[str]:
    """The suites a run covered: those it was asked for (mode.suites), then any others with results."""
    names = list((doc.get("mode") or {}).get("suites") or [])
    for r in doc.get("results", []):
        if r["suite"] not in names:
            names.append(r["suite"])
    return names


def machine_label(doc: dict[str, Any]) -> str:
    """A short machine description: "AMD EPYC, 2 CPUs, Linux x86_64"."""
    m = doc.get("machine") or {}
    parts = [str(m["processor"]) if m.get("processor") else None,
             f"{m['cpu_count_usable']} CPUs" if m.get("cpu_count_usable") else None,
             " ".join(str(m[k]) for k in ("system", "arch") if m.get(k)) or None]
    return ", ".join(p for p in parts if p) or "-"


# ----------------------------------------------------------------------------------------------- comparing

def compare(current: dict[str, Any], baseline: dict[str, Any], threshold: float) -> list[dict[str, Any]]:
    """One row per current result: its change against the baseline and whether it regressed.

    A result regressed when it counts for regressions (`gate`) and its median time rose, or its
    rate fell, by more than `threshold` (a fraction), and its fastest repeat (`min_s`, where both
    runs have one) rose by more than `threshold` too: load from other processes inflates medians of a
    few repeats by 20-50 % on a shared machine but rarely every repeat, while a real slowdown moves
    the fastest repeat as well. Results whose amount of work differs from the baseline's (other
    sizes) are not compared.
    """
    base = {(r["suite"], r["name"]): r for r in baseline.get("results", []) if "error" not in r}
    rows = []
    for r in current.get("results", []):
        row = {"suite": r["suite"], "name": r["name"], "unit": r.get("unit"), "median_s": r.get("median_s"),
               "rate": r.get("rate"), "base_median_s": None, "base_rate": None, "time_change": None,
               "rate_change": None, "min_change": None, "status": "new", "regressed": False}
        b = base.get((r["suite"], r["name"]))
        if "error" in r:
            row["status"] = "error"
        elif b is not None:
            row["base_median_s"], row["base_rate"] = b.get("median_s"), b.get("rate")
            if b.get("work") != r.get("work"):
                row["status"] = "other size"
            else:
                if b.get("median_s"):
                    row["time_change"] = r["median_s"] / b["median_s"] - 1.0
                if b.get("rate") and r.get("rate") is not None:
                    row["rate_change"] = r["rate"] / b["rate"] - 1.0
                worse = ((row["time_change"] is not None and row["time_change"] > threshold)
                         or (row["rate_change"] is not None and row["rate_change"] < -threshold))
                if worse and b.get("min_s") and r.get("min_s") is not None:
                    row["min_change"] = r["min_s"] / b["min_s"] - 1.0
                    if row["min_change"] <= threshold:
                        worse = False
                        row["status"] = "ok (median only: fastest repeat within threshold)"
                if worse and r.get("gate", True):
                    row["status"], row["regressed"] = "REGRESSED", True
                elif worse:
                    row["status"] = "slower (not gated)"
                elif row["status"] == "new":
                    row["status"] = "ok"
        rows.append(row)
    return rows


def compare_ratios(current: dict[str, Any], baseline: dict[str, Any]) -> dict[tuple[str, str], float | None]:
    """(suite, name) -> relative change of each derived figure's value against the baseline's (None
    where the baseline lacks it or its value is 0). Informational: `--compare` gates on results only."""
    base = {(q["suite"], q["name"]): q.get("value") for q in baseline.get("ratios", [])}
    out: dict[tuple[str, str], float | None] = {}
    for q in current.get("ratios", []):
        b, v = base.get((q["suite"], q["name"])), q.get("value")
        out[(q["suite"], q["name"])] = (v / b - 1.0) if (b and v is not None) else None
    return out


# ----------------------------------------------------------------------------------------------- formatting

def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1.0:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3f} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.1f} us"
    return f"{s * 1e9:.0f} ns"


def fmt_rate(rate: float | None, unit: str) -> str:
    if rate is None:
        return "-"
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(rate) >= div:
            return f"{rate / div:.2f} {prefix}{unit}"
    return f"{rate:.3g} {unit}"


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:,.2f}x" if abs(value) < 10 else f"{value:,.1f}x"
    if unit == "s":
        return fmt_time(value)
    if unit in ("%", "MB", "ns", "ms", "us", "KiB"):
        return f"{value:,.{0 if unit in ('MB', 'ns') or abs(value) >= 100 else 2}f} {unit}"
    return fmt_rate(value, unit)

