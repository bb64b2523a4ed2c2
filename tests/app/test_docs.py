"""The docs cannot drift: generated references match the code, the example strategy runs, and every
`backbench ...` line of a ```bash block in README.md and docs/*.md runs and exits 0."""

import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from app.cli import main
from app.docgen import GENERATED
from app.settings import KEYS

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = ("backbench gui", "backbench bench")  # the GUI has its own tests; benchmarks are not tests


def bash_commands(path: Path) -> list[str]:
    """`backbench ...` lines of the file's ```bash blocks."""
    blocks = re.findall(r"^```bash\n(.*?)^```", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("backbench ") and not line.startswith(SKIP)]


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_reference_is_current(name):
    committed = (ROOT / "docs" / name).read_text(encoding="utf-8")
    assert committed == GENERATED[name](), f"docs/{name} is out of date: run python -m app.docgen"


def test_settings_reference_lists_every_key():
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for spec in KEYS:
        assert f"## [{spec.section}]" in text and f"| `{spec.name}` |" in text and f"`{spec.env}`" in text


def test_docs_link_each_other():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ("guide", "simulation", "stats", "compat", "cli", "settings", "troubleshooting"):
        assert f"(docs/{page}.md)" in readme
    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    assert "(compat.md)" in guide and "(examples/my_strategy.py)" in guide


def test_example_strategy_loads_and_backtests_on_demo_data():
    from engine.backtest import run_backtest
    from engine.config import SimConfig
    from engine.data.demo import demo_bars
    from engine.strategies import load_user_strategies

    strategies, errors = load_user_strategies(ROOT / "docs" / "examples")
    assert errors == [] and list(strategies) == ["rsi_trend"]
    strategy = strategies["rsi_trend"]
    bars = demo_bars("ACME")
    result = run_backtest(bars, strategy, {"lower": "35"}, SimConfig(commission=0.001))
    assert result.stats["n_trades"] > 5 and np.isfinite(result.stats["return_pct"])
    full = strategy.generate(bars)
    part = strategy.generate(bars.slice(0, 3000))  # no look-ahead: a prefix gives the same signals
    assert np.array_equal(full.entries[:3000], part.entries) and np.array_equal(full.exits[:3000], part.exits)


@pytest.fixture
def docs_env(tmp_path, monkeypatch):
    """A fresh store, cache and settings file, and the files the examples name, in the working dir."""
    from engine.cache import reset_default_cache
    from engine.data.demo import demo_bars

    for spec in KEYS:
        monkeypatch.delenv(spec.env, raising=False)
    monkeypatch.setenv("BACKBENCH_DB", str(tmp_path / "store" / "bars.duckdb"))
    monkeypatch.setenv("BACKBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BACKBENCH_CONFIG", str(tmp_path / "config" / "backbench.toml"))
    monkeypatch.setenv("BACKBENCH_WORKERS_COUNT", "1")  # sweeps in-process: fast on a shared machine
    monkeypatch.chdir(tmp_path)
    bars = demo_bars("GLOBEX")
    pl.DataFrame({"Date": bars.times(), "Open": bars.open, "High": bars.high, "Low": bars.low,
                  "Close": bars.close, "Volume": bars.volume}).write_csv(tmp_path / "bars.csv")
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    yield tmp_path
    reset_default_cache()


def test_the_guide_and_troubleshooting_have_examples():
    assert len(bash_commands(ROOT / "docs" / "guide.md")) >= 20
    assert len(bash_commands(ROOT / "docs" / "troubleshooting.md")) >= 5


@pytest.mark.parametrize("doc", [p for p in DOC_FILES if bash_commands(p)], ids=lambda p: p.name)
def test_every_cli_example_runs(doc, docs_env, capsys):
    for line in bash_commands(doc):
        code = main(shlex.split(line, comments=True)[1:])
        err = capsys.readouterr().err
        assert code == 0, f"{doc.name}: `{line}` exited {code}: {err.strip().splitlines()[-1:]}"


def test_toml_examples_in_the_docs_are_valid_settings(tmp_path):
    from app.settings import load_settings

    blocks = [b for p in DOC_FILES for b in re.findall(r"^```toml\n(.*?)^```", p.read_text(encoding="utf-8"),
                                                        flags=re.S | re.M)]
    assert blocks
    for i, block in enumerate(blocks):
        path = tmp_path / f"example{i}.toml"
        path.write_text(block, encoding="utf-8")
        settings = load_settings(env={}, path=path)
        assert any(source.startswith("file ") for source in settings.sources.values())
