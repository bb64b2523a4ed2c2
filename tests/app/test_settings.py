"""Settings: precedence (default < file < env < flag), one-line errors naming key, file and line, and
the commented default file parsing back to the defaults."""

from pathlib import Path

import pytest

from app.settings import KEYS, SPECS, SWEEP_METRICS, Settings, config_path, load_settings, settings_from_values
from app.settings.file import render_settings, scan_lines, write_settings_file
from engine.config import SimConfig
from engine.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "backbench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_the_file_is_missing(tmp_path):
    s = load_settings(env={}, path=tmp_path / "none.toml")
    assert s == Settings() and set(s.sources.values()) == {"default"} and set(s.sources) == set(SPECS)
    assert s.sim_config() == SimConfig()
    assert s.store_path().name == "backbench.duckdb" and s.strategies_dir().name == "strategies"
    assert s.worker_count() >= 1 and s.main_threads() >= 1


def test_config_path_from_env_and_platform(tmp_path):
    assert config_path({"BACKBENCH_CONFIG": str(tmp_path / "x.toml")}) == tmp_path / "x.toml"
    default = config_path({})
    assert default.name == "backbench.toml" and "Backbench" in str(default)
    path = write(tmp_path, "[ui]\nrefresh_hz = 12\n")
    assert load_settings(env={"BACKBENCH_CONFIG": str(path)}).ui.refresh_hz == 12


@pytest.mark.parametrize(("key", "env_var", "file_value", "env_value", "flag_value", "expected"), [
    ("store.path", "BACKBENCH_DB", '"/f/bars.duckdb"', "/e/bars.duckdb", "/c/bars.duckdb",
     ("/f/bars.duckdb", "/e/bars.duckdb", "/c/bars.duckdb")),
    ("simulation.commission", "BACKBENCH_SIMULATION_COMMISSION", "0.001", "0.002", "0.003", (0.001, 0.002, 0.003)),
    ("workers.count", "BACKBENCH_WORKERS_COUNT", "3", "5", "7", (3, 5, 7)),
    ("sweep.metric", "BACKBENCH_SWEEP_METRIC", '"sqn"', "calmar_ratio", "return_pct",
     ("sqn", "calmar_ratio", "return_pct")),
    ("cache.dir", "BACKBENCH_CACHE_DIR", '"/f/c"', "/e/c", None, ("/f/c", "/e/c", None)),
])
def test_precedence_file_env_flag(tmp_path, key, env_var, file_value, env_value, flag_value, expected):
    section, name = key.split(".")
    path = write(tmp_path, f"# mine\n[{section}]\n{name} = {file_value}\n")
    s = load_settings(env={}, path=path)
    assert s.get(key) == expected[0] and s.sources[key] == f"file {path}:3"
    s = load_settings(env={env_var: env_value}, path=path)
    assert s.get(key) == expected[1] and s.sources[key] == f"env {env_var}"
    if flag_value is not None:
        s = load_settings({key: flag_value}, env={env_var: env_value}, path=path)
        assert s.get(key) == expected[2] and s.sources[key] == f"flag {SPECS[key].flag}"
    others = {k: v for k, v in s.sources.items() if k != key}
    assert set(others.values()) == {"default"}


def test_empty_env_variable_counts_as_unset(tmp_path):
    s = load_settings(env={"BACKBENCH_DB": ""}, path=tmp_path / "none.toml")
    assert s.sources["store.path"] == "default"


@pytest.mark.parametrize(("text", "line", "message"), [
    ("[simulaton]\ncommission = 0.1\n", 2, "unknown section [simulaton]; did you mean 'simulation'?"),
    ("[simulation]\ninit_cash = 5000\ncomission = 0.1\n", 4, "unknown key 'comission' in [simulation]; did you "
                                                          "mean 'commission'?"),
    ("[workers]\ncount = \"four\"\n", 3, 'workers.count = "four" must be a whole number, not a string'),
    ("[simulation]\ncommission = true\n", 3, "simulation.commission = true must be a number, not a boolean"),
    ("[simulation]\n\n\ncommission = 1.5\n", 5, "simulation.commission=1.5 must be < 1"),
    ("[ui]\nrefresh_hz = 0\n", 3, "ui.refresh_hz=0 must be >= 1"),
    ("[cache]\nl1_mb = -5\n", 3, "cache.l1_mb=-5 must be >= 0"),
    ("[simulation]\nfill = \"tomorrow\"\n", 3, "simulation.fill='tomorrow' is not one of: next_open, close"),
    ("[sweep]\nmetric = \"sharp_ratio\"\n", 3, "sweep.metric='sharp_ratio' is not one of"),
    ("[sweep]\nexecutor = \"ftp:/x\"\n", 3, "sweep.executor='ftp:/x' is not one of: local, serial, dask"),
    ("[simulation]\nsizing = \"percent\"\nsize = 3\n", 4, "simulation.size=3.0 must be a fraction in (0, 1]"),
    ("[store]\npath = \"x\"\n[store.extra]\nkey = 1\n", 4, "unknown key 'extra' in [store]"),
    ("refresh_hz = 30\n", 2, "unknown key 'refresh_hz' outside any [section]"),
    ("[ui\nrefresh_hz = 30\n", 2, "TOML syntax error: "),
    ("[ui]\nrefresh_hz = 30\nrefresh_hz = 31\n", 4, "TOML syntax error: "),
    ("[ui]\nrefresh_hz = = 3\n", 3, "TOML syntax error: Invalid value"),
])
def test_bad_file_names_key_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, "# my settings\n" + text)
    with pytest.raises(ConfigError) as err:
        load_settings(env={}, path=path)
    text_of_error = str(err.value)
    assert text_of_error.startswith(f"{path}:{line}: "), text_of_error
    assert message in text_of_error and "\n" not in text_of_error


@pytest.mark.parametrize(("env", "message"), [
    ({"BACKBENCH_SIMULATION_COMMISSION": "abc"}, "env BACKBENCH_SIMULATION_COMMISSION: 'abc' is not a float"),
    ({"BACKBENCH_WORKERS_COUNT": "-1"}, "env BACKBENCH_WORKERS_COUNT: workers.count=-1 must be >= 0"),
    ({"BACKBENCH_SWEEP_MINIMIZE": "perhaps"}, "'perhaps' is not a boolean"),
    ({"BACKBENCH_SIMULATION_COMISSION": "0.1"}, "env BACKBENCH_SIMULATION_COMISSION: no such setting in [simulation]"),
])
def test_bad_env_names_the_variable(tmp_path, env, message):
    with pytest.raises(ConfigError, match=None) as err:
        load_settings(env=env, path=tmp_path / "none.toml")
    assert message in str(err.value)


def test_env_values_are_parsed(tmp_path):
    s = load_settings(env={"BACKBENCH_SWEEP_MINIMIZE": "yes", "BACKBENCH_CACHE_L2_MB": "4_096",
                           "BACKBENCH_TLS_CA": "/ca.pem", "BACKBENCH_CONFIG": "x"}, path=tmp_path / "none.toml")
    assert s.sweep.minimize is True and s.cache.l2_mb == 4096
    assert s.cache_options()["l2_bytes"] == 4096 << 20


def test_flag_errors_name_the_flag(tmp_path):
    none = tmp_path / "none.toml"
    with pytest.raises(ConfigError, match=r"^--commission: 'abc' is not a float"):
        load_settings({"simulation.commission": "abc"}, env={}, path=none)
    with pytest.raises(ConfigError, match=r"^--cash: simulation.init_cash=0.0 must be > 0"):
        load_settings({"simulation.init_cash": "0"}, env={}, path=none)
    with pytest.raises(ConfigError, match="unknown setting 'nope.key'"):
        load_settings({"nope.key": 1}, env={}, path=none)


def test_init_file_parses_back_to_the_defaults(tmp_path):
    path = write_settings_file(tmp_path / "sub" / "backbench.toml")
    text = path.read_text()
    s = load_settings(env={}, path=path)
    assert s == Settings()
    lines = scan_lines(text)
    for spec in KEYS:  # every key is in the file, with its help as a comment right above it
        assert s.sources[spec.key] == f"file {path}:{lines[(spec.section, spec.name)]}"
        assert f"# Environment: {spec.env}" in text
    with pytest.raises(ConfigError, match="already exists; use --force"):
        write_settings_file(path)
    write_settings_file(path, {"simulation.commission": 0.002}, force=True)
    assert load_settings(env={}, path=path).simulation.commission == 0.002


def test_rendered_values_round_trip(tmp_path):
    values = {"store.path": 'C:\\data\\bars "x".duckdb', "cache.l2_mb": 1 << 20, "simulation.fill": "close",
              "sweep.minimize": True, "simulation.init_cash": 2.5e6, "cache.ttl_s": 1e-3}
    path = write(tmp_path, render_settings(values))
    s = load_settings(env={}, path=path)
    assert {k: s.get(k) for k in values} == values
    assert settings_from_values(values) == s


def test_sim_config_from_settings_and_compat(tmp_path):
    path = write(tmp_path, "[simulation]\ncommission = 0.001\nfill = \"close\"\ninit_cash = 5000\n"
                           "risk_free_rate = 0.02\n")
    s = load_settings(env={}, path=path)
    assert s.sim_config() == SimConfig(commission=0.001, fill="close", init_cash=5000.0, risk_free_rate=0.02)
    assert s.sim_config(sl=0.05).sl == 0.05
    bt = s.sim_config("backtesting")  # the preset keeps its own fill; cash, commission and the rate come through
    assert bt == SimConfig.preset("backtesting", init_cash=5000.0, commission=0.001, risk_free_rate=0.02)


def test_sweep_metrics_are_the_kernel_stats():
    from engine.kernels.stats import STAT_KEYS

    assert SWEEP_METRICS == STAT_KEYS


def test_scan_lines_handles_dotted_and_quoted_keys():
    lines = scan_lines('a = 1\n[ sweep ] # x\n"metric" = "sqn"\nsim.fill = 1\n[ui]\n  refresh_hz=3\n')
    assert lines[("a",)] == 1 and lines[("sweep",)] == 2 and lines[("sweep", "metric")] == 3
    assert lines[("sweep", "sim", "fill")] == 4 and lines[("ui", "refresh_hz")] == 6
