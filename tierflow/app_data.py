"""The app's one door to data: cached named-query results for the Streamlit pages, always
within the signed-in user's scope.

Caching lives here and nowhere else. A result is keyed by the query name, every parameter, the
data folder, the lake version it was computed on and the asking user's scope (branches,
manager, masking), so a new load is never answered from an old cache entry and two users share
an entry only when they may both see it. The frame puts the signed-in user in the session at
every run (tierflow/sign_in.py); without one, no query runs. The runner (tierflow.queries)
knows nothing of Streamlit; it keeps one DuckDB connection per process and data folder.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from tierflow.access import AccessError, Scope, User, UserStore
from tierflow.export import export_query
from tierflow.queries import QueryRunner, runner_for

USER_KEY = "_user"  # the signed-in User, looked up in the users file at every run
VERSION_KEY = "_lake_version"  # the lake version this run reads, pinned by the frame


def data_dir() -> Path:
    return Path(os.environ.get("TIERFLOW_DATA_DIR", "data"))


def runner() -> QueryRunner:
    return runner_for(data_dir())


def users() -> UserStore:
    return UserStore(data_dir())


def pin_version() -> str:
    """Called by the frame at the start of every run: this run's figures all come from the
    lake version current now, even if a load switches to a new one while the page draws."""
    version = runner().lake.require_version()
    st.session_state[VERSION_KEY] = version
    return version


def lake_version() -> str:
    return st.session_state.get(VERSION_KEY) or pin_version()


def signed_in_user() -> User:
    user = st.session_state.get(USER_KEY)
    if user is None:
        raise AccessError("no signed-in user: sign in first")
    return user


@st.cache_data(ttl=3600, max_entries=2000, show_spinner=False)
def _cached(name: str, folder: str, version: str, scope: tuple,
            params: tuple[tuple[str, object], ...]) -> pd.DataFrame:
    return runner_for(Path(folder)).run(name, dict(params), scope=Scope(*scope),
                                        version=version)


def query(name: str, **params) -> pd.DataFrame:
    """A named query's rows for the current lake version, as the signed-in user may see
    them (cached)."""
    return queries((name, params))[0]


def queries(*calls: tuple[str, dict]) -> list[pd.DataFrame]:
    """Several named queries' rows, each as query() gives it, in the order asked.

    Those not cached yet run side by side, each in a thread of its own on its own DuckDB
    cursor: much of a list's time is not DuckDB's parallel work (planning, the names' lookup,
    the hand-over to pandas), so at 5M clients the to-do page's five lists took 0.39 s
    together against 0.66 s one after another (2 cores)."""
    scope = signed_in_user().scope()
    asked = [(name, str(data_dir().resolve()), lake_version(), scope.key,
              tuple(sorted(params.items()))) for name, params in calls]
    if len(asked) == 1:
        return [_cached(*asked[0])]
    context = get_script_run_ctx()  # st.cache_data works within the asking script run
    with ThreadPoolExecutor(len(asked), initializer=lambda: add_script_run_ctx(
            threading.current_thread(), context)) as pool:
        return list(pool.map(lambda key: _cached(*key), asked))


def months() -> list[str]:
    return runner().lake.months(lake_version())


def export_file(name: str, params: dict, fmt: str, user_name: str,
                version: str | None = None) -> bytes:
    """A named query's full result as a download, built only when the button is clicked,
    from the lake version the page showed.

    Runs outside the script run, so the user is looked up again here by name: a user removed
    since the page was drawn gets nothing. The export is written to the audit log first."""
    user = users().require(user_name)
    data, _ = export_query(runner(), user=user.name, role=user.role, scope=user.scope(),
                           source="app", name=name, params=params, fmt=fmt, version=version)
    return data
