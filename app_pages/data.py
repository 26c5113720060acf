"""Data loads (administrators): upload a delivery and load it with progress, read its report
(files, schema drift, rows set aside by rule, the set-aside rows to download), see which
months are loaded and by which load, the history, and roll back the last load.

The checks on uploaded files, where they are saved and the views of a report are in
tierflow/uploads.py. After a load or a rollback the page reruns: the query cache is keyed by
the lake version, so every page answers from the new data at once.
"""

import logging

import streamlit as st
from streamlit import config

from tierflow import app_data, frame, uploads
from tierflow.access import AccessError
from tierflow.ingest import SUPPORTED
from tierflow.lake import Lake, RollbackImpossible

LAST_REPORT = "data_last_report"  # the session's last load (a uploads.ReportView)
ROLLBACK_MESSAGE = "data_rollback_message"  # ("success" | "error", text) after a rollback

f = frame.current()
L = f.label
st.header(L("page_data"))
user = app_data.signed_in_user()
if not user.is_admin:
    st.error(L("admin_only"))
    st.stop()
data_dir = app_data.data_dir()
lake = Lake(data_dir)


def load(files) -> None:
    """Check, save and load the uploaded files with a progress bar; keep the report."""
    with st.status(L("data_loading", files=len(files)), expanded=True) as status:
        bar = st.progress(0.0)

        def draw(steps: uploads.ProgressSteps) -> None:
            bar.progress(steps.fraction, text=L("data_progress", done=int(steps.done),
                                                 total=int(steps.total or 0)))

        try:
            report = uploads.load_upload([(x.name, x.getvalue()) for x in files], data_dir,
                                         user.name, progress=uploads.ProgressSteps(draw))
        except uploads.UploadRefused as exc:
            st.session_state[LAST_REPORT] = uploads.refused_view([x.name for x in files],
                                                                 exc.problems)
        except Exception as exc:  # the lake is unchanged (a load commits whole or not at all)
            logging.getLogger(__name__).exception("load of an upload failed")
            status.update(state="error")
            st.error(L("data_failed", reason=str(exc)))
            return
        else:
            st.session_state[LAST_REPORT] = uploads.report_view(report)
    st.rerun()  # the frame's months and every cached query follow the new lake version


def set_aside_file(view: uploads.ReportView, name: str) -> bytes:
    """The set-aside download, built when clicked (outside the script run): the user is
    looked up again, and must still be an administrator."""
    who = app_data.users().require(name)
    if not who.is_admin:
        raise AccessError(f"{name} is no longer an administrator")
    return uploads.set_aside_download(view, data_dir, user=who.name, role=who.role)


def roll_back(expected: str | None) -> None:
    try:
        version = uploads.rollback(data_dir, by=user.name, expected=expected)
    except RollbackImpossible as exc:
        st.session_state[ROLLBACK_MESSAGE] = ("error", L("data_rollback_impossible",
                                                         reason=str(exc)))
    else:
        st.session_state[ROLLBACK_MESSAGE] = ("success", L("data_rolled_back", version=version))
        shown = st.session_state.get(LAST_REPORT)
        if shown is not None and shown.version == expected:  # that load is undone
            del st.session_state[LAST_REPORT]
    st.session_state["data_rollback_confirm"] = False


# -- upload ------------------------------------------------------------------------------------
st.subheader(L("data_upload"))
st.caption(L("data_upload_help", types=", ".join(SUPPORTED),
             limit=config.get_option("server.maxUploadSize"),
             folder=str(data_dir / uploads.UPLOADS)))
with st.form("data_upload_form", clear_on_submit=True):
    files = st.file_uploader(L("data_files"), type=[e.lstrip(".") for e in SUPPORTED],
                             accept_multiple_files=True, key="data_files")
    submitted = st.form_submit_button(L("data_load"), type="primary")
if submitted:
    if files:
        load(files)
    else:
        st.warning(L("data_no_files"))

# -- the last report -----------------------------------------------------------------------------
shown = st.session_state.get(LAST_REPORT)
if shown is not None:
    st.subheader(L("data_last_report", delivery=shown.delivery or "–"))
    if shown.problems:
        st.error(L("data_upload_refused") + "\n\n" + "\n".join(f"- {p}" for p in shown.problems))
    elif shown.refused:
        st.error(L("data_refused", reason=shown.refused))
    elif shown.unchanged:
        st.info(L("data_unchanged"))
    else:
        st.success(L("data_loaded", version=shown.version,
                     months=", ".join(shown.months) or L("data_none")))
    if not shown.problems and not shown.unchanged:
        c1, c2, c3 = st.columns(3)
        c1.metric(L("data_rows_read"), f"{shown.rows_read:,}")
        c2.metric(L("data_rows_set_aside"), f"{shown.rows_set_aside:,}")
        c3.metric(L("data_set_aside_share"), f"{shown.share:.1%}")
        st.markdown(f"**{L('data_files_title')}**")
        st.dataframe(shown.files, hide_index=True, key="data_report_files", column_config={
            "name": st.column_config.TextColumn(L("data_file")),
            "table": st.column_config.TextColumn(L("data_table")),
            "status": st.column_config.TextColumn(L("data_status")),
            "rows_in": st.column_config.NumberColumn(L("data_rows_read")),
            "rows_loaded": st.column_config.NumberColumn(L("data_rows_loaded")),
            "rows_set_aside": st.column_config.NumberColumn(L("data_rows_set_aside")),
            "message": st.column_config.TextColumn(L("data_message"), width="large"),
        })
        if shown.schema.height:
            st.markdown(f"**{L('data_schema')}**")
            changes = {"drift": L("data_drift"), "missing": L("data_missing_columns"),
                       "extra": L("data_extra_columns")}
            schema = shown.schema.to_pandas()
            schema["change"] = schema["change"].map(changes)
            st.dataframe(schema, hide_index=True, key="data_report_schema", column_config={
                             "file": st.column_config.TextColumn(L("data_file")),
                             "change": st.column_config.TextColumn(L("data_change")),
                             "detail": st.column_config.TextColumn(L("data_detail"),
                                                                   width="large"),
                         })
    if shown.rows_set_aside:
        st.markdown(f"**{L('data_by_rule')}**")
        st.dataframe(shown.by_rule, hide_index=True, key="data_report_rules", column_config={
            "rule": st.column_config.TextColumn(L("data_rule")),
            "rows": st.column_config.NumberColumn(L("data_rows")),
        })
        st.markdown(f"**{L('data_first_rows')}**")
        st.dataframe(shown.first_rows, hide_index=True, key="data_report_first_rows",
                     column_config={
                         "file": st.column_config.TextColumn(L("data_file")),
                         "line": st.column_config.NumberColumn(L("data_line")),
                         "rule": st.column_config.TextColumn(L("data_rule")),
                         "values": st.column_config.TextColumn(L("data_values"),
                                                               width="large"),
                     })
        if shown.set_aside_csv is not None:
            st.download_button(
                L("data_download_set_aside"),
                data=lambda: set_aside_file(shown, user.name),
                file_name=f"set_aside_{shown.delivery}.csv", mime="text/csv",
                on_click="ignore", key="data_download_set_aside")

# -- months loaded -------------------------------------------------------------------------------
version = app_data.lake_version()  # pinned by the frame for this run
st.subheader(L("data_months"))
months = uploads.month_loads(data_dir, version)
if months.height:
    st.caption(L("data_months_help", version=version))
    st.dataframe(months, hide_index=True, key="data_months_table", column_config={
        "month": st.column_config.TextColumn(L("month")),
        "load": st.column_config.TextColumn(L("data_load_version")),
        "at": st.column_config.TextColumn(L("data_at")),
        "by": st.column_config.TextColumn(L("data_by")),
        "delivery": st.column_config.TextColumn(L("data_delivery")),
    })
else:
    st.info(L("data_no_months"))

# -- history -------------------------------------------------------------------------------------
st.subheader(L("data_history"))
st.caption(L("data_history_help"))
history = uploads.history(data_dir, version).to_pandas()
history["event"] = history["event"].map(lambda e: L(f"data_event_{e}"))
st.dataframe(history, hide_index=True, key="data_history_table", column_config={
    "at": st.column_config.TextColumn(L("data_at")),
    "event": st.column_config.TextColumn(L("data_event")),
    "version": st.column_config.TextColumn(L("data_version")),
    "by": st.column_config.TextColumn(L("data_by")),
    "delivery": st.column_config.TextColumn(L("data_delivery")),
    "months": st.column_config.TextColumn(L("data_months")),
    "note": st.column_config.TextColumn(L("data_note")),
})

# -- rollback ------------------------------------------------------------------------------------
st.subheader(L("data_rollback"))
message = st.session_state.pop(ROLLBACK_MESSAGE, None)
if message is not None:
    (st.success if message[0] == "success" else st.error)(message[1])
loads = lake.manifest(version).get("loads", [])
if len(loads) >= 2:
    last = loads[-1]
    st.caption(L("data_rollback_help", target=loads[-2]["load"], delivery=last.get("delivery"),
                 at=last.get("at"), by=last.get("by")))
else:
    st.info(L("data_rollback_first"))
confirmed = st.checkbox(L("data_rollback_confirm"), key="data_rollback_confirm",
                        disabled=len(loads) < 2)
st.button(L("data_rollback_button"), key="data_rollback",
          disabled=not confirmed or len(loads) < 2,
          on_click=roll_back, args=(version,))
