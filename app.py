"""tierflow: the frame. Page config, shared filters, navigation; pages live in app_pages/."""

import streamlit as st

from tierflow import app_data
from tierflow.lake import LakeMissing

st.set_page_config(page_title="tierflow", page_icon="📊", layout="wide")

try:
    months = app_data.months()
except LakeMissing as exc:
    st.error(str(exc))
    st.stop()

with st.sidebar:
    st.title("tierflow")
    st.selectbox("Month", months[::-1], key="month", bind="query-params")

page = st.navigation({
    "Overview": [st.Page("app_pages/tier_distribution.py", title="Tier distribution",
                         icon="📊", default=True)],
})
page.run()
