"""Who may see what: roles, the users file, and the scope every query runs in.

A user has a role; the role decides which rows the user's queries see (a `Scope`: all
branches, some branches, or one manager's own clients) and whether personal data (names, phone
numbers, ID numbers) arrives masked. The query runner applies the scope below every query
(tierflow/queries.py), so a page, a download or the command line cannot forget it.

Users live in ``<data dir>/users.toml``, read again at every lookup, so removing a user or
changing a role takes effect at that user's next click. Passwords are stored as Argon2id hashes
(argon2-cffi); users who sign in through an identity provider or a proxy have no password.
This module imports no Streamlit.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

USERS_FILE = "users.toml"


@dataclass(frozen=True)
class Role:
    code: str
    doc: str
    needs_branch: bool  # scoped to `branches`; with none, the user gets an error, never all rows
    own_clients_only: bool  # scoped to the clients whose manager is the user's `manager_id`
    personal_data: bool  # sees names, phones and ID numbers unless the users file says otherwise
    admin: bool = False


ROLES: dict[str, Role] = {r.code: r for r in (
    Role("executive", "all branches, personal data shown", False, False, True),
    Role("branch_head", "their branch or branches, personal data shown", True, False, True),
    Role("manager", "their own clients (clients whose manager they are)", True, True, True),
    Role("analyst", "all branches, personal data masked unless granted", False, False, False),
    Role("admin", "users, data loads and the export audit log; all branches, personal data "
                  "masked", False, False, False, admin=True),
)}

# Personal data and how it is masked: SQL over the column itself (no values are pasted in).
# 张三丰 → 张**, 13812341234 → 138****1234, 110101199001011234 → 110101********1234.
MASKS: dict[str, str] = {
    "name": "case when name is null then null "
            "else concat(left(name, 1), repeat('*', greatest(length(name) - 1, 1))) end",
    "phone": "case when phone is null then null "
             "when length(phone) >= 7 then concat(left(phone, 3), '****', right(phone, 4)) "
             "else repeat('*', length(phone)) end",
    "id_number": "case when id_number is null then null "
                 "when length(id_number) > 10 then concat(left(id_number, 6), "
                 "repeat('*', length(id_number) - 10), right(id_number, 4)) "
                 "else repeat('*', length(id_number)) end",
}
# The same masks as patterns a masked value matches (tests and the audit use them).
MASK_PATTERNS: dict[str, str] = {
    "name": r"^.\*+$",
    "phone": r"^\d{3}\*{4}\d{4}$|^\*+$",
    "id_number": r"^\w{6}\*+\w{4}$|^\*+$",
}


class AccessError(PermissionError):
    """A user may not do or see what was asked (unknown user, bad password, no branch)."""


@dataclass(frozen=True)
class Scope:
    """The rows and columns a user's queries see.

    branches: None for every branch, else the branch ids; manager_id: set when only that
    manager's clients are visible; personal_data: False when names, phones and ID numbers are
    masked. `key` goes into every cache key, so two users share a cached answer only when
    they may both see it.
    """
    branches: tuple[str, ...] | None
    manager_id: str | None
    personal_data: bool

    @property
    def key(self) -> tuple:
        return (self.branches, self.manager_id, self.personal_data)

    @property
    def narrowed(self) -> bool:
        """Some branches or one manager's clients, not everything."""
        return self.branches is not None or self.manager_id is not None


# The operator at the command line without --user: the files are theirs already.
EVERYTHING = Scope(branches=None, manager_id=None, personal_data=True)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    branches: tuple[str, ...] = ()
    manager_id: str | None = None
    personal_data: bool | None = None  # None: the role's default
    display_name: str = ""

    @property
    def is_admin(self) -> bool:
        return ROLES[self.role].admin

    @property
    def sees_personal_data(self) -> bool:
        """The users file's grant when it gives one, else the role's default."""
        return ROLES[self.role].personal_data if self.personal_data is None \
            else self.personal_data

    def scope(self) -> Scope:
        """This user's scope; an AccessError when the role needs a branch or manager and the
        users file gives none (never every row by default)."""
        role = ROLES[self.role]
        if role.needs_branch and not self.branches:
            raise AccessError(f"user {self.name!r} has role {self.role} but no branch; an "
                              "administrator must give them one in users.toml")
        if role.own_clients_only and not self.manager_id:
            raise AccessError(f"user {self.name!r} has role manager but no manager_id")
        return Scope(branches=tuple(self.branches) if role.needs_branch else None,
                     manager_id=self.manager_id if role.own_clients_only else None,
                     personal_data=self.sees_personal_data)


_hasher = PasswordHasher()
# Verified when the user is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


class UserStore:
    """The users file of a data folder: ``[users.NAME]`` tables with role, branches,
    manager_id, personal_data, display_name and (for password sign-in) password_hash."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / USERS_FILE

    def _raw(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        with self.path.open("rb") as fh:
            raw = tomllib.load(fh)
        return raw.get("users", {})

    def _user(self, name: str, entry: dict) -> User:
        role = entry.get("role")
        if role not in ROLES:
            raise AccessError(f"{self.path}: user {name!r} has unknown role {role!r} "
                              f"(roles: {', '.join(ROLES)})")
        return User(name=name, role=role, branches=tuple(entry.get("branches", ())),
                    manager_id=entry.get("manager_id"),
                    personal_data=entry.get("personal_data"),
                    display_name=entry.get("display_name", ""))

    def users(self) -> list[User]:
        return [self._user(name, entry) for name, entry in self._raw().items()]

    def find(self, name: str | None) -> User | None:
        """The user as the file says now, or None when there is no such user."""
        entry = self._raw().get(name) if name else None
        return None if entry is None else self._user(name, entry)

    def require(self, name: str) -> User:
        user = self.find(name)
        if user is None:
            raise AccessError(f"unknown user {name!r} (users are listed in {self.path})")
        return user

    def verify(self, name: str, password: str) -> User | None:
        """The user when the password is right, else None (no hint which part was wrong)."""
        entry = self._raw().get(name) or {}
        stored = entry.get("password_hash") or _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return self._user(name, entry) if entry.get("password_hash") else None

    def save(self, users: dict[str, dict]) -> None:
        """Write the users file whole (through a temporary file, so a reader never sees half)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".toml.tmp")
        header = ("# tierflow users: role, scope and (for password sign-in) an Argon2id hash.\n"
                  "# Manage with `python -m tierflow users ...`; see the README, Sign-in.\n")
        tmp.write_text(header + tomli_w.dumps({"users": users}), encoding="utf-8")
        tmp.replace(self.path)

    def put(self, user: User, password: str | None = None) -> None:
        raw = self._raw()
        entry = {"role": user.role}
        if user.branches:
            entry["branches"] = list(user.branches)
        if user.manager_id:
            entry["manager_id"] = user.manager_id
        if user.personal_data is not None:
            entry["personal_data"] = user.personal_data
        if user.display_name:
            entry["display_name"] = user.display_name
        if password is not None:
            entry["password_hash"] = hash_password(password)
        elif raw.get(user.name, {}).get("password_hash"):
            entry["password_hash"] = raw[user.name]["password_hash"]
        raw[user.name] = entry
        self.save(raw)

    def remove(self, name: str) -> None:
        raw = self._raw()
        if raw.pop(name, None) is None:
            raise AccessError(f"unknown user {name!r}")
        self.save(raw)


DEMO_PASSWORD = "demo"


def demo_users(branch_id: str, manager_id: str) -> list[User]:
    """The embedded default's users (password `demo`): one per role; the branch head and the
    manager belong to a branch of the demo data."""
    return [
        User("demo-executive", "executive", display_name="演示 行领导"),
        User("demo-branch-head", "branch_head", branches=(branch_id,),
             display_name="演示 支行长"),
        User("demo-manager", "manager", branches=(branch_id,), manager_id=manager_id,
             display_name="演示 客户经理"),
        User("demo-analyst", "analyst", display_name="演示 分析师"),
        User("demo-admin", "admin", display_name="演示 管理员"),
    ]


def write_demo_users(data_dir: Path) -> list[User]:
    """Add the demo users to a data folder's users file (other users are kept); the branch
    head and the manager get the lake's first branch and that branch's first manager."""
    from tierflow.lake import Lake

    managers = Lake(data_dir).read_table("managers").sort("branch_id", "manager_id")
    first = managers.row(0, named=True)
    store = UserStore(data_dir)
    users = demo_users(first["branch_id"], first["manager_id"])
    for user in users:
        store.put(user, DEMO_PASSWORD)
    return users
