"""The frame's shared parts: language, who is signed in, and the shared filters.

The frame (app.py) creates these widgets once, before navigation, so they keep their state
across page switches; each is bound to the URL (``bind="query-params"``), so a link restores
the view. Pages read them with `current()` and never create them again.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from tierflow import app_data, sign_in
from tierflow.access import User
from tierflow.i18n import DEFAULT_LANG, LANGS, t
from tierflow.settings import TIER_CODES

# A page asks the frame to change a shared filter (e.g. a league-table click opens a branch)
# by leaving the new value here; the frame applies it before it draws the widget next run.
PENDING = "_pending_filters"


@dataclass(frozen=True)
class Filters:
    month: str
    branches: tuple[str, ...]
    tiers: tuple[str, ...]
    lang: str

    @property
    def branch_param(self) -> list[str] | None:
        """The branch filter as a query parameter: None (every branch) when nothing is chosen."""
        return list(self.branches) or None

    @property
    def tier_param(self) -> list[str] | None:
        return list(self.tiers) or None

    def label(self, key: str, **values) -> str:
        return t(key, self.lang, **values)


def request_filters(**values) -> None:
    """Change shared filters from a page (applied by the frame on the next run)."""
    st.session_state.setdefault(PENDING, {}).update(values)


# Multiselects whose choices are shown as words of the interface language. The browser keeps
# (and puts in the URL) the words shown when the choice was made; after a language switch they
# no longer match any choice, and the next rerun silently dropped the tier filter. Setting the
# state again when the language changes makes Streamlit send the choice in the new language.
# (st.segmented_control resends its labels by itself.)
LANG_LABELLED = ("tiers",)
_LANG_DRAWN = "_lang_drawn"


def _relabel_on_language_change(lang: str) -> None:
    if st.session_state.get(_LANG_DRAWN, lang) != lang:
        for key in LANG_LABELLED:
            if key in st.session_state:
                value = st.session_state[key]
                st.session_state[key] = list(value) if isinstance(value, list) else value
    st.session_state[_LANG_DRAWN] = lang


def draw_language() -> str:
    """The language switch, first in the sidebar (the sign-in form speaks it too)."""
    with st.sidebar:
        lang = st.segmented_control(
            "Language / 语言", list(LANGS), format_func=LANGS.get, default=DEFAULT_LANG,
            key="lang", bind="query-params", required=True)
    _relabel_on_language_change(lang)
    return lang


def draw_user(user: User, lang: str) -> None:
    """Who is signed in, what they may see, and the way out."""
    with st.sidebar:
        scope = user.scope()
        if scope.manager_id:
            sees = t("scope_own_clients", lang, manager=scope.manager_id)
        elif scope.branches:
            sees = t("scope_branches", lang, branches=", ".join(scope.branches))
        else:
            sees = t("scope_all", lang)
        masked = "" if scope.personal_data else " · " + t("scope_masked", lang)
        st.caption(t("signed_in_as", lang, name=user.display_name or user.name,
                     role=t(f"role_{user.role}", lang)) + f" · {sees}{masked}")
        sign_in.draw_sign_out(sign_in.mode(), lang)


def draw_shared_filters(months: list[str], lang: str) -> Filters:
    """The sidebar's shared filters: month, branches, tiers. Called once, by the frame."""
    for key, value in st.session_state.pop(PENDING, {}).items():
        st.session_state[key] = value
    with st.sidebar:
        month = st.selectbox(t("month", lang), months[::-1], key="month",
                             bind="query-params")
        names = dict(app_data.query("branches")[["branch_id", "branch_name"]].values)
        branches = st.multiselect(
            t("branches", lang), list(names), key="branches", bind="query-params",
            format_func=lambda b: f"{b} {names.get(b, '')}",
            # with nothing chosen, a branch head sees their branches, not "all branches"
            placeholder=", ".join(names) if app_data.signed_in_user().scope().branches
            else t("branches_all", lang))
        tiers = st.multiselect(
            t("tiers", lang), list(TIER_CODES), key="tiers", bind="query-params",
            format_func=lambda c: t(f"tier_{c}", lang), placeholder=t("tiers_all", lang))
    return Filters(month=month, branches=tuple(branches), tiers=tuple(tiers), lang=lang)


def current() -> Filters:
    """The shared filters as the frame drew them this run (for pages)."""
    return st.session_state["_filters"]


DRILL = "clients_drill"
GOTO = "_goto_page"
CLIENTS_PAGE = "app_pages/clients.py"


def go_to(page: str) -> None:
    """Switch page at the start of the next run (st.switch_page cannot run in a callback)."""
    st.session_state[GOTO] = page


def follow_go_to() -> None:
    """Called by the frame after st.navigation: carry out a switch asked for by a callback."""
    target = st.session_state.pop(GOTO, None)
    if target:
        # query_params={}: the default (None) clears the URL's parameters, which Streamlit
        # refuses while a shared filter bound to the URL is set (lang, month, branches, ...).
        st.switch_page(target, query_params={})


def drill(query: str, params: dict, title: str, client: str | None = None) -> None:
    """Open the Clients page on exactly the clients behind a chart element or table row;
    with `client`, that client's detail is shown at once."""
    st.session_state[DRILL] = {"query": query, "params": params, "title": title,
                               "client": client}
    go_to(CLIENTS_PAGE)


def drill_client(client_id: str, month: str, title: str) -> None:
    """Open the Clients page on one client: its row of the month and its detail."""
    drill("client_list", {"month": month, "client_id": [client_id]}, title, client=client_id)


def drill_on_select(key: str, to_drill):
    """An on_select callback for a chart or table with `key`: `to_drill(selection)` returns
    (query, params, title) for the clicked element, or None to stay."""
    def callback() -> None:
        selection = st.session_state[key]["selection"]
        spec = to_drill(selection)
        if spec:
            drill(*spec)
    return callback


def open_branch(branch_id: str, page: str) -> None:
    """A callback: set the shared branch filter to one branch and open a page."""
    request_filters(branches=[branch_id])
    go_to(page)
