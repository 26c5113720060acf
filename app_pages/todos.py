"""To-do lists of event-driven service, per branch and manager: maturities, birthdays and new
clients this week, VIP upgrades and downgrades this quarter; each list downloadable, each row
opening the client."""

import datetime as dt

import streamlit as st

from tierflow import app_data, frame, lists
from tierflow.i18n import count

f = frame.current()
L = f.label
st.header(L("page_todos"))

# The reference date: the end of the chosen month, or today while the chosen month is the
# current one (the data's newest month being this month).
year, month = int(f.month[:4]), int(f.month[5:])
month_end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
today = dt.date.today()
default_day = today if today.strftime("%Y-%m") == f.month else month_end

controls = st.columns([1, 2, 1])
reference = controls[0].date_input(L("todo_reference_date"), default_day,
                                   key=f"todos_reference_{f.month}",
                                   help=L("todo_reference_help"))
managers = app_data.query("managers", branch_id=f.branch_param)
manager_names = dict(managers[["manager_id", "manager_name"]].values)
chosen_manager = None
if len(manager_names) > 1:  # a manager signed in sees their own book only: no choice to make
    chosen_manager = controls[1].selectbox(
        L("todo_manager"), [None, *manager_names], key="todos_manager",
        format_func=lambda m: L("todo_all_managers") if m is None
        else f"{m} {manager_names.get(m, '')}")

week_start = reference - dt.timedelta(days=reference.weekday())
week_end = week_start + dt.timedelta(days=6)
quarter_first_month = (reference.month - 1) // 3 * 3 + 1
quarter_start = dt.date(reference.year, quarter_first_month, 1)
quarter_end = dt.date(reference.year + quarter_first_month // 10,
                      (quarter_first_month + 2) % 12 + 1, 1) - dt.timedelta(days=1)

scope = {"branch_id": f.branch_param, "manager_id": [chosen_manager] if chosen_manager else None}
week = {"from_date": week_start, "to_date": week_end, "month": f.month, **scope}
quarter = {"from_date": quarter_start, "to_date": quarter_end, **scope}
st.caption(" · ".join([L("todo_week", start=week_start, end=week_end),
                       L("todo_quarter", start=quarter_start, end=quarter_end),
                       L("todo_month_note", month=f.month)]))

todo_lists = [
    ("todo_maturities", "todo_maturities", week),
    ("todo_birthdays", "todo_birthdays", week),
    ("todo_upgrades", "todo_vip_changes", {**quarter, "change": "upgrade"}),
    ("todo_downgrades", "todo_vip_changes", {**quarter, "change": "downgrade"}),
    ("todo_new_clients", "todo_new_clients", week),
]
# each list's first page, its rows counting the whole list (the lists asked for at once);
# the downloads hold every row
results = dict(zip([key for key, _, _ in todo_lists], app_data.queries(
    *[(name, {**params, "page_rows": lists.SHOWN_ROWS}) for _, name, params in todo_lists])))
if all(r.empty for r in results.values()):
    st.info(L("no_data"))
    st.stop()
sizes = {key: int(r[lists.TOTAL].iloc[0]) if len(r) else 0 for key, r in results.items()}
# every list's size at a glance; each list's table is drawn only while its tab is open (a tab
# switch reruns the page), so a change draws one table of up to a thousand rows, not five.
# The tabs' labels stay the same whatever the filters, so a change keeps the open tab.
for column, (key, _, _) in zip(st.columns(len(todo_lists)), todo_lists):
    column.metric(L(key), count(sizes[key]))
tabs = st.tabs([L(key) for key, _, _ in todo_lists], key="todos_list", on_change="rerun")
for tab, (key, name, params) in zip(tabs, todo_lists):
    if not tab.open:
        continue
    with tab:
        st.caption(L(f"{key}_help"))
        stamp = (f"{params['from_date']}-{params['to_date']}"
                 + (f"-{chosen_manager}" if chosen_manager else ""))
        # one kind of change per tab
        shown = [c for c in results[key].columns if c not in ("change", lists.TOTAL)]
        lists.client_table(results[key], name=name, params=params, key=key, month=f.month,
                           lang=f.lang, stamp=stamp, columns=shown)
