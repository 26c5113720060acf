"""Sign-in under AppTest: the password form, a user removed or changed between two clicks,
sign-out, and the proxy-header and identity-provider (OIDC) ways in."""

from __future__ import annotations

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from test_pages import APP, demo_data_dir, signed_in  # noqa: F401 (fixture)
from tierflow.access import User, UserStore
from tierflow.sign_in import PROXY_USER_KEY, SIGNED_IN_AS


@pytest.fixture
def data_dir(demo_data_dir, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TIERFLOW_DATA_DIR", str(demo_data_dir))
    return demo_data_dir


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def shows_data(at: AppTest) -> bool:
    return bool(at.dataframe or at.metric or at.get("plotly_chart"))


def sign_in_with(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    at.button[0].click().run()  # the form's submit button is the page's only button
    assert not at.exception, at.exception
    return at


def test_nobody_signed_in_sees_the_form_and_no_data(data_dir):
    at = fresh()
    assert [w.key for w in at.text_input] == ["signin_name", "signin_password"]
    assert not shows_data(at) and not at.sidebar.multiselect


def test_a_wrong_password_is_refused_and_the_right_one_signs_in(data_dir):
    at = sign_in_with(fresh(), "demo-branch-head", "wrong")
    assert [e.value for e in at.error] == ["用户名或密码错误。"]
    assert not shows_data(at)
    at = sign_in_with(at, "demo-branch-head", "demo")
    assert at.session_state[SIGNED_IN_AS] == "demo-branch-head"
    assert shows_data(at)
    branch = UserStore(data_dir).find("demo-branch-head").branches[0]
    assert at.sidebar.multiselect(key="branches").options == [
        o for o in at.sidebar.multiselect(key="branches").options if o.startswith(branch)]
    assert len(at.sidebar.multiselect(key="branches").options) == 1


def test_a_removed_user_is_signed_out_at_their_next_click(data_dir):
    store = UserStore(data_dir)
    store.put(User("temp.exec", "executive"), "temporary1")
    at = sign_in_with(fresh(), "temp.exec", "temporary1")
    assert shows_data(at)
    store.remove("temp.exec")
    at.run()
    assert not shows_data(at)
    assert "temp.exec" in at.error[0].value
    assert SIGNED_IN_AS not in at.session_state


def test_a_changed_role_applies_at_the_next_click(data_dir):
    store = UserStore(data_dir)
    store.put(User("temp.role", "executive"), "temporary1")
    at = sign_in_with(fresh(), "temp.role", "temporary1")
    every = at.sidebar.multiselect(key="branches").options
    head_branch = store.find("demo-branch-head").branches[0]
    store.put(User("temp.role", "branch_head", branches=(head_branch,)))
    at.run()
    narrowed = at.sidebar.multiselect(key="branches").options
    assert len(every) > 1 and len(narrowed) == 1 and narrowed[0].startswith(head_branch)
    store.remove("temp.role")


def test_a_branch_head_without_a_branch_gets_an_error_and_no_rows(data_dir):
    UserStore(data_dir).put(User("temp.nobranch", "branch_head"), "temporary1")
    at = sign_in_with(fresh(), "temp.nobranch", "temporary1")
    assert "no branch" in at.error[0].value
    assert not shows_data(at) and not at.sidebar.multiselect
    UserStore(data_dir).remove("temp.nobranch")


def test_sign_out_returns_to_the_form(data_dir):
    at = signed_in("demo-analyst")
    assert shows_data(at)
    at.sidebar.button(key="signout").click().run()
    assert not shows_data(at)
    assert [w.key for w in at.text_input] == ["signin_name", "signin_password"]
    assert at.session_state["lang"] == "zh"  # the language stays


@pytest.fixture
def proxy_header():
    config.set_option("server.trustedUserHeaders", {"X-Remote-User": PROXY_USER_KEY})
    yield
    config.set_option("server.trustedUserHeaders", {})


def test_a_trusted_proxy_header_names_the_user(data_dir, proxy_header):
    at = AppTest.from_file(APP, default_timeout=120)
    at.user = {PROXY_USER_KEY: "demo-branch-head"}
    at.run()
    assert not at.exception and shows_data(at)
    assert len(at.sidebar.multiselect(key="branches").options) == 1
    assert not at.sidebar.button  # the proxy signs people out, not tierflow

    at.user = {PROXY_USER_KEY: "mallory"}
    at.run()
    assert not shows_data(at) and "mallory" in at.error[0].value

    at.user = {}
    at.run()
    assert not shows_data(at) and not at.text_input  # no password form behind a proxy


def test_the_identity_provider_signs_in_by_email(data_dir):
    UserStore(data_dir).put(User("ceo@bank.example", "executive"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback",
                          "cookie_secret": "x", "client_id": "x", "client_secret": "x",
                          "server_metadata_url": "https://idp.example/.well-known"}
    at.user = {"is_logged_in": False}
    at.run()
    assert not shows_data(at) and at.button(key="signin_oidc")
    at.user = {"is_logged_in": True, "email": "ceo@bank.example"}
    at.run()
    assert not at.exception and shows_data(at)
    assert len(at.sidebar.multiselect(key="branches").options) > 1
    UserStore(data_dir).remove("ceo@bank.example")
