"""`python -m tierflow ...`: demo data, ingest, named queries, rebuild, users.

The data folder comes from ``--data-dir``, else ``TIERFLOW_DATA_DIR``, else ``data/``.
``--user NAME`` answers queries exactly as that user of the users file would see them (scope
and masking) and records exports under their name; without it, the operator at the shell (who
can read the data folder anyway) sees everything, and exports are recorded as ``os:LOGIN``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from tierflow import export
from tierflow.access import EVERYTHING, ROLES, AccessError, User, UserStore, write_demo_users
from tierflow.audit import AuditError
from tierflow.ingest import ingest
from tierflow.lake import Lake, LakeMissing, RollbackImpossible
from tierflow.queries import QueryError, catalog, runner_for
from tierflow.settings import load_settings

DEFAULT_DATA_DIR = Path("data")


def data_dir_from(args: argparse.Namespace) -> Path:
    return Path(args.data_dir or os.environ.get("TIERFLOW_DATA_DIR") or DEFAULT_DATA_DIR)


def _progress(total: int, desc: str) -> tqdm:
    return tqdm(total=total, desc=desc, unit="step", file=sys.stderr, dynamic_ncols=True)


def cmd_demo(args: argparse.Namespace) -> int:
    from tierflow.demo import generate_delivery, progress_total

    data_dir = data_dir_from(args)
    if args.if_missing and Lake(data_dir).current_version() is not None:
        print(f"Data already loaded in {data_dir}; nothing generated.", file=sys.stderr)
        if not UserStore(data_dir).path.exists():
            _add_demo_users(data_dir)
        return 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tierflow-demo-") as tmp:
        with _progress(progress_total(args.months), "generating demo delivery") as bar:
            generate_delivery(Path(tmp), clients=args.clients, months=args.months,
                              branches=args.branches, seed=args.seed, progress=bar.update)
        report = _load(Path(tmp), data_dir, by="demo")
    print(report.summary(), file=sys.stderr)
    _add_demo_users(data_dir)
    print(f"Demo data ready in {data_dir} ({time.perf_counter() - started:.1f} s).",
          file=sys.stderr)
    return 0


def _add_demo_users(data_dir: Path) -> None:
    users = write_demo_users(data_dir)
    described = ", ".join(u.name + (f" ({', '.join(u.branches)}"
                                    f"{', ' + u.manager_id if u.manager_id else ''})"
                                    if u.branches else "") for u in users)
    print(f"Demo users (password `demo`) in {UserStore(data_dir).path}: {described}.",
          file=sys.stderr)


def _load(delivery: Path | None, data_dir: Path, by: str):
    settings = load_settings(data_dir)
    with _progress(0, "loading") as bar:
        return ingest(delivery, data_dir, settings, by=by, progress=bar)


def cmd_ingest(args: argparse.Namespace) -> int:
    report = _load(Path(args.delivery), data_dir_from(args), by=os.environ.get("USER", "cli"))
    print(report.summary(), file=sys.stderr)
    if report.kept_in:
        print(f"Rows set aside are listed in full in {report.kept_in / 'set_aside.csv'}",
              file=sys.stderr)
    return 1 if report.rejected or report.refused else 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    report = _load(None, data_dir_from(args), by=os.environ.get("USER", "cli"))
    print(f"Rebuilt the lake as version {report.version} with the settings in force.",
          file=sys.stderr)
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    lake = Lake(data_dir_from(args))
    undone = lake.manifest().get("loads", [{}])[-1].get("delivery")
    version = lake.rollback(by=os.environ.get("USER", "cli"))
    print(f"Rolled back the load of {undone}: version {version} is in use again.",
          file=sys.stderr)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    params = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise QueryError(f"--set {item!r}: expected key=value")
        params[key.strip()] = value
    fmt = args.format or (Path(args.output).suffix.lstrip(".") if args.output else "csv")
    if fmt not in export.FORMATS:
        raise QueryError(f"unknown format {fmt!r}; choose one of {', '.join(export.FORMATS)}")
    if fmt in ("parquet", "xlsx") and not args.output:
        raise QueryError(f"--format {fmt} is binary: give --output FILE")
    data_dir = data_dir_from(args)
    if args.user:
        user = UserStore(data_dir).require(args.user)
        name, role, scope = user.name, user.role, user.scope()
    else:
        name, role, scope = f"os:{getpass.getuser()}", "operator", EVERYTHING
    data, rows = export.export_query(runner_for(data_dir), user=name, role=role, scope=scope,
                                     source="cli", name=args.name, params=params, fmt=fmt)
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"{rows} rows written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def cmd_queries(args: argparse.Namespace) -> int:
    for name, q in catalog().items():
        print(f"{name}: {q.purpose}")
        for p in q.parameters:
            mode = f"setting {p.setting}" if p.mode == "setting" else p.mode
            print(f"    --set {p.name}=...  ({p.type}, {mode}) {p.doc}")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    store = UserStore(data_dir_from(args))
    if args.action == "list":
        for user in store.users():
            scope = ",".join(user.branches) or "all branches"
            own = f", own clients of {user.manager_id}" if user.manager_id else ""
            personal = "personal data shown" if user.sees_personal_data else "masked"
            print(f"{user.name}: {user.role} ({scope}{own}; {personal})")
        return 0
    if args.action == "remove":
        store.remove(args.name)
        print(f"Removed {args.name}; their next click signs them out.", file=sys.stderr)
        return 0
    user = User(name=args.name, role=args.role, branches=tuple(args.branch or ()),
                manager_id=args.manager_id, personal_data=args.personal_data,
                display_name=args.display_name or "")
    user.scope()  # refuses a branch head without a branch, a manager without a manager id
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not args.no_password:
        password = getpass.getpass(f"Password for {args.name}: ")
    if password is not None and len(password) < 8 and not args.name.startswith("demo-"):
        raise AccessError("a password needs at least 8 characters")
    store.put(user, password)
    print(f"Saved {args.name} ({args.role}) in {store.path}.", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tierflow", description=__doc__)
    parser.add_argument("--data-dir", help="data folder (default: $TIERFLOW_DATA_DIR or data/)")
    parser.add_argument("--user", help="answer as this user of the users file would see it "
                        "(scope, masking; exports recorded under their name)")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate a demo delivery and load it")
    demo.add_argument("--clients", type=int, default=200_000)
    demo.add_argument("--months", type=int, default=36)
    demo.add_argument("--branches", type=int, default=60)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--if-missing", action="store_true",
                      help="do nothing when the data folder already holds data")
    demo.set_defaults(func=cmd_demo)

    ing = sub.add_parser("ingest", help="load a delivery folder (CSV, XLSX, parquet)")
    ing.add_argument("delivery", help="folder holding the delivery's files")
    ing.set_defaults(func=cmd_ingest)

    reb = sub.add_parser("rebuild", help="derive tiers again after a change of tier settings")
    reb.set_defaults(func=cmd_rebuild)

    rbk = sub.add_parser("rollback", help="go back to the data as it was before the last load")
    rbk.set_defaults(func=cmd_rollback)

    qry = sub.add_parser("query", help="run a named query from queries/")
    qry.add_argument("name")
    qry.add_argument("--set", action="append", metavar="KEY=VALUE", help="a parameter")
    qry.add_argument("--format", choices=export.FORMATS, help="default: csv (or from --output)")
    qry.add_argument("--output", help="file to write (default: stdout)")
    qry.set_defaults(func=cmd_query)

    lst = sub.add_parser("queries", help="list the named queries and their parameters")
    lst.set_defaults(func=cmd_queries)

    usr = sub.add_parser("users", help="list, add or remove users (the users file)")
    usr_sub = usr.add_subparsers(dest="action", required=True)
    usr_sub.add_parser("list", help="every user with role and scope")
    rm = usr_sub.add_parser("remove", help="remove a user (signed out at their next click)")
    rm.add_argument("name")
    add = usr_sub.add_parser("add", help="add a user or change one (asks for a password)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=list(ROLES))
    add.add_argument("--branch", action="append", help="a branch id (branch_head, manager)")
    add.add_argument("--manager-id", help="the manager's own id (manager)")
    add.add_argument("--personal-data", action=argparse.BooleanOptionalAction, default=None,
                     help="grant or withhold names, phones and ID numbers (default: the role's)")
    add.add_argument("--display-name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--no-password", action="store_true",
                     help="no password: the user signs in through the identity provider or proxy")
    usr.set_defaults(func=cmd_users)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (QueryError, LakeMissing, FileNotFoundError, ValueError, AccessError,
            AuditError, RollbackImpossible) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
