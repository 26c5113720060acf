"""Page timings: server-side script runs (AppTest) and the browser's click-to-idle time, as a
signed-in executive (the demo user; every branch, the widest scope).

    python bench/bench_pages.py --data-dir DIR [--repeat 3] [--no-browser]

Server side, per page: the first render with empty caches (every query runs), the same page
rendered again (cached), and filter changes whose answers are not cached yet: each of the
previous `repeat` months, then one branch after another. Browser side (Debian's chromium, as
in the browser tests): opening each page, and month changes, each until the script is idle
and until the page is drawn (its charts and tables done: no change to the page for QUIET_MS);
the served app's peak resident memory at the end. `python -m bench` runs these and prints the
medians and 95th percentiles.
"""

from __future__ import annotations

import argparse
import os
import resource
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
         "todos", "books", "warnings"]
USER, PASSWORD = "demo-executive", "demo"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def server_side(data_dir: Path, repeat: int) -> dict[str, dict[str, list[float]]]:
    """Seconds per page: first render, cached rerun, and each uncached filter change."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tierflow.sign_in import SIGNED_IN_AS

    from tierflow.access import EVERYTHING
    from tierflow.queries import runner_for

    os.environ["TIERFLOW_DATA_DIR"] = str(data_dir)
    branch_ids = list(runner_for(data_dir).run("branches", {}, scope=EVERYTHING)["branch_id"])
    measured = {}
    for page in PAGES:
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
        at.session_state[SIGNED_IN_AS] = USER
        started = time.perf_counter()
        at.run()  # the frame and the default page, the overview
        if page != "overview":
            started = time.perf_counter()
            at.switch_page(f"app_pages/{page}.py").run()
        first = [time.perf_counter() - started]
        if "month" not in at.session_state:  # the sign-in form instead of the app
            raise SystemExit(f"{USER} could not sign in to {data_dir} (no demo users there? "
                             "`python -m tierflow --data-dir DIR demo --if-missing` adds them)")
        started = time.perf_counter()
        at.run()
        again = [time.perf_counter() - started]
        month_changes, branch_changes = [], []
        months = at.selectbox(key="month").options
        for month in months[1:repeat + 1]:
            started = time.perf_counter()
            at.selectbox(key="month").set_value(month).run()
            month_changes.append(time.perf_counter() - started)
        # the widget's values are branch ids (its options are their labels, "0101 静安支行")
        for branch in branch_ids[:repeat]:
            started = time.perf_counter()
            at.multiselect(key="branches").set_value([branch]).run()
            branch_changes.append(time.perf_counter() - started)
            if at.multiselect(key="branches").value != [branch]:
                raise SystemExit(f"{page}: choosing branch {branch} did not take")
        assert not at.exception, at.exception
        measured[page] = {"first": first, "again": again,
                          "changes": month_changes + branch_changes,
                          "month_changes": month_changes, "branch_changes": branch_changes}
    measured["_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return measured


# Records in the page when the script, having run after the click, is idle again: a rerun
# may start and end between two looks from outside, so the browser watches for itself. It also
# records the last change to the page: after the script is idle the browser still draws the
# charts the run sent (plotly's 300 bars of branch × tier on Tiers: some 7,600 changes).
_WATCH = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    window.__ran = false; window.__idle_at = null; window.__clicked_at = performance.now();
    window.__changed_at = window.__clicked_at;
    if (window.__watch) window.__watch.disconnect();
    window.__watch = new MutationObserver((records) => {
        const now = performance.now();
        window.__changed_at = now;
        if (!records.some(r => r.target === app)) return;
        if (app.getAttribute('data-test-script-state') === 'running') window.__ran = true;
        else if (window.__ran && window.__idle_at === null) window.__idle_at = now;
    });
    window.__watch.observe(document.body,
                           {subtree: true, childList: true, attributes: true, characterData: true});
}"""
# The page counts as drawn at its last change before this long without one after the script
# went idle (a later change, such as a tooltip, is not the click's).
QUIET_MS = 500


def click_to_idle(page, target) -> tuple[float, float]:
    """Seconds from clicking `target` until the script run it causes has finished, and until
    the page it drew stopped changing."""
    page.evaluate(_WATCH)
    target.click()
    page.wait_for_function("() => window.__idle_at !== null", timeout=900_000)
    page.wait_for_function(f"() => performance.now() - window.__changed_at > {QUIET_MS}",
                           timeout=900_000)
    idle, drawn = page.evaluate("() => [window.__idle_at - window.__clicked_at, "
                                "Math.max(window.__idle_at, window.__changed_at) "
                                "- window.__clicked_at]")
    return idle / 1000, drawn / 1000


def browser_side(data_dir: Path, repeat: int) -> dict[str, dict[str, list[float]]]:
    """Seconds per page in the browser: opening it, and each month change, until idle and
    until drawn."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TIERFLOW_DATA_DIR": str(data_dir)}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    measured = {}
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
            page.goto(url)
            page.wait_for_selector(IDLE, timeout=900_000)
            form = page.get_by_test_id("stForm")
            form.locator(".st-key-signin_name input").fill(USER)
            form.locator(".st-key-signin_password input").fill(PASSWORD)
            form.get_by_test_id("stBaseButton-primaryFormSubmit").click()
            page.get_by_test_id("stSidebar").get_by_role("button").last.wait_for()
            page.wait_for_selector(IDLE, timeout=900_000)
            for name in PAGES:
                # through the sidebar's links: a new URL would be a new session, signed out
                link = page.get_by_test_id("stSidebarNav").locator(
                    f'a[href$="/{"" if name == "overview" else name}"]')
                opened = [click_to_idle(page, link)]
                changed = []
                for option in range(1, repeat + 1):
                    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()
                    changed.append(click_to_idle(page, page.get_by_role("option").nth(option)))
                measured[name] = {
                    "open": [i for i, _ in opened], "changes": [i for i, _ in changed],
                    "open_drawn": [d for _, d in opened], "changes_drawn": [d for _, d in changed]}
            browser.close()
        status = Path(f"/proc/{server.pid}/status").read_text()
        peak = next(line for line in status.splitlines() if line.startswith("VmHWM"))
        measured["_server_peak_rss_mb"] = int(peak.split()[1]) / 1024
    finally:
        server.terminate()
        server.wait(timeout=10)
    return measured


def print_server(server: dict) -> None:
    print("\nserver side (script run), ms: first render (cold caches), cached rerun, "
          "uncached filter changes (median / p95; month and branch changes' medians apart)")
    print(f"{'page':<10} {'first':>8} {'again':>8} {'changes':>8} {'median':>8} {'p95':>8} "
          f"{'month':>8} {'branch':>8}")
    every = []
    for page in PAGES:
        m = server[page]
        every += m["first"] + m["changes"]
        print(f"{page:<10} {m['first'][0] * 1000:>8.0f} {m['again'][0] * 1000:>8.0f} "
              f"{len(m['changes']):>8} {statistics.median(m['changes']) * 1000:>8.0f} "
              f"{percentile(m['changes'], 0.95) * 1000:>8.0f} "
              f"{statistics.median(m['month_changes']) * 1000:>8.0f} "
              f"{statistics.median(m['branch_changes']) * 1000:>8.0f}")
    print(f"{'all':<10} first renders and changes together: median "
          f"{statistics.median(every) * 1000:.0f} ms, p95 {percentile(every, 0.95) * 1000:.0f} "
          f"ms; peak resident memory {server['_peak_rss_mb']:.0f} MB")


def print_browser(browser: dict) -> None:
    print(f"\nbrowser, ms: from the click until the script is idle, and until the page is drawn "
          f"(no change for {QUIET_MS} ms)")
    print(f"{'page':<10} {'open':>8} {'drawn':>8} {'change median':>14} {'drawn':>8} "
          f"{'max change':>11} {'drawn':>8}")
    for page in PAGES:
        m = browser[page]
        print(f"{page:<10} {m['open'][0] * 1000:>8.0f} {m['open_drawn'][0] * 1000:>8.0f} "
              f"{statistics.median(m['changes']) * 1000:>14.0f} "
              f"{statistics.median(m['changes_drawn']) * 1000:>8.0f} "
              f"{max(m['changes']) * 1000:>11.0f} {max(m['changes_drawn']) * 1000:>8.0f}")
    print(f"served app's peak resident memory: {browser['_server_peak_rss_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    print_server(server_side(args.data_dir, args.repeat))
    if not args.no_browser:
        print_browser(browser_side(args.data_dir, args.repeat))


if __name__ == "__main__":
    main()
