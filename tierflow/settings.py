"""Business rules as settings: tier bands and basis, churn definition, warning thresholds.

Defined once, with the defaults of ``shared/DOMAIN.md``. A bank overrides any of them in
``<data dir>/settings.toml`` (same names, grouped in the sections shown in the README); every
setting is listed in the README, which ``tests/test_inventory.py`` checks.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

TIER_CODES = ("mass", "gold", "platinum", "diamond", "private")
CHURN_DEFINITIONS = ("vip_to_mass", "closure", "aum_floor")
ENGINES = ("duckdb", "spark")
# Warning settings used at load time (the rest are query parameters).
WARNING_ENGINE_SETTINGS = ("outflow_min_share", "outflow_min_amount", "activity_drop_ratio",
                           "activity_lookback_months", "activity_min_average",
                           "maturity_window_days", "dormancy_months", "downgrade_months",
                           "severity_high_amount", "severity_medium_amount")


def _setting(default, section: str, doc: str):
    return field(default=default, metadata={"section": section, "doc": doc})


@dataclass(frozen=True)
class Settings:
    tier_floors: tuple[int, ...] = _setting(
        (0, 50_000, 500_000, 2_000_000, 6_000_000), "tiers",
        "Lower AUM bound (RMB, inclusive) of mass, gold, platinum, diamond, private.")
    tier_basis: str = _setting(
        "aum", "tiers", "Which AUM decides the tier: `aum` (month end) or `aum_avg` "
        "(monthly average daily).")
    vip_min_tier: str = _setting(
        "gold", "tiers", "Lowest tier that counts as VIP / mid-high-end (中高端); the cohort "
        "entry tier.")
    churn_definition: str = _setting(
        "vip_to_mass", "churn", "Default churn definition: `vip_to_mass` (VIP falls to mass "
        "or leaves), `closure` (closed or gone), `aum_floor` (AUM under the floor or gone).")
    churn_aum_floor: int = _setting(
        1_000, "churn", "AUM (RMB) under which an account counts as emptied (`aum_floor`).")
    outflow_min_share: float = _setting(
        0.30, "warnings", "Large outflow: AUM down by at least this share month on month ...")
    outflow_min_amount: int = _setting(
        100_000, "warnings", "... and by at least this many RMB.")
    activity_drop_ratio: float = _setting(
        0.5, "warnings", "Activity drop: transactions this month below this share of the "
        "average of the previous months.")
    activity_lookback_months: int = _setting(
        3, "warnings", "Months averaged for the activity-drop rule.")
    activity_min_average: float = _setting(
        10, "warnings", "Activity drop only for clients who averaged at least this many "
        "transactions a month over those months (below it, a drop is noise: a floor of 5 "
        "flags about 3% of the demo's clients every month, 10 about 0.6%).")
    maturity_window_days: int = _setting(
        7, "warnings", "Maturity: each maturing product is warned about this many days "
        "before its maturity date.")
    dormancy_months: int = _setting(
        6, "warnings", "Dormant: no transaction in this many months (this one included), "
        "or status dormant.")
    downgrade_months: int = _setting(
        1, "warnings", "Downgrade: months in a row below last tier before warning (1 = at "
        "once).")
    severity_high_amount: int = _setting(
        500_000, "warnings", "A computed warning is `high` from this amount (RMB; the "
        "outflow, the fall, the maturing amount or, for activity drop and dormancy, the "
        "AUM) ...")
    severity_medium_amount: int = _setting(
        100_000, "warnings", "... `medium` from this amount, else `low`.")
    warning_case_days: int = _setting(
        30, "warnings", "A retention case of the client answers a warning when it names the "
        "warning, or was opened from the first day of the warning's month up to this many "
        "days after the warning.")
    manager_book_limit: int = _setting(
        250, "managers", "Most VIP clients one manager should look after.")
    manager_assign_floor: int = _setting(
        50_000, "managers", "AUM (RMB) from which a client must have a manager.")
    max_set_aside_share: float = _setting(
        0.10, "loads", "A load whose rows set aside exceed this share of the rows read is "
        "refused whole (nothing of it is loaded).")
    engine: str = _setting(
        "duckdb", "engine", "What runs the named queries: `duckdb` (embedded, in the app's "
        "process) or `spark` (Apache Spark at `spark_master`; needs `requirements-spark.txt`).")
    spark_master: str = _setting(
        "local[2]", "engine", "Where Spark runs when `engine = \"spark\"`: `local[N]` (N cores "
        "of this machine), a cluster's master URL (`spark://host:7077`, `yarn`, `k8s://...`) or "
        "a Spark Connect server (`sc://host:15002`).")

    def __post_init__(self) -> None:
        floors = self.tier_floors
        if len(floors) != len(TIER_CODES) or floors[0] != 0 or list(floors) != sorted(set(floors)):
            raise ValueError(f"tiers.tier_floors must be {len(TIER_CODES)} rising amounts "
                             f"starting at 0, got {floors!r}")
        if self.tier_basis not in ("aum", "aum_avg"):
            raise ValueError(f"tiers.tier_basis must be aum or aum_avg, got {self.tier_basis!r}")
        if self.vip_min_tier not in TIER_CODES:
            raise ValueError(f"tiers.vip_min_tier must be one of {TIER_CODES}")
        if self.churn_definition not in CHURN_DEFINITIONS:
            raise ValueError(f"churn.churn_definition must be one of {CHURN_DEFINITIONS}")
        for name in ("downgrade_months", "activity_lookback_months", "dormancy_months"):
            if getattr(self, name) < 1:
                raise ValueError(f"warnings.{name} must be at least 1")
        if self.engine not in ENGINES:
            raise ValueError(f"engine.engine must be one of {ENGINES}, got {self.engine!r}")
        if self.maturity_window_days < 0 or self.warning_case_days < 0:
            raise ValueError("warnings.maturity_window_days and warning_case_days must not "
                             "be negative")

    @property
    def vip_min_rank(self) -> int:
        """Rank of the VIP entry tier (mass = 0 ... private = 4)."""
        return TIER_CODES.index(self.vip_min_tier)

    @property
    def tier_bands(self) -> list[tuple[str, int, int, int | None]]:
        """(tier, rank, aum_from, aum_below) per tier; aum_below is None for the top tier."""
        floors = list(self.tier_floors)
        ceilings = floors[1:] + [None]
        return [(code, rank, lo, hi) for rank, (code, lo, hi)
                in enumerate(zip(TIER_CODES, floors, ceilings))]

    @property
    def warning_fingerprint(self) -> dict:
        """The settings the warning engine bakes into the lake's computed_warnings
        (tierflow/warning_rules.py); a change asks for `python -m tierflow rebuild`."""
        return {name: getattr(self, name) for name in WARNING_ENGINE_SETTINGS}

    @property
    def lake_fingerprint(self) -> dict:
        """The settings baked into the lake at load time: the tier of every snapshot row, and
        the churn floor in the dashboard's aggregates (tierflow/cubes.py)."""
        return {"tier_floors": list(self.tier_floors), "tier_basis": self.tier_basis,
                "churn_aum_floor": self.churn_aum_floor}


def documented_settings() -> list[tuple[str, str, object, str]]:
    """(section, name, default, doc) for every setting, in declaration order."""
    return [(f.metadata["section"], f.name, f.default, f.metadata["doc"]) for f in fields(Settings)]


def load_settings(data_dir: Path) -> Settings:
    """Defaults, overridden by ``<data_dir>/settings.toml`` when it exists."""
    path = Path(data_dir) / "settings.toml"
    if not path.exists():
        return Settings()
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    known = {f.name: f.metadata["section"] for f in fields(Settings)}
    overrides = {}
    for section, values in raw.items():
        if not isinstance(values, dict):
            raise ValueError(f"{path}: `{section}` must be a [section] of settings")
        for name, value in values.items():
            if known.get(name) != section:
                raise ValueError(f"{path}: unknown setting [{section}] {name}")
            overrides[name] = tuple(value) if isinstance(value, list) else value
    return replace(Settings(), **overrides)
