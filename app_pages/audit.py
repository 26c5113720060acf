"""Access and audit (administrators): every file that left tierflow, newest first, with the
log's integrity check; and who may sign in, with their role and scope."""

import pandas as pd
import streamlit as st

from tierflow import app_data, audit, frame

f = frame.current()
L = f.label
st.header(L("page_audit"))
if not app_data.signed_in_user().is_admin:
    st.error(L("admin_only"))
    st.stop()

st.subheader(L("audit_exports"))
entries = audit.read(app_data.data_dir())
broken = audit.verify(app_data.data_dir())
if broken is None:
    st.success(L("audit_intact", lines=len(entries)))
else:
    st.error(L("audit_broken", line=broken))
if entries:
    log = pd.DataFrame(entries[::-1])
    log["filters"] = log["filters"].map(lambda d: ", ".join(f"{k}={v}" for k, v in d.items()))
    log["columns"] = log["columns"].map(len)
    shown = log[["at", "user", "role", "source", "query", "filters", "rows", "columns",
                 "masked", "format", "sha256"]]
    st.dataframe(shown, hide_index=True, key="audit_log", column_config={
        "at": st.column_config.TextColumn(L("audit_at")),
        "user": st.column_config.TextColumn(L("audit_user")),
        "role": st.column_config.TextColumn(L("audit_role")),
        "source": st.column_config.TextColumn(L("audit_source")),
        "query": st.column_config.TextColumn(L("audit_query")),
        "filters": st.column_config.TextColumn(L("audit_filters")),
        "rows": st.column_config.NumberColumn(L("audit_rows")),
        "columns": st.column_config.NumberColumn(L("audit_columns")),
        "masked": st.column_config.CheckboxColumn(L("audit_masked")),
        "format": st.column_config.TextColumn(L("audit_format")),
        "sha256": st.column_config.TextColumn("sha256"),
    })
else:
    st.info(L("audit_empty"))

st.subheader(L("users_title"))
st.caption(L("users_help", path=str(app_data.users().path)))
users = pd.DataFrame([{
    "name": u.name, "display_name": u.display_name, "role": L(f"role_{u.role}"),
    "branches": ", ".join(u.branches), "manager_id": u.manager_id or "",
    "personal_data": u.sees_personal_data,
} for u in app_data.users().users()])
st.dataframe(users, hide_index=True, key="users_table", column_config={
    "name": st.column_config.TextColumn(L("users_name")),
    "display_name": st.column_config.TextColumn(L("users_display_name")),
    "role": st.column_config.TextColumn(L("audit_role")),
    "branches": st.column_config.TextColumn(L("branches")),
    "manager_id": st.column_config.TextColumn(L("users_manager")),
    "personal_data": st.column_config.CheckboxColumn(L("users_personal_data")),
})
