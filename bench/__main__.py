"""Bank-scale benchmark: generate a demo lake of N clients (once; cached under bench/results/),
then measure and print, in one run:

    python -m bench --clients N [--months 36] [--repeat 5] [--no-pages] [--no-browser]
                    [--pandas | --no-pandas] [--data-dir DIR]
    python -m bench --growth        the saved figures of every size measured, side by side

1. every named query, all branches and one branch: cold, median and 95th percentile ms;
2. each query that reads a load-time aggregate (tierflow/cubes.py) against the same figures
   computed from the raw snapshot rows (bench/reference/): equal or not, and both times;
3. every page as a signed-in executive: first render, cached rerun, uncached filter changes
   (server side), click to idle in Debian's chromium, and resident memory;
4. with --pandas (the default up to 1,000,000 clients): the headline figures computed the way
   public Streamlit churn apps do (every snapshot row in one pandas frame, grouped at each
   interaction), in a process of their own, against tierflow's queries for the same figures.

Nothing here is asserted in tests; figures are printed and saved to
bench/results/summary-<clients>.json for --growth.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_pages import percentile, print_browser, print_server
from bench.bench_queries import RESULTS, cases, ensure_lake
from bench.reference import RawLake, differences, reference_names, without_looked_up
from tierflow.access import EVERYTHING
from tierflow.queries import QueryRunner

ROOT = Path(__file__).resolve().parent.parent
# pandas' path and tierflow's query for the same headline figure
PANDAS_FIGURES = {"monthly_totals": "monthly_totals", "tier_distribution": "tier_distribution",
                  "branch_league": "branch_league", "churn_monthly": "churn_monthly"}


def timed(run, repeat: int) -> tuple[list[float], object]:
    timings, result = [], None
    for _ in range(repeat + 1):
        started = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - started)
    return timings, result


def shown(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())[:46] or "(all)"


def measure_queries(runner, repeat: int) -> list[dict]:
    print(f"\n{'query':<24} {'parameters':<46} {'cold ms':>8} {'median':>8} {'p95':>8} "
          f"{'rows':>8}")
    out = []
    for name, params in cases(runner):
        timings, result = timed(lambda: runner.run_arrow(name, params), repeat)
        warm = timings[1:]
        row = {"query": name, "params": shown(params), "cold_ms": timings[0] * 1000,
               "median_ms": statistics.median(warm) * 1000,
               "p95_ms": percentile(warm, 0.95) * 1000, "rows": result.num_rows}
        out.append(row)
        print(f"{name:<24} {row['params']:<46} {row['cold_ms']:>8.1f} {row['median_ms']:>8.1f} "
              f"{row['p95_ms']:>8.1f} {row['rows']:>8}")
    return out


def check_against_raw(runner, data_dir: Path, repeat: int) -> list[dict]:
    print("\nqueries on the aggregates against the raw snapshot rows (bench/reference/): "
          "median ms")
    print(f"{'query':<20} {'parameters':<46} {'aggregate':>10} {'raw rows':>10} {'ratio':>7}  "
          "result")
    raw = RawLake(data_dir)
    out = []
    for name, params in cases(runner):
        if name not in reference_names():
            continue
        fast, got = timed(lambda: runner.run_arrow(name, params), repeat)
        slow, expected = timed(lambda: raw.run(name, params), min(repeat, 2))
        problems = differences(without_looked_up(name, got), expected)
        row = {"query": name, "params": shown(params),
               "aggregate_ms": statistics.median(fast[1:]) * 1000,
               "raw_ms": statistics.median(slow[1:]) * 1000, "same": not problems}
        out.append(row)
        print(f"{name:<20} {row['params']:<46} {row['aggregate_ms']:>10.1f} "
              f"{row['raw_ms']:>10.1f} {row['raw_ms'] / max(row['aggregate_ms'], 1e-3):>6.0f}×  "
              f"{'same' if row['same'] else 'DIFFERENT: ' + problems[0]}")
    return out


def compare_pandas(runner, data_dir: Path, repeat: int, queries: list[dict]) -> dict:
    month = runner.lake.months()[-1]
    done = subprocess.run([sys.executable, "-m", "bench.pandas_path", str(data_dir), month,
                           str(repeat)], check=True, cwd=ROOT, capture_output=True, text=True)
    pandas = json.loads(done.stdout)
    tierflow = {q["query"]: q["median_ms"] for q in queries if q["params"] in ("(all)",
                                                                             f"month={month}")}
    totals = runner.run("monthly_totals")
    answer = pandas["answers"]["monthly_totals"]
    agree = (list(totals["clients"]) == answer["clients"]
             and all(abs(a - b) < 0.5 for a, b in zip(totals["total_aum"], answer["total_aum"])))
    print(f"\npandas path (every snapshot row in one frame, grouped per interaction): "
          f"{pandas['rows']:,} rows loaded in {pandas['load_s']:.1f} s, peak resident memory "
          f"{pandas['peak_rss_mb']:.0f} MB; monthly totals agree with tierflow's: {agree}")
    print(f"{'figure':<20} {'pandas ms':>10} {'tierflow ms':>12} {'ratio':>7}")
    ratios = {}
    for figure, query in PANDAS_FIGURES.items():
        slow, fast = pandas["medians_s"][figure] * 1000, tierflow[query]
        ratios[figure] = slow / max(fast, 1e-3)
        print(f"{figure:<20} {slow:>10.1f} {fast:>12.1f} {ratios[figure]:>6.0f}×")
    return {"load_s": pandas["load_s"], "peak_rss_mb": pandas["peak_rss_mb"],
            "medians_ms": {k: v * 1000 for k, v in pandas["medians_s"].items()},
            "ratios": ratios, "agree": agree}


def print_growth() -> None:
    summaries = sorted((json.loads(p.read_text()) for p in RESULTS.glob("summary-*.json")),
                       key=lambda s: s["clients"])
    if not summaries:
        print("no saved figures yet: run `python -m bench --clients N` first")
        return
    sizes = [f"{s['clients']:,}" for s in summaries]
    print(f"{'median ms, all branches':<32} " + " ".join(f"{s:>11}" for s in sizes))
    names = [(q["query"], q["params"]) for q in summaries[-1]["queries"]]
    for name, params in names:
        cells = []
        for s in summaries:
            hit = [q["median_ms"] for q in s["queries"]
                   if q["query"] == name and q["params"] == params]
            cells.append(f"{hit[0]:>11.1f}" if hit else f"{'':>11}")
        print(f"{(name + ' ' + params)[:32]:<32} " + " ".join(cells))
    for label, key in (("pages: median ms", "pages_median_ms"), ("pages: p95 ms", "pages_p95_ms"),
                       ("bench process peak MB", "peak_rss_mb")):
        print(f"{label:<32} " + " ".join(f"{s.get(key, float('nan')):>11.0f}" for s in summaries))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--clients", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--branches", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, help="measure this lake instead of a demo one")
    parser.add_argument("--no-pages", action="store_true")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--pandas", action=argparse.BooleanOptionalAction, default=None,
                        help="compare with the pandas path (default: up to 1,000,000 clients)")
    parser.add_argument("--growth", action="store_true")
    args = parser.parse_args()
    if args.growth:
        print_growth()
        return

    data_dir = args.data_dir or ensure_lake(args.clients, args.months, args.branches)
    runner = QueryRunner(data_dir).for_scope(EVERYTHING)
    months = runner.lake.months()
    print(f"lake {data_dir}: {len(months)} months, "
          f"{int(runner.run('monthly_totals')['clients'].iloc[-1]):,} clients in {months[-1]}")
    summary = {"clients": args.clients, "months": len(months)}
    summary["queries"] = measure_queries(runner, args.repeat)
    summary["raw"] = check_against_raw(runner, data_dir, args.repeat)
    if not args.no_pages:
        from bench.bench_pages import browser_side, server_side

        server = server_side(data_dir, 3)
        print_server(server)
        browser = None if args.no_browser else browser_side(data_dir, 3)
        if browser:
            print_browser(browser)
        every = [t for page, m in server.items() if not page.startswith("_")
                 for t in m["first"] + m["changes"]]
        summary |= {"pages_median_ms": statistics.median(every) * 1000,
                    "pages_p95_ms": percentile(every, 0.95) * 1000,
                    "peak_rss_mb": server["_peak_rss_mb"], "pages": server, "browser": browser}
    if args.pandas or (args.pandas is None and args.clients <= 1_000_000):
        summary["pandas"] = compare_pandas(runner, data_dir, args.repeat, summary["queries"])
    out = RESULTS / f"summary-{args.clients}.json"
    out.write_text(json.dumps(summary, indent=1, default=str))
    print(f"\nsaved to {out}")


if __name__ == "__main__":
    main()
