"""Sign-in: who is using this session, looked up in the users file at every run.

Three ways to know who someone is, chosen by the deployment (README, "Sign-in"):
- ``proxy``: a trusted reverse proxy signs people in and passes the user name in a header that
  ``server.trustedUserHeaders`` maps to ``st.user["tierflow_user"]``;
- ``oidc``: Streamlit's own sign-in (`st.login`) with the identity provider configured in the
  ``[auth]`` section of ``.streamlit/secrets.toml``; the user name is the e-mail address;
- ``password`` (the embedded default): a sign-in form checked against the Argon2id hashes in
  the users file.
Whichever it is, the name must be in the users file, which gives the role and scope; the file
is read again at every run, so a removed user loses access at their next click.
"""

from __future__ import annotations

import streamlit as st
from streamlit import config

from tierflow import app_data
from tierflow.access import AccessError, User
from tierflow.i18n import t

SIGNED_IN_AS = "_signed_in_as"  # password sign-in: the name, once its password was right
PROXY_USER_KEY = "tierflow_user"


def mode() -> str:
    """proxy, oidc or password: how this deployment signs people in."""
    if PROXY_USER_KEY in (config.get_option("server.trustedUserHeaders") or {}).values():
        return "proxy"
    try:
        if "auth" in st.secrets:
            return "oidc"
    except FileNotFoundError:  # no secrets file at all
        pass
    return "password"


def _identity(how: str) -> str | None:
    if how == "proxy":
        return st.user.get(PROXY_USER_KEY)
    if how == "oidc":
        return st.user.get("email") if st.user.is_logged_in else None
    return st.session_state.get(SIGNED_IN_AS)


def current_user(lang: str) -> User | None:
    """The signed-in user as the users file has them now. When nobody (or nobody known, or
    nobody with a usable scope) is signed in: None, with the way to sign in (or the reason)
    drawn instead; the frame then stops before any page runs."""
    how = mode()
    name = _identity(how)
    user = app_data.users().find(name) if name else None
    if user is None:
        st.session_state.pop(app_data.USER_KEY, None)
        st.session_state.pop(SIGNED_IN_AS, None)
        st.title(t("app_title", lang))
        if name:
            st.error(t("signin_unknown_user", lang, name=name))
        _draw_sign_in(how, lang)
        return None
    try:
        user.scope()
    except AccessError as exc:
        st.session_state.pop(app_data.USER_KEY, None)
        st.error(t("signin_no_scope", lang, reason=str(exc)))
        draw_sign_out(how, lang)
        return None
    st.session_state[app_data.USER_KEY] = user
    return user


def _draw_sign_in(how: str, lang: str) -> None:
    if how == "proxy":
        st.info(t("signin_proxy", lang))
    elif how == "oidc":
        st.button(t("signin_oidc", lang), on_click=st.login, key="signin_oidc")
    else:
        with st.form("signin", border=True, width=420):
            st.subheader(t("signin_title", lang))
            name = st.text_input(t("signin_name", lang), key="signin_name", max_chars=80)
            password = st.text_input(t("signin_password", lang), type="password",
                                     key="signin_password", max_chars=200)
            submitted = st.form_submit_button(t("signin_submit", lang), type="primary")
        if submitted:
            user = app_data.users().verify(name.strip(), password)
            if user is None:
                st.error(t("signin_refused", lang))
            else:
                st.session_state[SIGNED_IN_AS] = user.name
                st.rerun()


def _sign_out_password() -> None:
    keep = {"lang"}
    for key in list(st.session_state):
        if key not in keep:
            del st.session_state[key]


def draw_sign_out(how: str, lang: str) -> None:
    """The sign-out button (a proxy signs people out itself)."""
    if how == "password":
        st.button(t("signout", lang), on_click=_sign_out_password, key="signout")
    elif how == "oidc":
        st.button(t("signout", lang), on_click=st.logout, key="signout")
