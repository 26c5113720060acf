"""tierflow: the frame. Page config, shared filters, navigation; pages live in app_pages/."""

import streamlit as st

from tierflow import app_data, frame
from tierflow.i18n import t
from tierflow.lake import LakeMissing

st.set_page_config(page_icon="📊", layout="wide")  # each page titles the browser tab

try:
    months = app_data.months()
except LakeMissing as exc:
    st.error(str(exc))
    st.stop()

filters = frame.draw_shared_filters(months)
st.session_state["_filters"] = filters
lang = filters.lang

page = st.navigation({
    t("group_overview", lang): [
        st.Page("app_pages/overview.py", title=t("page_overview", lang), icon="🏦",
                default=True),
    ],
    t("group_analysis", lang): [
        st.Page("app_pages/tiers.py", title=t("page_tiers", lang), icon="📊"),
        st.Page("app_pages/migration.py", title=t("page_migration", lang), icon="🔀"),
        st.Page("app_pages/churn.py", title=t("page_churn", lang), icon="📉"),
        st.Page("app_pages/retention.py", title=t("page_retention", lang), icon="🤝"),
    ],
    t("group_lists", lang): [
        st.Page("app_pages/clients.py", title=t("page_clients", lang), icon="👥"),
    ],
})
frame.follow_go_to()
page.run()
