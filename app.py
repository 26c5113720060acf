"""tierflow: the frame. Page config, sign-in, shared filters, navigation; pages live in
app_pages/."""

import streamlit as st

from tierflow import app_data, frame, sign_in
from tierflow.i18n import t
from tierflow.lake import LakeMissing

st.set_page_config(page_icon="📊", layout="wide")  # each page titles the browser tab

lang = frame.draw_language()
user = sign_in.current_user(lang)  # None: the sign-in form (or why not) is drawn instead

pages = {
    t("group_overview", lang): [
        st.Page("app_pages/overview.py", title=t("page_overview", lang), icon="🏦",
                default=True),
    ],
    t("group_analysis", lang): [
        st.Page("app_pages/tiers.py", title=t("page_tiers", lang), icon="📊"),
        st.Page("app_pages/migration.py", title=t("page_migration", lang), icon="🔀"),
        st.Page("app_pages/churn.py", title=t("page_churn", lang), icon="📉"),
        st.Page("app_pages/retention.py", title=t("page_retention", lang), icon="🤝"),
        st.Page("app_pages/dormant.py", title=t("page_dormant", lang), icon="💤"),
    ],
    t("group_lists", lang): [
        st.Page("app_pages/clients.py", title=t("page_clients", lang), icon="👥"),
        st.Page("app_pages/todos.py", title=t("page_todos", lang), icon="📋"),
        st.Page("app_pages/books.py", title=t("page_books", lang), icon="🗂️"),
        st.Page("app_pages/warnings.py", title=t("page_warnings", lang), icon="🚨"),
    ],
}
if user is None or user.is_admin:  # signed out: declared hidden, so a deep link survives
    pages[t("group_admin", lang)] = [
        st.Page("app_pages/audit.py", title=t("page_audit", lang), icon="🧾"),
        st.Page("app_pages/data.py", title=t("page_data", lang), icon="📥"),
    ]
# Signed out, the pages are still declared (hidden, never run), so a link to a page keeps
# that page through the sign-in.
page = st.navigation(pages, position="sidebar" if user else "hidden")
if user is None:
    st.stop()
frame.draw_user(user, lang)

try:
    app_data.pin_version()
    months = app_data.months()
except LakeMissing as exc:
    st.error(str(exc))
    st.stop()

filters = frame.draw_shared_filters(months, lang)
st.session_state["_filters"] = filters
frame.follow_go_to()
page.run()
