"""Page timings: server-side script runs (AppTest) and the browser's click-to-idle time.

    python bench/bench_pages.py --data-dir DIR [--repeat 5] [--no-browser]

Server side, per page: the first render with empty caches (every query runs), the same page
rendered again (cached), and a filter change to the previous month (its queries run). Browser
side (Debian's chromium, as in the browser tests): opening each page until the script is idle
and its charts are drawn, and a month change until idle again. Medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PAGES = ["overview", "tiers", "migration", "churn", "retention", "dormant", "clients",
         "todos", "books"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'


def server_side(data_dir: Path, repeat: int) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["TIERFLOW_DATA_DIR"] = str(data_dir)
    print(f"\nserver side (script run), median of {repeat}, ms")
    print(f"{'page':<10} {'first render':>13} {'again':>8} {'month change':>13}")
    for page in PAGES:
        first, again, change = [], [], []
        for _ in range(repeat):
            st.cache_data.clear()
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
            started = time.perf_counter()
            at.run()  # the frame and the default page, the overview
            if page != "overview":
                started = time.perf_counter()
                at.switch_page(f"app_pages/{page}.py").run()
            first.append(time.perf_counter() - started)
            months = at.selectbox(key="month").options
            started = time.perf_counter()
            at.run()
            again.append(time.perf_counter() - started)
            started = time.perf_counter()
            at.selectbox(key="month").set_value(months[1]).run()
            change.append(time.perf_counter() - started)
            assert not at.exception, at.exception
        print(f"{page:<10} {statistics.median(first) * 1000:>13.0f} "
              f"{statistics.median(again) * 1000:>8.0f} {statistics.median(change) * 1000:>13.0f}")


def browser_side(data_dir: Path, repeat: int) -> None:
    from playwright.sync_api import TimeoutError, sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TIERFLOW_DATA_DIR": str(data_dir)}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"])
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            print(f"\nbrowser (click to idle), median of {repeat}, ms")
            print(f"{'page':<10} {'open':>8} {'month change':>13}")
            for name in PAGES:
                opened, changed = [], []
                for _ in range(repeat):
                    started = time.perf_counter()
                    page.goto(f"{url}/{'' if name == 'overview' else name}")
                    page.wait_for_selector(IDLE, timeout=600_000)
                    page.wait_for_load_state("networkidle")
                    opened.append(time.perf_counter() - started)
                    box = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first
                    box.click()
                    started = time.perf_counter()
                    page.get_by_role("option").nth(1).click()
                    try:  # the rerun starts after the click; wait for it, then for idle
                        page.wait_for_selector(RUNNING, timeout=2_000)
                    except TimeoutError:
                        pass  # it was over before we looked
                    page.wait_for_selector(IDLE, timeout=600_000)
                    changed.append(time.perf_counter() - started)
                print(f"{name:<10} {statistics.median(opened) * 1000:>8.0f} "
                      f"{statistics.median(changed) * 1000:>13.0f}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    server_side(args.data_dir, args.repeat)
    if not args.no_browser:
        browser_side(args.data_dir, args.repeat)


if __name__ == "__main__":
    main()
