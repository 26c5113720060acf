"""Browser tests: the served app (``streamlit run app.py``) driven by headless Chromium.

Session fixtures: a small demo lake (2,000 clients × 14 months × 6 branches, as in
tests/test_pages.py) with the demo users (password `demo`), a Streamlit server on a free port
over it, a QueryRunner over the same data folder for the expected figures, and
pytest-playwright's browser launched from the Debian Chromium (never `playwright install`).
Every test also checks that the server logged no uncaught exception while it ran (the page
hides tracebacks: client.showErrorDetails="none").

Every browser session starts at the sign-in form: `sign_in(page, user)` signs it in through the
real form (each `page.goto` is a new Streamlit session, so each one signs in again).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tierflow.access import DEMO_PASSWORD, EVERYTHING, write_demo_users
from tierflow.demo import generate_delivery
from tierflow.i18n import LANGS, t
from tierflow.ingest import ingest
from tierflow.queries import QueryRunner
from tierflow.settings import Settings

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

expect.set_options(timeout=30_000)

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def in_any_language(key: str) -> re.Pattern:
    """A label in any of the interface languages, whole."""
    return re.compile("^(" + "|".join(re.escape(t(key, lang)) for lang in LANGS) + ")$")


SUBMIT = in_any_language("signin_submit")  # the sign-in form's button
SIGN_OUT = in_any_language("signout")  # the sidebar's sign-out button


def idle(page: Page) -> None:
    """Wait until the app's script has finished its run."""
    page.wait_for_selector(IDLE, timeout=60_000)


def sign_in_form(page: Page):
    return page.get_by_test_id("stForm")


def sign_out_button(page: Page):
    return page.get_by_test_id("stSidebar").get_by_role("button", name=SIGN_OUT)


def submit_sign_in(page: Page, user: str, password: str) -> None:
    """Fill the sign-in form (already shown) and press its button."""
    form = sign_in_form(page)
    expect(form).to_be_visible()
    form.locator(".st-key-signin_name input").fill(user)
    form.locator(".st-key-signin_password input").fill(password)
    form.get_by_role("button", name=SUBMIT).click()


def sign_in(page: Page, user: str = "demo-executive", password: str = DEMO_PASSWORD) -> None:
    """Sign the page's session in as `user` through the real form, then wait until the
    signed-in app (with its sign-out button) has finished running."""
    idle(page)
    submit_sign_in(page, user, password)
    expect(sign_out_button(page)).to_be_visible()
    expect(sign_in_form(page)).to_have_count(0)
    idle(page)


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    generate_delivery(root / "demo", clients=2_000, months=14, branches=6, seed=3)
    report = ingest(root / "demo", root / "data", Settings())
    assert not report.rejected, report.summary()
    write_demo_users(root / "data")
    return root / "data"


@pytest.fixture(scope="session")
def runner(demo_data_dir) -> QueryRunner:
    """The named queries over the app's data folder: where every expected figure comes from."""
    return QueryRunner(demo_data_dir).for_scope(EVERYTHING)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, log: Path):
        self.url = url
        self.log = log

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="session")
def app_server(demo_data_dir, tmp_path_factory):
    with serve(demo_data_dir, tmp_path_factory.mktemp("server") / "streamlit.log") as server:
        yield server


@contextmanager
def serve(data_dir: Path, log: Path):
    """`streamlit run app.py` on a free port over `data_dir`, healthy; stopped on exit."""
    port = _free_port()
    env = {**os.environ, "TIERFLOW_DATA_DIR": str(data_dir)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    server = Server(url, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{server.log_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit not healthy after 60 s:\n{server.log_text()}")
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def base_url(app_server) -> str:
    """pytest-playwright gives every context this base URL: page.goto("/tiers")."""
    return app_server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True,
            "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900},
            "locale": "zh-CN", "timezone_id": "Asia/Shanghai", "accept_downloads": True}


@pytest.fixture(autouse=True)
def no_server_errors(app_server):
    """Fail a test during which the server logged an uncaught exception (the page itself
    shows only a redacted message)."""
    start = len(app_server.log_text())
    yield
    new = app_server.log_text()[start:]
    assert "Traceback" not in new and "Uncaught" not in new, new


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
