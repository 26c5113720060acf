"""Loads are all or nothing: a load killed (SIGKILL) at any moment while a reader keeps
querying leaves the reader seeing the complete old data or the complete new data, never a mix
or an error, and running the load again finishes the job.

State A is a small demo lake; state B is A after a second delivery (a different demo of the
same shape, so every table and month changes). A reader process runs the named queries in a
loop and records what it sees; the test kills loads of B at several moments (spread over the
load, and right after the switch of CURRENT), reruns each, and rolls back to A for the next
round.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tierflow.access import EVERYTHING
from tierflow.demo import generate_delivery
from tierflow.ingest import ingest
from tierflow.lake import Lake
from tierflow.queries import QueryRunner
from tierflow.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

# The reader: another process, as the app or a CLI export would be, looping until told to stop.
READER = """
import json, sys
from pathlib import Path
from test_atomic_loads import state
from tierflow.access import EVERYTHING
from tierflow.queries import QueryRunner
data, out, stop = Path(sys.argv[1]), open(sys.argv[2], "a"), Path(sys.argv[3])
runner = QueryRunner(data).for_scope(EVERYTHING)
while not stop.exists():
    try:
        out.write(json.dumps({"state": state(runner)}) + "\\n")
    except Exception as exc:
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\\n")
    out.flush()
"""


def state(runner) -> list:
    """What a reader sees, in a form two states can be compared by: the months and clients
    per month, the branch count, the AUM of the last month by tier, the ledger size. The
    queries read one version, as a page does (tierflow/app_data.py pins it per run)."""
    runner = runner.at_version(runner.lake.require_version())
    totals = runner.run("monthly_totals")[["month", "clients", "total_aum", "upgrades"]]
    last = totals["month"].max()
    tiers = runner.run("tier_distribution", {"month": last})
    return [totals.round(2).values.tolist(), len(runner.run("branches")),
            tiers.round(2).values.tolist(),
            int(runner.run("retention_success")["closed_cases"].sum())]


def ingest_process(data: Path, delivery: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tierflow", "--data-dir", str(data),
                             "ingest", str(delivery)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    root = tmp_path_factory.mktemp("atomic")
    for name, seed in (("a", 11), ("b", 12)):
        generate_delivery(root / f"delivery-{name}", clients=2_000, months=6, branches=4,
                          seed=seed)
    ingest(root / "delivery-a", root / "data", Settings())
    state_a = state(QueryRunner(root / "data").for_scope(EVERYTHING))
    # B, and how long a load of it takes, measured on a copy
    subprocess.run(["cp", "-a", str(root / "data"), str(root / "data-b")], check=True)
    started = time.perf_counter()
    assert ingest_process(root / "data-b", root / "delivery-b").wait() == 0
    seconds = time.perf_counter() - started
    state_b = state(QueryRunner(root / "data-b").for_scope(EVERYTHING))
    assert state_a != state_b
    return root, state_a, state_b, seconds


def test_a_killed_load_leaves_old_or_new_data_and_a_rerun_finishes(lakes):
    root, state_a, state_b, seconds = lakes
    data, lake = root / "data", Lake(root / "data")
    log, stop = root / "reader.jsonl", root / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(data), str(log), str(stop)],
                              cwd=ROOT, env={**os.environ,
                                             "PYTHONPATH": f"{ROOT}:{ROOT / 'tests'}"})
    kills = []
    try:
        # kill at moments spread over the whole load (process start-up included), then once
        # right after the new version became current
        for fraction in (0.3, 0.6, 0.8, 0.95, "after-switch"):
            before = lake.current_version()
            load = ingest_process(data, root / "delivery-b")
            if fraction == "after-switch":
                while lake.current_version() == before and load.poll() is None:
                    time.sleep(0.005)
            else:
                time.sleep(seconds * fraction)
            load.send_signal(signal.SIGKILL)
            load.wait()
            seen_now = state(QueryRunner(data).for_scope(EVERYTHING))
            kills.append((fraction, "new" if seen_now == state_b else
                          "old" if seen_now == state_a else "MIXED"))
            assert seen_now in (state_a, state_b), f"killed at {fraction}: a mixed state"
            # the rerun finishes the job (or finds it done)
            assert ingest_process(data, root / "delivery-b").wait() == 0
            assert state(QueryRunner(data).for_scope(EVERYTHING)) == state_b
            lake.rollback(by="test")  # back to A for the next round
            assert state(QueryRunner(data).for_scope(EVERYTHING)) == state_a
    finally:
        stop.touch()
        reader.wait(timeout=60)
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    errors = [s["error"] for s in seen if "error" in s]
    assert not errors, errors[:3]
    states = [s["state"] for s in seen]
    assert len(states) > 20, "the reader kept reading throughout"
    assert all(s in (state_a, state_b) for s in states), "the reader saw a mixed state"
    assert state_a in states and state_b in states
    # the kills did hit loads both before and after the switch
    assert {"old", "new"} <= {outcome for _, outcome in kills}, kills
    assert not list(lake.versions.glob(".tmp-*")), "the reruns cleared what the kills left"
