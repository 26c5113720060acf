"""The data page (app_pages/data.py) under AppTest: an administrator's page in both languages
with the months loaded and the history; out of reach for everyone else; an upload through the
uploader (refused by content, refused by the share of rows set aside, loaded), its report
kept across reruns, and the rollback with its confirmation.

The demo lake of tests/test_pages.py is shared and only read here; uploads and rollbacks run
on a throwaway data folder of two small loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import BRANCHES, client, snap, write_delivery
from test_pages import APP, demo_data_dir  # noqa: F401 (a fixture)
from test_uploads import PNG, csv_bytes
from tierflow.access import write_demo_users
from tierflow.frame import Filters
from tierflow.i18n import t
from tierflow.ingest import ingest
from tierflow.lake import Lake
from tierflow.settings import Settings
from tierflow.sign_in import SIGNED_IN_AS

PAGE = "app_pages/data.py"
ROOT = Path(__file__).resolve().parent.parent


def open_data_page(user: str, lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lang"] = lang
    at.session_state[SIGNED_IN_AS] = user
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def months_table(at: AppTest):
    """The months table (AppTest does not report a table's key: found by its columns)."""
    [months] = [d.value for d in at.dataframe if list(d.value.columns) == [
        "month", "load", "at", "by", "delivery"]]
    return months


def history_table(at: AppTest):
    [history] = [d.value for d in at.dataframe if "event" in d.value.columns]
    return history


@pytest.fixture
def shared_lake(demo_data_dir, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(demo_data_dir))
    return demo_data_dir


@pytest.fixture(scope="module")
def two_loads(tmp_path_factory) -> Path:
    """A data folder of two loads: January (branches, a manager, ten clients), then
    February for the same clients; built once, copied for each test that changes it."""
    root = tmp_path_factory.mktemp("two_loads")
    ids = ["000123", "000456"] + [f"00090{i}" for i in range(8)]
    first = write_delivery(root / "d1", {
        "branches": BRANCHES,
        "managers": [{"manager_id": "M1", "manager_name": "王经理", "branch_id": "B1"}],
        "clients": [client(c, "B2" if c == "000456" else "B1") for c in ids],
        "snapshots": [snap("2024-01", c, "60000") for c in ids]})
    second = write_delivery(root / "d2", {
        "snapshots": [snap("2024-02", c, "70000") for c in ids]})
    for delivery in (first, second):
        report = ingest(delivery, root / "data", Settings(), by="setup")
        assert report.version and not report.refused, report.summary()
    write_demo_users(root / "data")
    return root / "data"


@pytest.fixture
def throwaway(two_loads, tmp_path, monkeypatch) -> Path:
    data = tmp_path / "data"
    shutil.copytree(two_loads, data)
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(data))
    return data


# -- who sees it ---------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_admin_sees_the_months_and_the_history(shared_lake, lang):
    at = open_data_page("demo-admin", lang)
    assert [h.value for h in at.header] == [t("page_data", lang)]
    assert [s.value for s in at.subheader] == [
        t(k, lang) for k in ("data_upload", "data_months", "data_history", "data_rollback")]
    lake = Lake(shared_lake)
    months = months_table(at)
    assert months["month"].tolist() == lake.months()[::-1]  # one row per month, newest first
    loads = lake.manifest()["loads"]
    assert set(months["load"]) == {loads[0]["load"]}  # the demo delivered every month
    history = history_table(at)
    assert history[["event", "version"]].values.tolist() == [
        [t("data_event_load", lang), x["load"]] for x in loads[::-1]]
    uploader = at.file_uploader(key="data_files")
    assert uploader.allowed_type == [".csv", ".xlsx", ".parquet"]
    assert uploader.accept_multiple_files and uploader.proto.max_upload_size_mb == 200
    assert "200 MB" in at.caption[0].value
    assert at.checkbox(key="data_rollback_confirm").value is False
    assert at.button(key="data_rollback").disabled  # not before the confirmation


def test_a_non_admin_cannot_reach_the_data_page(shared_lake):
    """Not in an analyst's navigation, and a deep link lands on the Overview."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lang"] = "en"
    at.session_state[SIGNED_IN_AS] = "demo-analyst"
    at.switch_page(PAGE)  # as a deep link would
    at.run()
    assert not at.exception
    assert t("page_data", "en") not in [h.value for h in at.header]
    assert not at.get("file_uploader") and not [
        d for d in at.dataframe if {"delivery", "event"} & set(d.value.columns)]
    with pytest.raises(ValueError, match="navigation page"):
        at.switch_page(PAGE)


def test_the_page_itself_refuses_a_non_admin(shared_lake):
    """Run on its own (as if navigation had let a non-admin in): an error and nothing else."""
    from tierflow.access import UserStore
    from tierflow.app_data import USER_KEY

    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=60)
    at.session_state[USER_KEY] = UserStore(shared_lake).require("demo-analyst")
    at.session_state["_filters"] = Filters(month="", branches=(), tiers=(), lang="en")
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [t("admin_only", "en")]
    assert not at.dataframe and not at.subheader and not at.button and not at.checkbox
    assert not at.get("file_uploader")


# -- uploads ---------------------------------------------------------------------------------

def upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key="data_files").set_value([(n, d, "text/csv") for n, d in files])
    [submit] = [b for b in at.button if b.label == t("data_load", at.session_state["lang"])]
    submit.click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_upload_refused_by_content_names_the_file(throwaway):
    at = upload(open_data_page("demo-admin", "en"),
                [("snapshots_2024-03.csv", csv_bytes([snap("2024-03", "000123", "1")])),
                 ("clients.csv", PNG)])
    assert [e.value for e in at.error] == [
        t("data_upload_refused", "en") + "\n\n- clients.csv: not CSV text: this is a PNG image"]
    assert not (throwaway / "uploads").exists()
    assert Lake(throwaway).current_version() == "v000002"


def test_a_refused_load_shows_its_report_which_stays(throwaway):
    ids = ["000123", "000456"] + [f"00090{i}" for i in range(8)]
    rows = [snap("2024-03", c, "-5" if i < 3 else "1") for i, c in enumerate(ids)]
    at = upload(open_data_page("demo-admin", "en"), [("snapshots_2024-03.csv", csv_bytes(rows))])
    [error] = [e.value for e in at.error]
    assert error.startswith("REFUSED: 3 of 10 rows (30.0%) break a rule")
    assert {m.label: m.value for m in at.metric} == {
        "Rows read": "10", "Rows set aside": "3", "Share set aside": "30.0%"}
    rules = [d.value for d in at.dataframe if "rule" in d.value.columns and
             "rows" in d.value.columns][0]
    assert rules.values.tolist() == [["negative amount: aum", 3]]
    assert at.get("download_button")[0].label == t("data_download_set_aside", "en")
    assert Lake(throwaway).current_version() == "v000002"
    history = history_table(at)
    assert history["event"].tolist()[0] == t("data_event_refused", "en")
    # the report stays through reruns and page switches
    at.switch_page("app_pages/overview.py").run()
    at.switch_page(PAGE).run()
    assert [e.value for e in at.error] == [error]


def test_a_good_upload_loads_and_every_page_follows(throwaway):
    at = open_data_page("demo-admin", "zh")
    assert at.selectbox(key="month").options == ["2024-02", "2024-01"]
    march = [snap("2024-03", c, "80000") for c in ("000123", "000456")]
    upload(at, [("snapshots_2024-03.csv", csv_bytes(march))])
    assert [s.value for s in at.success] == [
        t("data_loaded", "zh", version="v000003", months="2024-03")]
    assert months_table(at)["month"].tolist() == ["2024-03", "2024-02", "2024-01"]
    assert months_table(at)["by"].tolist()[0] == "demo-admin"
    # the frame's month choices (and every cached query) follow the new version
    assert at.selectbox(key="month").options == ["2024-03", "2024-02", "2024-01"]
    at.switch_page("app_pages/overview.py").run()
    assert not at.exception


# -- rollback ----------------------------------------------------------------------------------

def test_rollback_with_confirmation_returns_to_the_earlier_version(throwaway):
    at = open_data_page("demo-admin", "en")
    assert at.selectbox(key="month").options == ["2024-02", "2024-01"]
    assert at.button(key="data_rollback").disabled
    at.checkbox(key="data_rollback_confirm").check().run()
    assert not at.button(key="data_rollback").disabled
    at.button(key="data_rollback").click().run()
    assert not at.exception
    assert Lake(throwaway).current_version() == "v000001"
    assert [s.value for s in at.success] == [t("data_rolled_back", "en", version="v000001")]
    assert months_table(at)["month"].tolist() == ["2024-01"]
    assert at.selectbox(key="month").options == ["2024-01"]
    assert history_table(at)[["event", "version", "by", "delivery"]].values.tolist() == [
        ["rollback", "v000002 → v000001", "demo-admin", "d2"],
        ["load (rolled back)", "v000002", "setup", "d2"], ["load", "v000001", "setup", "d1"]]
    # nothing earlier: the confirmation is off again and cannot be given
    assert at.checkbox(key="data_rollback_confirm").value is False
    assert at.checkbox(key="data_rollback_confirm").disabled
    assert [i.value for i in at.info] == [t("data_rollback_first", "en")]


def test_a_rollback_after_the_data_changed_is_refused(throwaway, tmp_path):
    """The page confirmed undoing one load; another load came in meanwhile: refused, with
    RollbackImpossible's message, and the data stays as it is."""
    at = open_data_page("demo-admin", "en")
    at.checkbox(key="data_rollback_confirm").check().run()
    meanwhile = write_delivery(tmp_path / "d3", {"snapshots": [snap("2024-03", "000123", "1")]})
    assert ingest(meanwhile, throwaway, Settings()).version == "v000003"
    at.button(key="data_rollback").click().run()
    [error] = [e.value for e in at.error]
    assert error.startswith(t("data_rollback_impossible", "en", reason="the data changed since"))
    assert Lake(throwaway).current_version() == "v000003"
