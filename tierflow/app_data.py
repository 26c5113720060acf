"""The app's one door to data: cached named-query results for the Streamlit pages.

Caching lives here and nowhere else. A result is keyed by the query name, every parameter, the
data folder and the lake version it was computed on, so a new load is never answered from an
old cache entry. The runner itself (tierflow.queries) knows nothing of Streamlit; it keeps one
DuckDB connection per process and data folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from tierflow.export import to_bytes
from tierflow.queries import QueryRunner, runner_for


def data_dir() -> Path:
    return Path(os.environ.get("TIERFLOW_DATA_DIR", "data"))


def runner() -> QueryRunner:
    return runner_for(data_dir())


def lake_version() -> str:
    return runner().lake.require_version()


@st.cache_data(ttl=3600, max_entries=2000, show_spinner=False)
def _cached(name: str, folder: str, version: str,
            params: tuple[tuple[str, object], ...]) -> pd.DataFrame:
    return runner_for(Path(folder)).run(name, dict(params))


def query(name: str, **params) -> pd.DataFrame:
    """A named query's rows for the current lake version (cached)."""
    return _cached(name, str(data_dir().resolve()), lake_version(),
                   tuple(sorted(params.items())))


def months() -> list[str]:
    return runner().lake.months(lake_version())


def export_file(name: str, params: dict, fmt: str) -> bytes:
    """A named query's full result as a download (built only when the button is clicked)."""
    return to_bytes(runner().run_arrow(name, params), fmt)
