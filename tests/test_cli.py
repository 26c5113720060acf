"""The command line: `python -m tierflow query` in every format, errors, ingest exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from conftest import BRANCHES, client, snap, write_delivery
from tierflow.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def data_dir(tmp_path):
    delivery = write_delivery(tmp_path / "delivery", {
        "branches": BRANCHES,
        "clients": [client("000001", name="=HYPERLINK(\"http://x\")"), client("000002", "B2")],
        "snapshots": [snap("2024-01", "000001", "50000"), snap("2024-01", "000002", "12.34")],
    })
    assert main(["--data-dir", str(tmp_path / "data"), "ingest", str(delivery)]) == 0
    return tmp_path / "data"


def run_cli(*args, env_data_dir=None):
    env = {"PATH": "/usr/bin:/bin", "TIERFLOW_DATA_DIR": str(env_data_dir)} if env_data_dir else None
    return subprocess.run([sys.executable, "-m", "tierflow", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def test_query_csv_to_stdout_through_the_module_entry_point(data_dir):
    done = run_cli("query", "tier_distribution", "--set", "month=2024-01", env_data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "tier,clients,aum", "mass,1,12.34", "gold,1,50000.00", "platinum,0,0.00",
        "diamond,0,0.00", "private,0,0.00"]


@pytest.mark.parametrize("fmt", ["json", "parquet", "xlsx", "csv"])
def test_query_formats_to_a_file(data_dir, tmp_path, fmt):
    out = tmp_path / f"out.{fmt}"
    assert main(["--data-dir", str(data_dir), "query", "tier_distribution", "--set",
                 "month=2024-01", "--set", "branch_id=B2", "--output", str(out)]) == 0
    if fmt == "json":
        got = pl.DataFrame(json.loads(out.read_text()))
    elif fmt == "parquet":
        got = pl.read_parquet(out)
    elif fmt == "xlsx":
        got = pl.read_excel(out, engine="openpyxl")
    else:
        got = pl.read_csv(out)
    assert got["tier"].to_list() == ["mass", "gold", "platinum", "diamond", "private"]
    assert got["clients"].to_list() == [1, 0, 0, 0, 0]
    assert float(got["aum"][0]) == 12.34


def test_errors_are_one_clear_line(data_dir, capsys):
    assert main(["--data-dir", str(data_dir), "query", "nope"]) == 2
    assert "no query named 'nope'" in capsys.readouterr().err
    assert main(["--data-dir", str(data_dir), "query", "tier_distribution", "--set",
                 "month"]) == 2
    assert "expected key=value" in capsys.readouterr().err
    assert main(["--data-dir", str(data_dir / "empty"), "query", "tier_distribution",
                 "--set", "month=2024-01"]) == 2
    assert "No data loaded" in capsys.readouterr().err


def test_ingest_with_a_rejected_file_exits_1_and_says_why(data_dir, tmp_path, capsys):
    delivery = write_delivery(tmp_path / "bad", {"clients": [{"client_id": "9", "name": "x"}]})
    assert main(["--data-dir", str(data_dir), "ingest", str(delivery)]) == 1
    assert "clients.csv: REJECTED: clients.csv: missing required column branch_id" in \
        capsys.readouterr().err
