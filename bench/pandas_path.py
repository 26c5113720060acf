"""The dashboard's headline figures the way public Streamlit churn apps compute them: every
snapshot row loaded into one pandas frame (cached by the app), then grouped in the page at
each interaction. Run in its own process by `python -m bench` so its memory is its own:

    python -m bench.pandas_path DATA_DIR MONTH REPEAT

Prints one JSON object: seconds to load, peak resident memory, each figure's median seconds,
and the figures themselves (for the comparison with tierflow's answers).
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

from tierflow.lake import Lake
from tierflow.settings import load_settings

COLUMNS = ["month", "month_index", "client_id", "branch_id", "aum", "present", "tier",
           "tier_rank", "prev_tier_rank", "next_tier_rank"]


def load(data_dir: Path) -> pd.DataFrame:
    lake = Lake(data_dir)
    files = lake.table_files(lake.require_version())["snapshots"]
    frame = pd.concat([pd.read_parquet(f, columns=COLUMNS) for f in files], ignore_index=True)
    frame["aum"] = frame["aum"].astype("float64")
    return frame


def monthly_totals(df: pd.DataFrame, vip_rank: int) -> pd.DataFrame:
    p = df[df["present"]]
    out = p.groupby("month").agg(clients=("client_id", "size"), total_aum=("aum", "sum"))
    out["vip_clients"] = (p["tier_rank"] >= vip_rank).groupby(p["month"]).sum()
    out["upgrades"] = (p["tier_rank"] > p["prev_tier_rank"]).groupby(p["month"]).sum()
    out["downgrades"] = (p["tier_rank"] < p["prev_tier_rank"]).groupby(p["month"]).sum()
    return out.reset_index()


def tier_distribution(df: pd.DataFrame, month: str) -> pd.DataFrame:
    p = df[df["present"] & (df["month"] == month)]
    return p.groupby("tier").agg(clients=("client_id", "size"), aum=("aum", "sum")).reset_index()


def branch_league(df: pd.DataFrame, month: str) -> pd.DataFrame:
    p = df[df["present"] & (df["month"] == month)]
    return p.groupby("branch_id").agg(clients=("client_id", "size"),
                                      aum=("aum", "sum")).reset_index()


def churn_monthly(df: pd.DataFrame, vip_rank: int) -> pd.DataFrame:
    at_risk = df[df["present"] & (df["tier_rank"] >= vip_rank)]
    churned = at_risk["next_tier_rank"].fillna(0) == 0
    out = pd.DataFrame({"month_index": at_risk["month_index"] + 1, "churned": churned})
    return out.groupby("month_index").agg(at_risk=("churned", "size"),
                                          churned=("churned", "sum")).reset_index()


def main() -> None:
    data_dir, month, repeat = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    vip_rank = load_settings(data_dir).vip_min_rank
    started = time.perf_counter()
    df = load(data_dir)
    loaded = time.perf_counter() - started
    figures = {
        "monthly_totals": lambda: monthly_totals(df, vip_rank),
        "tier_distribution": lambda: tier_distribution(df, month),
        "branch_league": lambda: branch_league(df, month),
        "churn_monthly": lambda: churn_monthly(df, vip_rank),
    }
    medians, answers = {}, {}
    for name, compute in figures.items():
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            answer = compute()
            timings.append(time.perf_counter() - started)
        medians[name] = statistics.median(timings)
        answers[name] = answer.to_dict(orient="list")
    print(json.dumps({
        "rows": len(df), "load_s": loaded, "medians_s": medians,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "answers": answers,
    }, default=float))


if __name__ == "__main__":
    main()
