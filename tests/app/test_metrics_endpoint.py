"""`backbench sweep --metrics-port`: a real sweep (spawn pool of 2) scraped over HTTP on 127.0.0.1, mid-sweep and
at the end, parsed by prometheus_client's own parsers; nothing listens after it, nor without the option."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

pytest.importorskip("prometheus_client")
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families as parse_text  # noqa: E402

# ~1,900 combos (n1 < n2) of 5,040 bars in chunks of 4: a few seconds on 2 workers, time to scrape mid-sweep.
SWEEP = ["sweep", "--demo", "-g", "n1=2:60:1", "-g", "n2=20:200:5", "--where", "n1 < n2", "--workers", "2",
         "--chunk", "4", "--top", "1"]
DEADLINE_S = 240


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def samples(text: str, openmetrics: bool = False) -> dict[tuple[str, frozenset], float]:
    parse = parse_openmetrics if openmetrics else parse_text
    return {(s.name, frozenset(s.labels.items())): s.value for fam in parse(text) for s in fam.samples}


def combos(values: dict, result: str) -> float:
    return values.get(("backbench_sweep_combos_total", frozenset({("result", result)})), 0.0)


def scrape(port: int, openmetrics: bool = False) -> str | None:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if openmetrics:
        req.add_header("Accept", "application/openmetrics-text; version=1.0.0")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.read().decode()
    except OSError:
        return None


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start(args: list[str], cache_dir) -> subprocess.Popen:
    env = {**os.environ, "BACKBENCH_CACHE_DIR": str(cache_dir)}
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run_scraped(cache_dir) -> tuple[list[dict], dict, str]:
    """Sweep with /metrics on: every scrape while it ran, the last one (OpenMetrics), and its stdout."""
    port = free_port()
    proc = start([*SWEEP, "--metrics-port", str(port), "--metrics-linger", "4"], cache_dir)
    seen: list[dict] = []
    deadline = time.monotonic() + DEADLINE_S
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            text = scrape(port)
            if text is not None:
                seen.append(samples(text))
                if seen[-1].get(("backbench_workers_busy", frozenset()), 1) == 0 and any(
                        k[0] == "backbench_sweep_combos_total" for k in seen[-1]):
                    break  # the sweep is over; the server lingers for this last look
            time.sleep(0.05)
        final_text = scrape(port, openmetrics=True)
        out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert final_text is not None and final_text.rstrip().endswith("# EOF"), final_text
    assert not listening(port), "the /metrics port still answers after the command exited"
    return seen, samples(final_text, openmetrics=True), out


def reported(out: str) -> tuple[int, int, int]:
    m = re.search(r"(\d+) combos \((\d+) computed, (\d+) from cache\)", out)
    assert m, out
    return int(m[1]), int(m[2]), int(m[3])


def test_sweep_metrics_mid_sweep_and_at_the_end_equal_the_sweeps_counts(tmp_path):
    cache_dir = tmp_path / "cache"
    seen, final, out = run_scraped(cache_dir)
    total, computed, cached = reported(out)
    assert (computed, cached) == (total, 0) and total > 1000
    mid = [v for v in seen if 0 < combos(v, "computed") < total]
    assert mid, "no scrape caught the sweep mid-way"
    assert any(v.get(("backbench_workers_busy", frozenset()), 0) >= 1 for v in mid)
    assert combos(final, "computed") == total and combos(final, "cached") == 0
    assert final[("backbench_cache_misses_total", frozenset({("level", "l1")}))] == total
    workers = {dict(k[1])["worker"] for k in final if k[0] == "backbench_worker_combos_total"}
    assert len(workers) == 2 and sum(final[("backbench_worker_combos_total", frozenset({("worker", w)}))]
                                     for w in workers) == total
    assert final[("backbench_stage_seconds_count", frozenset({("stage", "simulate"), ("kind", "sweep")}))] == total
    assert ("backbench_chunk_seconds", frozenset({("quantile", "0.95")})) in final
    assert final[("backbench_stage_seconds_count", frozenset({("stage", "load"), ("kind", "sweep")}))] == 1
    from tests.app.test_metrics_families import grafana_metric_names

    exported = {name for name, _ in final}
    for name in grafana_metric_names():  # the docs' Grafana panels plot what a sweep exports
        assert name in exported, name

    # The same sweep again: every combo from the (disk) cache, counted as such.
    _, final, out = run_scraped(cache_dir)
    total2, computed, cached = reported(out)
    assert (total2, computed, cached) == (total, 0, total)
    assert combos(final, "cached") == total and combos(final, "computed") == 0
    hits = sum(final.get(("backbench_cache_hits_total", frozenset({("level", lv)})), 0) for lv in ("l1", "l2"))
    assert hits == total


def listening_sockets(pid: int) -> list:
    procs = [psutil.Process(pid)]
    procs += procs[0].children(recursive=True)
    out = []
    for p in procs:
        try:
            out += [c for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        except psutil.NoSuchProcess:
            pass
    return out


def test_without_the_option_nothing_listens(tmp_path):
    proc = start([*SWEEP, "--no-cache"], tmp_path / "cache")
    checks = 0
    try:
        deadline = time.monotonic() + DEADLINE_S
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                assert listening_sockets(proc.pid) == []
                checks += 1
            except psutil.NoSuchProcess:
                break
            time.sleep(0.1)
        out, err = proc.communicate(timeout=DEADLINE_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert checks >= 3 and "metrics at" not in err


def test_metrics_file_is_the_final_snapshot(tmp_path):
    out = tmp_path / "run.prom"
    proc = subprocess.run([sys.executable, "-m", "app.cli", "run", "--demo", "--no-cache", "--metrics-file", str(out)],
                          capture_output=True, text=True, timeout=DEADLINE_S)
    assert proc.returncode == 0, proc.stderr
    values = samples(out.read_text())
    assert values[("backbench_backtests_total", frozenset({("source", "computed")}))] == 1
    for stage in ("load", "signals", "simulate", "stats"):
        assert values[("backbench_stage_seconds_count", frozenset({("stage", stage), ("kind", "backtest")}))] == 1


def test_a_failed_command_still_writes_its_file_and_counts_the_error(tmp_path):
    out = tmp_path / "fail.prom"
    proc = subprocess.run([sys.executable, "-m", "app.cli", "run", "--demo", "-s", "no_such", "--metrics-file",
                           str(out)], capture_output=True, text=True, timeout=DEADLINE_S)
    assert proc.returncode == 2
    assert samples(out.read_text())[("backbench_errors_total", frozenset({("kind", "command")}))] == 1


def test_without_the_extra_a_one_line_error(tmp_path):
    code = ("import sys; sys.modules['prometheus_client'] = None\n"  # what an install without the extra has
            "from app.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", code, "run", "--demo", "--metrics-port", str(free_port())],
                          capture_output=True, text=True, timeout=DEADLINE_S)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "backbench: error: --metrics-port needs prometheus_client, the 'metrics' extra: "
        "pip install 'backbench[metrics]'"]


@pytest.mark.slow
def test_a_dask_sweep_labels_metrics_by_worker_address(tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "dask.prom"
    proc = subprocess.run([sys.executable, "-m", "app.cli", "sweep", "--demo", "-g", "n1=5:40:5", "-g", "n2=50:100:10",
                           "--executor", "dask", "--workers", "2", "--chunk", "2", "--no-cache", "--metrics-file",
                           str(out)], capture_output=True, text=True, timeout=DEADLINE_S)
    assert proc.returncode == 0, proc.stderr
    total, computed, _ = reported(proc.stdout)
    values = samples(out.read_text())
    per_worker = {dict(k[1])["worker"]: v for k, v in values.items() if k[0] == "backbench_worker_combos_total"}
    assert len(per_worker) == 2 and sum(per_worker.values()) == computed == total
    assert all(re.fullmatch(r"tls://127\.0\.0\.1:\d+", w) for w in per_worker), per_worker
    rss = {dict(k[1])["worker"] for k in values if k[0] == "backbench_worker_rss_bytes"}
    assert rss == set(per_worker)
    assert combos(values, "computed") == total


def test_import_counts_its_rows(tmp_path):
    import polars as pl

    from engine.data.demo import demo_bars

    bars = demo_bars("ACME")
    csv = tmp_path / "myco.csv"
    pl.DataFrame({"Date": bars.times(), "Open": bars.open, "High": bars.high, "Low": bars.low, "Close": bars.close,
                  "Volume": bars.volume}).write_csv(csv)
    out = tmp_path / "import.prom"
    proc = subprocess.run([sys.executable, "-m", "app.cli", "import", str(csv), "--store", str(tmp_path / "s.duckdb"),
                           "--metrics-file", str(out)], capture_output=True, text=True, timeout=DEADLINE_S)
    assert proc.returncode == 0, proc.stderr
    values = samples(out.read_text())
    assert values[("backbench_import_rows_total", frozenset())] == len(bars)
    assert values[("backbench_import_files_total", frozenset())] == 1
