"""Access below the pages: the users file, scopes, masking, every named query narrowed to a
scope, the export audit log, and the command line's --user. Literal rows, numbers by hand.

    client  branch  manager  name    2024-01       2024-02                 phone / id
    C01     B1      M1       张三     50,000 gold   49,999.99 mass          13812341234 / 18 chars
    C02     B1      M1       张三丰   49,999.99     50,000 gold             12345 (short)
    C04     B1      M2       李       -             600,000 platinum
    C05     B2      M3       王五     6,000,000     7,000,000 private
    C06     B1      -        赵六     1,000 mass    -
    C07     B2      M3       孙七     100 mass      100 mass
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import rows, snap, write_delivery
from tierflow import audit
from tierflow.access import (EVERYTHING, MASK_PATTERNS, ROLES, AccessError, Scope, User,
                             UserStore, hash_password)
from tierflow.export import FORMATS, export_query
from tierflow.ingest import ingest
from tierflow.queries import SCOPE_FILTERS, QueryError, QueryRunner, catalog, scoped_sql
from tierflow.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
BRANCHES = [{"branch_id": "B1", "branch_name": "静安支行"},
            {"branch_id": "B2", "branch_name": "徐汇支行"}]
MANAGERS = [{"manager_id": "M1", "manager_name": "甲", "branch_id": "B1"},
            {"manager_id": "M2", "manager_name": "乙", "branch_id": "B1"},
            {"manager_id": "M3", "manager_name": "丙", "branch_id": "B2"}]
CLIENTS = [
    {"client_id": "C01", "name": "张三", "branch_id": "B1", "manager_id": "M1",
     "phone": "13812341234", "id_number": "110101199001011234"},
    {"client_id": "C02", "name": "张三丰", "branch_id": "B1", "manager_id": "M1",
     "phone": "12345", "id_number": "X1234"},
    {"client_id": "C04", "name": "李", "branch_id": "B1", "manager_id": "M2"},
    {"client_id": "C05", "name": "王五", "branch_id": "B2", "manager_id": "M3",
     "phone": "13900001111", "id_number": "310101198001012345"},
    {"client_id": "C06", "name": "赵六", "branch_id": "B1"},
    {"client_id": "C07", "name": "孙七", "branch_id": "B2", "manager_id": "M3"},
]
SNAPSHOTS = [
    snap("2024-01", "C01", "50000.00", manager_id="M1"),
    snap("2024-01", "C02", "49999.99", manager_id="M1"),
    snap("2024-01", "C05", "6000000", manager_id="M3"),
    snap("2024-01", "C06", "1000"),
    snap("2024-01", "C07", "100", manager_id="M3"),
    snap("2024-02", "C01", "49999.99", manager_id="M1"),
    snap("2024-02", "C02", "50000.00", manager_id="M1"),
    snap("2024-02", "C04", "600000", manager_id="M2"),
    snap("2024-02", "C05", "7000000", manager_id="M3"),
    snap("2024-02", "C07", "100", manager_id="M3"),
]
CASES = [
    {"case_id": "K1", "client_id": "C01", "branch_id": "B1", "opened_on": "2024-01-20",
     "outcome": "retained", "closed_on": "2024-02-10", "aum_at_stake": "100000",
     "aum_kept": "80000"},
    {"case_id": "K2", "client_id": "C05", "branch_id": "B2", "opened_on": "2024-01-21",
     "outcome": "lost", "closed_on": "2024-02-11", "aum_at_stake": "900000", "aum_kept": "0"},
    {"case_id": "K3", "client_id": "C04", "branch_id": "B1", "opened_on": "2024-02-01",
     "outcome": "lost", "closed_on": "2024-02-20", "aum_at_stake": "50000", "aum_kept": "0"},
]
WARNINGS = [
    {"warning_id": "W1", "client_id": "C01", "raised_on": "2024-01-15", "rule": "large_outflow"},
    {"warning_id": "W2", "client_id": "C05", "raised_on": "2024-01-16", "rule": "downgrade"},
]
B1_CLIENTS = {"C01", "C02", "C04", "C06"}
M1_CLIENTS = {"C01", "C02"}

BRANCH_HEAD = User("head", "branch_head", branches=("B1",))
MANAGER = User("m1", "manager", branches=("B1",), manager_id="M1")
ANALYST = User("ana", "analyst")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("access")
    delivery = write_delivery(root / "delivery", {
        "branches": BRANCHES, "managers": MANAGERS, "clients": CLIENTS,
        "snapshots": SNAPSHOTS, "retention_cases": CASES, "warnings": WARNINGS})
    report = ingest(delivery, root / "data", Settings())
    assert not report.rejected and report.set_aside.height == 0, report.summary()
    store = UserStore(root / "data")
    for user in (BRANCH_HEAD, MANAGER, ANALYST, User("boss", "executive")):
        store.put(user, "correct horse")
    return root / "data"


@pytest.fixture(scope="module")
def runner(data_dir) -> QueryRunner:
    return QueryRunner(data_dir)


# --- the users file ------------------------------------------------------------------------

def test_passwords_are_argon2id_hashes_and_verify(data_dir):
    store = UserStore(data_dir)
    stored = store.path.read_text(encoding="utf-8")
    assert "correct horse" not in stored and stored.count("$argon2id$") == 4
    assert store.verify("head", "correct horse") == BRANCH_HEAD
    assert store.verify("head", "wrong") is None
    assert store.verify("nobody", "correct horse") is None
    assert store.verify("' OR 1=1 --", "x") is None


def test_a_removed_user_is_gone_at_the_next_lookup(tmp_path):
    store = UserStore(tmp_path)
    store.put(User("temp", "executive"), "password1")
    assert store.find("temp") == User("temp", "executive")
    store.remove("temp")
    assert store.find("temp") is None
    with pytest.raises(AccessError, match="unknown user 'temp'"):
        store.require("temp")


def test_an_unknown_role_in_the_users_file_is_an_error(tmp_path):
    (tmp_path / "users.toml").write_text('[users.x]\nrole = "superuser"\n', encoding="utf-8")
    with pytest.raises(AccessError, match="unknown role 'superuser'"):
        UserStore(tmp_path).find("x")


def test_a_user_without_a_password_cannot_sign_in_with_one(tmp_path):
    store = UserStore(tmp_path)
    store.put(User("sso@bank.cn", "executive"))
    assert store.verify("sso@bank.cn", "") is None
    assert hash_password("x") != hash_password("x")  # salted


# --- scopes --------------------------------------------------------------------------------

@pytest.mark.parametrize("user,expected", [
    (User("e", "executive"), Scope(None, None, True)),
    (User("h", "branch_head", branches=("B1", "B2")), Scope(("B1", "B2"), None, True)),
    (User("m", "manager", branches=("B1",), manager_id="M1"), Scope(("B1",), "M1", True)),
    (User("a", "analyst"), Scope(None, None, False)),
    (User("a", "analyst", personal_data=True), Scope(None, None, True)),
    (User("x", "admin"), Scope(None, None, False)),
    # an executive's branches in the file do not narrow them; a branch head's do
    (User("e", "executive", branches=("B1",)), Scope(None, None, True)),
])
def test_each_role_has_its_scope(user, expected):
    assert user.scope() == expected


@pytest.mark.parametrize("user", [User("h", "branch_head"),
                                  User("m", "manager", manager_id="M1"),
                                  User("m", "manager", branches=("B1",))])
def test_a_role_that_needs_a_branch_or_manager_gets_an_error_never_all_rows(user):
    with pytest.raises(AccessError):
        user.scope()


def test_every_role_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for role in ROLES:
        assert f"`{role}`" in readme


def test_every_lake_table_has_a_scope_rule(runner):
    tables = set(runner.lake.table_files(runner.lake.require_version()))
    assert tables == set(SCOPE_FILTERS)


def test_a_table_without_a_scope_rule_is_refused(monkeypatch):
    import tierflow.queries

    monkeypatch.delitem(tierflow.queries.SCOPE_FILTERS, "snapshots")
    with pytest.raises(QueryError, match="table snapshots has no scope rule"):
        scoped_sql(catalog()["wealth_concentration"], Scope(("B1",), None, True),
                   {"snapshots": ["month"], "tiers": ["tier"]}, "v000001")


# --- every named query within a scope --------------------------------------------------------

PARAMS = {
    "month": "2024-02", "from_month": "2024-01", "to_month": "2024-02",
    "cohort_month": "2024-01", "months_since": 1, "dimension": "channel",
    "from_date": "2024-01-01", "to_date": "2024-12-31",
}


def sample_params(name: str) -> dict:
    params = {p.name: PARAMS[p.name] for p in catalog()[name].parameters
              if p.mode == "required" and p.name in PARAMS}
    if name in ("client_history", "client_cases"):
        params["client_id"] = "C05"  # a B2 client: nothing of it for a B1 scope
    return params


@pytest.mark.parametrize("name", sorted(catalog()))
@pytest.mark.parametrize("user,clients,branches", [
    (BRANCH_HEAD, B1_CLIENTS, {"B1"}),
    (MANAGER, M1_CLIENTS, {"B1"}),
])
def test_every_query_sees_only_the_scope(runner, name, user, clients, branches):
    out = runner.run(name, sample_params(name), scope=user.scope())
    if "branch_id" in out:
        assert set(out["branch_id"].dropna()) <= branches
    if "client_id" in out:
        assert set(out["client_id"].dropna()) <= clients
    if "manager_id" in out and user.manager_id:
        assert set(out["manager_id"].dropna()) <= {"M1"}
    if "name" in out:
        assert set(out["name"].dropna()) <= {c["name"] for c in CLIENTS
                                             if c["client_id"] in clients}


def test_branch_scope_tier_distribution_by_hand(runner):
    out = runner.run("tier_distribution", {"month": "2024-02"}, scope=BRANCH_HEAD.scope())
    assert rows(out) == [("mass", 1, 49_999.99), ("gold", 1, 50_000.0),
                         ("platinum", 1, 600_000.0), ("diamond", 0, 0.0), ("private", 0, 0.0)]
    # asking for the other branch too changes nothing: the scope is below the parameter
    both = runner.run("tier_distribution", {"month": "2024-02", "branch_id": ["B1", "B2"]},
                      scope=BRANCH_HEAD.scope())
    assert rows(both) == rows(out)


def test_manager_scope_sees_their_two_clients(runner):
    out = runner.run("tier_distribution", {"month": "2024-02"}, scope=MANAGER.scope())
    assert rows(out) == [("mass", 1, 49_999.99), ("gold", 1, 50_000.0),
                         ("platinum", 0, 0.0), ("diamond", 0, 0.0), ("private", 0, 0.0)]
    listed = runner.run("client_list", {"month": "2024-02"}, scope=MANAGER.scope())
    assert sorted(listed["client_id"]) == ["C01", "C02"]
    assert rows(runner.run("managers", {}, scope=MANAGER.scope())[["manager_id"]]) == [("M1",)]


def test_retention_success_and_filter_choices_in_a_branch_scope(runner):
    out = runner.run("retention_success", {}, scope=BRANCH_HEAD.scope())
    assert rows(out[["branch_id", "closed_cases", "retained", "lost", "aum_at_stake",
                     "aum_kept"]]) == [("B1", 2, 1, 1, 150_000.0, 80_000.0)]
    assert rows(runner.run("branches", {}, scope=BRANCH_HEAD.scope())[["branch_id"]]) == [
        ("B1",)]
    every = runner.run("branches", {}, scope=EVERYTHING)
    assert sorted(every["branch_id"]) == ["B1", "B2"]


def test_analyst_sees_every_branch_with_personal_data_masked(runner):
    out = runner.run("client_list", {"month": "2024-01", "status": ["normal"]},
                     scope=ANALYST.scope()).set_index("client_id")
    assert sorted(out.index) == ["C01", "C02", "C05", "C06", "C07"]
    assert out.loc["C01", ["name", "phone", "id_number"]].tolist() == [
        "张*", "138****1234", "110101********1234"]
    assert out.loc["C02", ["name", "phone", "id_number"]].tolist() == ["张**", "*****", "*****"]
    assert out.loc["C05", ["name", "phone", "id_number"]].tolist() == [
        "王*", "139****1111", "310101********2345"]
    for column, pattern in MASK_PATTERNS.items():
        assert all(re.match(pattern, v) for v in out[column].dropna()), column


def test_masked_names_cannot_be_searched_for(runner):
    """A masked analyst searching a real name finds nothing: the search runs on masked
    names, so it cannot be used to probe who is a client."""
    found = runner.run("client_list", {"month": "2024-01", "search": "张三"},
                       scope=ANALYST.scope())
    assert found.empty
    shown = runner.run("client_list", {"month": "2024-01", "search": "张三"}, scope=EVERYTHING)
    assert sorted(shown["client_id"]) == ["C01", "C02"]


def test_unmasked_roles_see_the_real_values(runner):
    out = runner.run("client_list", {"month": "2024-01"},
                     scope=BRANCH_HEAD.scope()).set_index("client_id")
    assert out.loc["C01", ["name", "phone", "id_number"]].tolist() == [
        "张三", "13812341234", "110101199001011234"]


def test_ledger_names_are_masked_too(runner):
    out = runner.run("retention_ledger", {}, scope=ANALYST.scope())
    assert sorted(out["name"]) == ["张*", "李*", "王*"]


# --- exports and the audit log ---------------------------------------------------------------

def test_every_export_is_scoped_masked_and_audited(runner, data_dir):
    before = len(audit.read(data_dir))
    for fmt in FORMATS:
        data, count = export_query(runner, user="ana", role="analyst", scope=ANALYST.scope(),
                                   source="app", name="client_list",
                                   params={"month": "2024-02"}, fmt=fmt)
        assert count == 5
        line = audit.read(data_dir)[-1]
        assert line["user"] == "ana" and line["rows"] == 5 and line["masked"] is True
        assert line["format"] == fmt and line["filters"] == {"month": "2024-02"}
        assert line["sha256"] == hashlib.sha256(data).hexdigest()
        assert "id_number" in line["columns"]
    csv_text = export_query(runner, user="head", role="branch_head", scope=BRANCH_HEAD.scope(),
                            source="app", name="client_list", params={"month": "2024-02"},
                            fmt="csv")[0].decode("utf-8")
    assert "B2" not in csv_text and "C05" not in csv_text and "张三丰" in csv_text
    assert len(audit.read(data_dir)) == before + len(FORMATS) + 1
    assert audit.verify(data_dir) is None


def test_an_edited_audit_line_breaks_the_chain(tmp_path):
    for n in range(3):
        audit.record(tmp_path, user=f"u{n}", role="analyst", source="cli", query="q",
                     params={}, rows=n, columns=["a"], masked=True, fmt="csv", data=b"x")
    assert audit.verify(tmp_path) is None
    path = audit.log_path(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[1])
    entry["rows"] = 999
    lines[1] = json.dumps(entry, ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert audit.verify(tmp_path) == 3  # line 3 no longer chains to the edited line 2


def test_an_export_whose_audit_line_cannot_be_written_fails(runner, data_dir, tmp_path):
    log = audit.log_path(data_dir)
    moved = tmp_path / "exports.jsonl"
    log.replace(moved)
    log.mkdir()  # a directory where the log should be: the append fails
    try:
        with pytest.raises(audit.AuditError, match="export was stopped"):
            export_query(runner, user="boss", role="executive", scope=EVERYTHING,
                         source="cli", name="branches", params={}, fmt="csv")
    finally:
        log.rmdir()
        moved.replace(log)


# --- the command line ------------------------------------------------------------------------

def tierflow(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tierflow", "--data-dir", str(data_dir), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_cli_answers_as_the_user_and_records_the_export(data_dir):
    done = tierflow(data_dir, "--user", "head", "query", "client_list", "--set",
                    "month=2024-02")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 + 3  # C01, C02, C04 in B1 in February
    assert all(",B1," in line for line in lines[1:])
    entry = audit.read(data_dir)[-1]
    assert (entry["user"], entry["source"], entry["rows"]) == ("head", "cli", 3)

    masked = tierflow(data_dir, "--user", "ana", "query", "client_list", "--set",
                      "month=2024-02", "--set", "search=C01")
    assert "张*," in masked.stdout and "13812341234" not in masked.stdout


def test_cli_refuses_an_unknown_user(data_dir):
    done = tierflow(data_dir, "--user", "mallory", "query", "branches")
    assert done.returncode == 2
    assert "unknown user 'mallory'" in done.stderr and done.stdout == ""


def test_cli_without_user_is_the_operator(data_dir):
    done = tierflow(data_dir, "query", "branches")
    assert done.returncode == 0 and "B2" in done.stdout
    assert audit.read(data_dir)[-1]["user"].startswith("os:")


def test_cli_users_add_list_remove(tmp_path):
    data = tmp_path / "data"
    added = subprocess.run(
        [sys.executable, "-m", "tierflow", "--data-dir", str(data), "users", "add", "li.head",
         "--role", "branch_head", "--branch", "B7", "--password-stdin"],
        cwd=ROOT, input="a long password\n", capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    assert UserStore(data).verify("li.head", "a long password").branches == ("B7",)
    listed = tierflow(data, "users", "list")
    assert listed.stdout.strip() == "li.head: branch_head (B7; personal data shown)"
    refused = tierflow(data, "users", "add", "nobranch", "--role", "branch_head",
                       "--no-password")
    assert refused.returncode == 2 and "no branch" in refused.stderr
    assert tierflow(data, "users", "remove", "li.head").returncode == 0
    assert UserStore(data).find("li.head") is None


def test_streamlit_is_configured_for_a_closed_bank_network():
    import tomllib

    with (ROOT / ".streamlit" / "config.toml").open("rb") as fh:
        cfg = tomllib.load(fh)
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"]["enableCORS"] is True
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["client"]["disableDataExport"] is True  # no unaudited table downloads
    assert 0 < cfg["server"]["maxUploadSize"] <= 200
    assert cfg["server"]["address"] == "127.0.0.1"


def test_no_page_renders_html_from_data():
    sources = [p.read_text(encoding="utf-8") for p in
               [ROOT / "app.py", *(ROOT / "app_pages").glob("*.py"), *(ROOT / "tierflow").glob("*.py")]]
    assert not any("unsafe_allow_html" in s or "st.html(" in s or "components.html" in s
                   for s in sources)
