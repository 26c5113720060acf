"""Demo delivery generator: a realistic, deterministic bank export in the data-contract format.

:func:`generate_delivery` writes a folder that the ingest step reads like a real delivery
(see ``DATA_CONTRACT.md``): ``branches.csv``, ``managers.csv``, ``clients.csv``, one
``snapshots_YYYY-MM.parquet`` per month, ``warnings.csv``, ``retention_cases.csv`` and
``maturities.csv``, all with the contract's English column names.

The data is simulated month by month so that it tells the stories the product is built to show:

- **Wealth pyramid.** Potential AUM is lognormal (median about 20k RMB, sigma about 1.9), shifted
  by age, segment and branch, so client counts fall from mass to private banking while the top
  20% of clients hold roughly 80% of AUM.
- **Branches** (Chinese names under eight 分行) differ in size (Zipf-like), growth drift,
  new-client pull and retention quality. Managers (理财经理/客户经理/投资顾问) carry uneven books:
  some hold more than 250 gold-and-above clients, and a few percent of such clients have none.
- **Markets.** Log-AUM follows a mean-reverting random walk with branch drift, a market factor
  (stronger for clients holding funds and securities), a January bonus / February festival
  season, and a weak-market stretch in the middle of the period with negative drift, more large
  outflows, more leavers and less trading. About 3% of clients hold part of their assets in a
  foreign-currency deposit folded into RMB at a monthly rate, so their AUM also wiggles with the
  exchange rate (the contract has no currency column; AUM is reported in RMB).
- **Flows.** New clients open accounts every month (more in the January-March 开门红 season) and
  ramp up towards their potential; small and dormant clients leave, most with one last
  ``closed`` row, some simply missing; a few clients are absent for 1-3 months and come back.
  Clients of 100k RMB or more never just vanish: their exits follow a large outflow, as the
  domain's VIP churn does.
- **Large outflows** (35-90% of AUM in a month, more often after a product matures and in the
  weak market). Most raise a bank warning; depending on the branch, many warnings get a
  retention case whose outcome depends on channel, measure, reason, days to first contact and
  branch quality. Later AUM agrees with the outcome: retained clients get 70-100% of the outflow
  back within 1-2 months (that amount is ``aum_kept``); lost clients mostly leave within three
  months, the rest keep falling. Cases opened in the last ~45 days are mostly pending.
- **Activity.** Monthly transactions are Poisson by the client's activity level; some clients go
  quiet, become ``dormant`` after six months without transactions, and some reactivate (often
  taking up more product types). Some trade far less for a few months (business moving to
  another bank or broker), most often in the months before they leave: the activity drops the
  warning rules look for. Turnover, fee income and products held follow AUM and activity.
- **Maturities** of time deposits, wealth products and some funds, bonds and insurance, from the
  first month to three months after ``end_month``, never larger than the holding they come from.

Determinism: every random draw comes from ``numpy.random.default_rng(seed)`` (one child stream for
the simulation, one for personal data, one for the trading slowdowns) in a fixed order, and "today" is the last day of
``end_month``, so the same seed and sizes give byte-identical files.

Memory: per-client state lives in flat arrays (roughly 150 bytes per client ever seen), each
month's snapshot is written and dropped before the next is simulated, and the ledgers are
appended to their CSV files month by month. Measured on 2 cores: 200,000 clients x 36 months in
about 20 s and 0.4 GB; 5 million x 36 in about 11 minutes and 3.8 GB (``bench/bench_demo.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from tierflow import contract

__all__ = ["generate_delivery", "progress_total"]

# --- Files and columns (DATA_CONTRACT.md) -----------------------------------------------------

def _columns(table: contract.Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.columns)


CLIENT_COLUMNS = _columns(contract.CLIENTS)
CASE_COLUMNS = _columns(contract.RETENTION_CASES)
WARNING_COLUMNS = _columns(contract.WARNINGS)
MATURITY_COLUMNS = _columns(contract.MATURITIES)

# Files written besides the monthly snapshots; each one is a progress unit.
_EXTRA_FILES = ("branches.csv", "managers.csv", "clients.csv", "retention_cases.csv",
                "warnings.csv", "maturities.csv")


def progress_total(months: int) -> int:
    """How many ``progress(1)`` calls :func:`generate_delivery` makes: one a month, one a file."""
    return months + len(_EXTRA_FILES)


# --- Reference data ---------------------------------------------------------------------------

# (code, parent branch, region, ID-card region code, district names for its sub-branches)
_CITIES = (
    ("01", "上海分行", "华东", 310101, ("静安", "徐汇", "浦东", "黄浦", "长宁", "虹口", "杨浦", "闵行",
                                        "陆家嘴", "张江", "普陀", "宝山", "嘉定", "松江", "青浦")),
    ("02", "北京分行", "华北", 110105, ("朝阳", "海淀", "东城", "西城", "中关村", "国贸", "望京", "丰台",
                                        "通州", "亦庄", "昌平", "顺义")),
    ("03", "深圳分行", "华南", 440304, ("福田", "南山", "罗湖", "前海", "蛇口", "科技园", "宝安", "龙岗",
                                        "龙华")),
    ("04", "广州分行", "华南", 440106, ("天河", "越秀", "珠江新城", "海珠", "荔湾", "番禺", "白云", "黄埔",
                                        "花都")),
    ("05", "杭州分行", "华东", 330106, ("西湖", "上城", "钱江新城", "拱墅", "滨江", "萧山", "余杭")),
    ("06", "南京分行", "华东", 320106, ("鼓楼", "新街口", "玄武", "秦淮", "建邺", "河西", "江宁", "栖霞")),
    ("07", "成都分行", "西南", 510104, ("锦江", "青羊", "武侯", "天府新区", "金牛", "成华", "高新")),
    ("08", "武汉分行", "华中", 420103, ("江汉", "江岸", "武昌", "光谷", "洪山", "汉阳", "青山")),
)
_CITY_SHARE = np.array([0.20, 0.18, 0.14, 0.12, 0.10, 0.09, 0.09, 0.08])
_MAX_BRANCHES_PER_CITY = 99  # branch ids are city code + two digits
_ORDINALS = ("", "第二", "第三", "第四", "第五", "第六", "第七", "第八", "第九", "第十")
# Birth places of clients not born in their branch's city.
_OTHER_REGIONS = np.array([130102, 140105, 210102, 230103, 340104, 350102, 360102, 370102,
                           410105, 430102, 450103, 500103, 520102, 530102, 610113, 620102])

_SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
                  "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
                  "郝龚邵万钱严覃武戴莫孔向汤")
_GIVEN_MALE = tuple("伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳建国志文博晨峰")
_GIVEN_FEMALE = tuple("芳娜敏静丽艳娟霞燕玲婷雪慧颖琳洁晶倩丹萍红梅莉欣悦怡佳雯璐瑶蕾薇琪")
_PHONE_PREFIXES = np.array([130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153,
                            155, 156, 157, 158, 159, 180, 181, 182, 183, 184, 185, 186, 187, 188,
                            189])

_MANAGER_ROLES = ("理财经理", "客户经理", "投资顾问")
_MANAGER_ROLE_SHARE = (0.55, 0.30, 0.15)
_GENDERS = ("M", "F")
_SEGMENTS = ("salaried", "private_business_owner", "professional", "retiree", "student")
_RISK_PROFILES = ("conservative", "steady", "balanced", "growth", "aggressive")
_PREFERENCES = ("deposit_led", "loan_led", "fee_led", "balanced")
_STATUSES = ("normal", "dormant", "closed")
_NORMAL, _DORMANT, _CLOSED = range(3)

# AUM parts in snapshot column order; deposits come first because everyone keeps some.
_PARTS = ("deposits", "wealth", "funds", "insurance", "bonds", "securities")
_RISKY_PARTS = [2, 5]  # funds, securities: these move with the market
# Preference type -> how likely each non-deposit part is taken up (wealth..securities).
_PART_TAKE_UP = np.array([[3.0, 0.6, 1.5, 1.5, 0.3],
                          [1.0, 0.6, 2.0, 0.5, 0.4],
                          [3.0, 3.0, 2.0, 1.0, 2.0],
                          [2.0, 1.5, 1.2, 1.0, 1.0]])
# Preference type -> Dirichlet-like weight of each part once held (deposits..securities).
_PART_WEIGHT = np.array([[5.0, 1.5, 0.6, 1.0, 1.0, 0.4],
                         [3.0, 1.0, 0.6, 1.2, 0.5, 0.4],
                         [1.0, 2.0, 2.0, 1.2, 1.0, 1.5],
                         [2.0, 1.5, 1.2, 1.0, 1.0, 1.0]])
# Risk profile -> multiplier on funds and securities take-up and weight.
_RISK_APPETITE = np.array([0.3, 0.6, 1.0, 1.6, 2.5])

# Warnings, retention cases and maturities: codes exactly as the contract lists them.
_HANDLER_ROLES = ("lobby_manager", "wealth_manager", "loan_support", "client_manager",
                  "central_desk")
_LOBBY, _WEALTH_MGR, _LOAN_SUPPORT, _CLIENT_MGR, _CENTRAL = range(5)
_CASE_TYPES = ("aum_outflow", "account_transfer", "loan_prepayment", "card_cancellation")
_LOAN_PREPAYMENT = 2
_CHANNELS = ("phone", "in_branch", "advisor", "visit", "sms")
_CHANNEL_SHARE_SMALL = (0.45, 0.22, 0.08, 0.07, 0.18)
_CHANNEL_SHARE_LARGE = (0.25, 0.30, 0.20, 0.18, 0.07)  # outflows of 500k and more
_CHANNEL_EFFECT = np.array([0.0, 0.6, 0.7, 0.5, -0.9])
_REASONS = ("commission", "product_range", "market", "service", "facilities", "relocation",
            "rate", "competitor", "other")
# Ranked as in seed 004: commission and product range first; "market" grows in a weak market.
_REASON_SHARE = np.array([0.22, 0.19, 0.08, 0.12, 0.05, 0.07, 0.12, 0.10, 0.05])
_WEAK_MARKET_REASON_BOOST = 4.0
_REASON_EFFECT = np.array([0.2, 0.1, 0.2, 0.0, -0.1, -1.3, -0.2, -0.4, 0.0])
_MEASURES = ("fee_cut", "rate_concession", "product_offer", "gift", "service", "none")
_MEASURE_EFFECT = np.array([0.5, 0.4, 0.5, 0.1, 0.2, -0.9])
# Stated reason -> measure offered (rows follow _REASONS, columns _MEASURES).
_MEASURE_BY_REASON = np.array([[0.60, 0.10, 0.10, 0.05, 0.05, 0.10],
                               [0.05, 0.05, 0.65, 0.05, 0.10, 0.10],
                               [0.10, 0.05, 0.45, 0.05, 0.20, 0.15],
                               [0.05, 0.05, 0.10, 0.15, 0.50, 0.15],
                               [0.05, 0.05, 0.10, 0.20, 0.40, 0.20],
                               [0.05, 0.05, 0.10, 0.10, 0.30, 0.40],
                               [0.10, 0.55, 0.20, 0.05, 0.05, 0.05],
                               [0.15, 0.25, 0.40, 0.05, 0.05, 0.10],
                               [0.10, 0.10, 0.20, 0.10, 0.30, 0.20]])
_OTHER_WARNING_NOTES = ("客户信息变更", "异地大额取现", "频繁小额转出", "密码多次输错")
# (product type, AUM part it comes out of, monthly chance a holder has one maturing, min share)
_MATURING_PRODUCTS = (("time_deposit", 0, 0.030, 0.3), ("wealth", 1, 0.060, 0.3),
                      ("fund", 2, 0.010, 0.2), ("insurance", 3, 0.008, 0.5),
                      ("bond", 4, 0.020, 0.3))

# --- Simulation parameters (monthly unless said otherwise) ------------------------------------

_LOG_MEDIAN_AUM = np.log(20_000.0)
_AUM_SIGMA = 1.8  # plus the spread from age, segment and branch: about 1.9 in all
_GOLD = 50_000.0  # DOMAIN.md: from here a client must have a manager
_BOOK_TARGET = 160  # gold-and-above clients a branch plans per manager (the guideline is 250)
_REVERSION = 0.04  # pull of log-AUM towards the client's potential
_NEW_CLIENT_RATE = 0.011  # of the starting client count
_NEW_CLIENT_SEASON = {1: 1.35, 2: 1.2, 3: 1.3, 7: 0.9, 8: 0.9, 12: 1.1}  # 开门红, summer lull
_AUM_SEASON = {1: 0.012, 2: -0.010, 6: 0.004, 7: -0.004, 12: 0.004}  # bonus, festival, quarter
_OUTFLOW_FLOOR = 80_000.0  # large outflows are tracked for clients holding at least this
_OUTFLOW_RATE = 0.010
_WARNING_AMOUNT = 100_000.0  # the bank's rule: outflows of this much are nearly always flagged
_HIGH_SEVERITY_AMOUNT = 500_000.0
_LEAVE_RATE = 0.006  # baseline exits of mass clients
_CLOSED_ROW_SHARE = 0.75  # leavers exported once more as 'closed'; the rest just go missing
_AWAY_RATE = 0.001  # clients missing from the export for 1-3 months, then back
_QUIET_RATE = 0.006  # an active client stops transacting
_REACTIVATION_RATE = 0.06  # a quiet client starts again
_DORMANT_AFTER = 6  # months without transactions
_SLOWDOWN_RATE = 0.01  # an active client starts trading far less for a few months ...
_SLOWDOWN_LEAVING_RATE = 0.3  # ... and far more often in the months before it leaves
_MIX_REVIEW_RATE = 0.015  # clients re-arranging which products they hold
_PENDING_WINDOW = 45  # days before "today" in which most cases are still open
_MATURITY_LOOKAHEAD = 3  # months after end_month with maturities
_NEVER = np.iinfo(np.int16).max


# --- Public entry point -----------------------------------------------------------------------

def generate_delivery(out_dir: Path, *, clients: int = 200_000, months: int = 36,
                      branches: int = 60, seed: int = 7, end_month: str = "2026-10",
                      progress: Callable[[int], None] | None = None) -> Path:
    """Write a delivery folder in the data-contract format; return out_dir.

    ``clients`` is the number present in the first month (new clients come on top), ``months``
    the number of monthly snapshots ending with ``end_month`` ('YYYY-MM'), ``branches`` at most
    792. ``progress(1)`` is called once per simulated month and once per other file written,
    :func:`progress_total` times in all.
    """
    _check_sizes(clients, months, branches)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tick = progress or (lambda _units: None)
    # The slowdowns have their own stream (added later), so every other draw is as before.
    sim_rng, personal_rng, slowdown_rng = np.random.default_rng(seed).spawn(3)

    calendar = _make_calendar(end_month, months)
    branch_table = _make_branches(sim_rng, branches)
    _write_csv(out_dir / "branches.csv", _branch_frame(branch_table))
    tick(1)

    sim = _Simulation(sim_rng, calendar, branch_table, clients, out_dir, slowdown_rng)
    _write_csv(out_dir / "managers.csv", _manager_frame(sim.managers, branch_table, personal_rng))
    tick(1)
    for t in range(months):
        sim.run_month(t)
        tick(1)
    for ledger in sim.ledgers.values():
        ledger.close()
        tick(1)
    _write_clients(out_dir / "clients.csv", sim, personal_rng)
    tick(1)
    return out_dir


def _check_sizes(clients: int, months: int, branches: int) -> None:
    if clients < 1 or months < 1:
        raise ValueError("clients and months must be at least 1")
    if not 1 <= branches <= _MAX_BRANCHES_PER_CITY * len(_CITIES):
        raise ValueError(f"branches must be between 1 and {_MAX_BRANCHES_PER_CITY * len(_CITIES)}")


# --- Calendar ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Calendar:
    labels: list[str]  # 'YYYY-MM' of each simulated month
    first_day: np.ndarray  # days since 1970-01-01, simulated months plus the look-ahead
    last_day: np.ndarray
    month_of_year: np.ndarray
    weak: np.ndarray  # bool per simulated month: the weak-market stretch
    today: int  # last day of end_month: the delivery's "as of" date

    def days(self, t: int) -> int:
        return int(self.last_day[t] - self.first_day[t] + 1)


def _make_calendar(end_month: str, months: int) -> _Calendar:
    end = np.datetime64(end_month, "M")
    month = end - np.arange(months - 1, -_MATURITY_LOOKAHEAD - 1, -1)
    first = month.astype("datetime64[D]").astype(np.int64)
    last = (month + 1).astype("datetime64[D]").astype(np.int64) - 1
    # A weak stretch of 3-8 months in the middle: the story executives should find.
    length = min(max(3, months // 6), 8, months - 1)
    start = (months - length) // 2
    weak = np.zeros(months, dtype=bool)
    weak[start:start + length] = True
    return _Calendar(labels=[str(m) for m in month[:months]], first_day=first, last_day=last,
                     month_of_year=month.astype(np.int64) % 12 + 1, weak=weak,
                     today=int(last[months - 1]))


# --- Branches and managers --------------------------------------------------------------------

@dataclass(frozen=True)
class _Branches:
    ids: list[str]
    names: list[str]
    city: np.ndarray  # index into _CITIES
    size: np.ndarray  # share of the starting clients
    pull: np.ndarray  # share of new clients: size tilted towards growing branches
    drift: np.ndarray  # monthly log-AUM drift
    quality: np.ndarray  # 0..1 retention quality: coverage, speed and success of cases
    wealth: np.ndarray  # log-AUM offset of the neighbourhood


def _make_branches(rng: np.random.Generator, count: int) -> _Branches:
    per_city = _largest_remainder(count, _CITY_SHARE)
    ids, names, city = [], [], []
    for c, (code, _parent, _region, _area, districts) in enumerate(_CITIES):
        for k in range(per_city[c]):
            ordinal = k // len(districts)
            suffix = _ORDINALS[ordinal] if ordinal < len(_ORDINALS) else f"第{ordinal + 1}"
            ids.append(f"{code}{k + 1:02d}")
            names.append(f"{districts[k % len(districts)]}{suffix}支行")
            city.append(c)
    size = (rng.permutation(count) + 1.0) ** -0.6  # Zipf-like, big branches anywhere
    size /= size.sum()
    drift = rng.normal(0.002, 0.004, count)
    pull = size * np.exp(60 * drift)
    return _Branches(ids=ids, names=names, city=np.array(city), size=size,
                     pull=pull / pull.sum(), drift=drift, quality=rng.beta(4, 3, count),
                     wealth=rng.normal(0, 0.3, count))


def _largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    raw = total * shares / shares.sum()
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:total - counts.sum()]] += 1
    return counts


@dataclass(frozen=True)
class _Managers:
    ids: list[str]
    branch: np.ndarray
    role: np.ndarray  # index into _MANAGER_ROLES
    upper: np.ndarray  # branch + cumulative book weight within it, for weighted picking

    def pick(self, rng: np.random.Generator, branch: np.ndarray) -> np.ndarray:
        """A manager of each given branch, bigger books more likely (books grow unevenly)."""
        return np.searchsorted(self.upper, branch + rng.random(len(branch)), side="right")


def _make_managers(rng: np.random.Generator, branches: _Branches,
                   gold_per_branch: np.ndarray) -> _Managers:
    ids, branch, role, upper = [], [], [], []
    for b, bid in enumerate(branches.ids):
        count = max(1, round(gold_per_branch[b] / _BOOK_TARGET))
        # Uneven books: some managers end up well above the 250-client guideline.
        weights = rng.dirichlet(np.full(count, 5.0))
        roles = rng.choice(len(_MANAGER_ROLES), count, p=_MANAGER_ROLE_SHARE)
        roles[0] = 0  # every branch has a wealth manager
        ids += [f"M{bid}-{k + 1:02d}" for k in range(count)]
        branch += [b] * count
        role += roles.tolist()
        cumulative = np.cumsum(weights)
        cumulative[-1] = 1.0
        upper += (b + cumulative).tolist()
    return _Managers(ids=ids, branch=np.array(branch), role=np.array(role),
                     upper=np.array(upper))


# --- The simulation ---------------------------------------------------------------------------

class _Simulation:
    """Per-client state in flat arrays, advanced one month at a time.

    Client slots are ordered by account opening (the starting clients, then each month's new
    clients), so the clients known in month t are a prefix of every array and ids increase
    with opening date.
    """

    def __init__(self, rng: np.random.Generator, calendar: _Calendar, branches: _Branches,
                 clients: int, out_dir: Path, slowdown_rng: np.random.Generator):
        self.rng, self.cal, self.br, self.out_dir = rng, calendar, branches, out_dir
        self.slowdown_rng = slowdown_rng
        months = len(calendar.labels)
        season = np.array([_NEW_CLIENT_SEASON.get(int(m), 1.0)
                           for m in calendar.month_of_year[1:months]])
        new = rng.poisson(clients * _NEW_CLIENT_RATE * season)
        self.known = np.concatenate([[clients], clients + np.cumsum(new)]).astype(np.int64)
        self.market = np.where(calendar.weak, rng.normal(-0.03, 0.012, months),
                               rng.normal(0.004, 0.012, months))
        self.fx = rng.normal(0.0, 0.01, months)
        self._allocate(int(self.known[-1]))
        self._seed_clients(0, slice(0, clients))
        gold = self.aum[:clients] >= _GOLD
        self.managers = _make_managers(
            rng, branches, np.bincount(self.branch[:clients][gold], minlength=len(branches.ids)))
        self._assign_managers(np.arange(clients), entry=True)
        self.ledgers = {
            "warnings": _CsvSink(out_dir / "warnings.csv", WARNING_COLUMNS),
            "cases": _CsvSink(out_dir / "retention_cases.csv", CASE_COLUMNS),
            "maturities": _CsvSink(out_dir / "maturities.csv", MATURITY_COLUMNS),
        }

    def _allocate(self, slots: int) -> None:
        ids = 302_000_000_000 + np.cumsum(self.rng.integers(1, 10, slots))
        self.client_ids = pl.Series(ids).cast(pl.String)
        self.branch = np.zeros(slots, np.int16)
        self.manager = np.full(slots, -1, np.int32)
        self.gender = np.zeros(slots, np.int8)
        self.birth_day = np.zeros(slots, np.int32)
        self.open_day = np.zeros(slots, np.int32)
        self.segment = np.zeros(slots, np.int8)
        self.risk = np.zeros(slots, np.int8)
        self.pref = np.zeros(slots, np.int8)
        self.extra_product = np.zeros(slots, np.int8)  # card, gold, ... counted in products_held
        self.fx_share = np.zeros(slots, np.float32)
        self.activity = np.zeros(slots, np.float32)  # expected transactions per month
        self.potential = np.zeros(slots)  # log-AUM the client drifts towards
        self.aum = np.zeros(slots)
        self.prev_aum = np.zeros(slots)
        self.mix = np.zeros((slots, len(_PARTS)), np.float32)
        self.loans = np.zeros(slots)
        self.back_next = np.zeros(slots)  # scheduled change of AUM next month (recovery or fall)
        self.back_later = np.zeros(slots)  # ... and the month after
        self.leave_at = np.full(slots, _NEVER, np.int16)
        self.away_until = np.zeros(slots, np.int16)
        self.alive = np.zeros(slots, bool)
        self.quiet = np.zeros(slots, bool)
        self.zero_months = np.zeros(slots, np.int16)  # consecutive months without transactions
        self.last_txn = np.full(slots, -1, np.int32)  # day; -1 = never
        self.matured = np.zeros(slots, bool)  # a product matured this month
        self.slowdown = np.ones(slots, np.float32)  # share of its trades a slowing client keeps
        self.slowdown_left = np.zeros(slots, np.int16)  # months the slowdown still lasts

    # -- new clients

    def _seed_clients(self, t: int, rows: slice) -> None:
        rng, cal, br = self.rng, self.cal, self.br
        n = rows.stop - rows.start
        new = t > 0
        branch = rng.choice(len(br.ids), n, p=br.pull if new else br.size)
        drawn = rng.normal(35, 11, n) if new else rng.normal(47, 14, n)
        # Ages clipped to a bound would all share one birthday: spread them over the year
        # inside the bound by how far past it they were drawn (no extra random draw).
        age = np.where(drawn < 18, 18 + np.mod(18 - drawn, 1.0),
                       np.where(drawn > 88, 88 - np.mod(drawn - 88, 1.0), drawn))
        birth = (cal.first_day[t] - age * 365.25).astype(np.int64)
        if new:
            opened = cal.first_day[t] + rng.integers(0, cal.days(t), n)
        else:
            # Mostly relationships of a few years; some since the core system began ~30 years ago.
            years = np.minimum(rng.exponential(7, n) + 0.1,
                               np.minimum(age - 18, 30) * rng.uniform(0.3, 1.0, n))
            opened = cal.first_day[0] - 1 - (years * 365.25).astype(np.int64)
        order = np.argsort(opened, kind="stable")  # ids follow opening dates
        branch, age, birth, opened = branch[order], age[order], birth[order], opened[order]

        self.alive[rows] = True
        self.branch[rows] = branch
        self.birth_day[rows] = birth
        self.open_day[rows] = opened
        self.gender[rows] = rng.random(n) < 0.5
        segment = _pick_rows(rng, _segment_weights(age))
        self.segment[rows] = segment
        self.risk[rows] = _pick_rows(rng, _risk_weights(age))
        self.pref[rows] = _pick_rows(rng, _PREF_BY_SEGMENT[segment])
        self.extra_product[rows] = rng.random(n) < 0.4
        self.fx_share[rows] = np.where(rng.random(n) < 0.03, rng.uniform(0.1, 0.5, n), 0.0)
        young_or_fee = (age < 40) | (self.pref[rows] == 2)
        self.activity[rows] = np.maximum(0.3, rng.lognormal(np.log(3), 0.8, n)
                                         * np.where(young_or_fee, 1.4, 1.0))

        lift = (_SEGMENT_WEALTH[segment] + 0.02 * (age - 45) + br.wealth[branch])
        potential = _LOG_MEDIAN_AUM + lift + rng.normal(0, _AUM_SIGMA, n)
        self.potential[rows] = potential
        # Established clients sit near their potential; new ones start lower and ramp up.
        start = potential - (rng.uniform(0.3, 2.5, n) if new else rng.normal(0, 0.3, n))
        aum = np.exp(start)
        self.aum[rows] = aum
        self.mix[rows] = _draw_mix(rng, self.pref[rows], self.risk[rows], aum)
        self.loans[rows] = _draw_loans(rng, self.pref[rows], potential)
        if new:
            self._assign_managers(np.arange(rows.start, rows.stop), entry=True)
        else:
            self._seed_history(rows, opened)

    def _seed_history(self, rows: slice, opened: np.ndarray) -> None:
        """The month before the first: AUM a little different, most clients active, some quiet."""
        rng, start = self.rng, self.cal.first_day[0]
        n = len(opened)
        self.prev_aum[rows] = self.aum[rows] * np.exp(rng.normal(0, 0.05, n))
        quiet = rng.random(n) < 0.09
        months_quiet = np.where(quiet, rng.integers(1, 31, n), 0)
        last = start - 1 - (months_quiet * 30.44).astype(np.int64) - rng.integers(0, 28, n)
        self.quiet[rows] = quiet
        self.zero_months[rows] = months_quiet
        self.last_txn[rows] = np.where(last >= opened, last, -1)

    def _assign_managers(self, idx: np.ndarray, *, entry: bool) -> None:
        """Give unassigned clients a manager: nearly all gold-and-above, a few smaller ones.

        At entry most gold-and-above clients get one at once; later, clients who grew into gold
        wait a month or two, which leaves a few percent unassigned at any time.
        """
        aum = self.aum[idx]
        if entry:
            chance = np.select([aum >= _GOLD, aum >= 20_000], [0.95, 0.35], 0.03)
        else:
            chance = np.where((aum >= _GOLD) & (self.manager[idx] < 0), 0.2, 0.0)
        chosen = idx[self.rng.random(len(idx)) < chance]
        self.manager[chosen] = self.managers.pick(self.rng, self.branch[chosen])

    # -- one month

    def run_month(self, t: int) -> None:
        """Simulate month t and write its snapshot; ledgers get this month's rows."""
        known_before = int(self.known[t - 1]) if t else 0
        n = int(self.known[t])
        leaving = np.zeros(n, bool)
        if t:
            self._evolve(t, known_before)
            self._large_outflows(t, known_before)
            leaving[:known_before] = self._exits(t, known_before)
            self._seed_clients(t, slice(known_before, n))
        present = self._here(t, n)
        closing = leaving & present & (self.rng.random(n) < _CLOSED_ROW_SHARE)
        present &= ~leaving | closing
        rows = np.flatnonzero(present)
        closed = closing[rows]
        new = (rows >= known_before) & (t > 0)
        self._other_warnings(t, rows[~closed])
        txn = self._activity(t, rows, closed, new)
        frame = self._snapshot(t, rows, closed, new, txn)
        frame.write_parquet(self.out_dir / f"snapshots_{self.cal.labels[t]}.parquet",
                            compression="zstd")
        self._maturities(t, rows[~closed], frame.filter(pl.col("status") != "closed"))
        self.alive[:n] &= ~leaving

    def _here(self, t: int, known: int) -> np.ndarray:
        """Mask of the first ``known`` slots: clients with an account and not missing in t."""
        return self.alive[:known] & (self.away_until[:known] <= t)

    def _evolve(self, t: int, known: int) -> None:
        """Month-on-month AUM: scheduled recoveries, random walk, occasional windfalls."""
        rng = self.rng
        live = np.flatnonzero(self._here(t, known))
        self.prev_aum[live] = self.aum[live]
        self._shift_aum(live, self.back_next[live])
        self.back_next[live] = self.back_later[live]
        self.back_later[live] = 0.0

        mix = self.mix[live]
        risky = mix[:, _RISKY_PARTS].sum(axis=1)
        beta = 0.15 + 1.5 * risky + 0.2 * mix[:, 1]
        shock = (self.br.drift[self.branch[live]] + beta * self.market[t]
                 + self.fx_share[live] * self.fx[t]
                 + _AUM_SEASON.get(int(self.cal.month_of_year[t]), 0.0))
        x = np.log(np.maximum(self.aum[live], 1.0))
        noise = rng.normal(0, 1, len(live)) * (0.04 + 0.12 * risky)
        x += _REVERSION * (self.potential[live] - x) + shock + noise
        self.potential[live] += shock
        self.aum[live] = np.exp(x)

        windfall = live[rng.random(len(live)) < 0.004]  # bonus, property sale, inheritance
        self._shift_aum(windfall, self.aum[windfall] * rng.uniform(0.5, 3.0, len(windfall)))
        self.loans[live] *= 0.994  # amortisation

    def _shift_aum(self, idx: np.ndarray, delta: np.ndarray) -> None:
        """A lasting change of level: the potential moves along, so it does not revert."""
        old = self.aum[idx]
        new = np.maximum(old + delta, 0.0)
        self.potential[idx] += np.log(np.maximum(new, 1.0) / np.maximum(old, 1.0))
        self.aum[idx] = new

    def _large_outflows(self, t: int, known: int) -> None:
        """Clients losing 35-90% of AUM; warnings, retention cases and what happens next."""
        rng, cal, br = self.rng, self.cal, self.br
        # Not for clients already on their way out or waiting for money to come back.
        idx = np.flatnonzero(self._here(t, known) & (self.aum[:known] >= _OUTFLOW_FLOOR)
                            & (self.leave_at[:known] == _NEVER) & (self.back_next[:known] == 0))
        rate = (_OUTFLOW_RATE * (2.5 if cal.weak[t] else 1.0)
                * (1 + 2 * self.matured[idx]) * (1.3 - 0.6 * br.quality[self.branch[idx]]))
        idx = idx[rng.random(len(idx)) < rate]
        n = len(idx)
        share = rng.uniform(0.35, 0.9, n)
        amount = np.round(self.aum[idx] * share, 2)
        self._shift_aum(idx, -amount)

        warned = rng.random(n) < np.where(amount >= _WARNING_AMOUNT, 0.92, 0.55)
        raised_on = cal.first_day[t] + rng.integers(0, cal.days(t), n)
        quality = br.quality[self.branch[idx]]
        covered = warned & (rng.random(n) < 0.5 + 0.45 * quality)
        opened_on = raised_on + rng.integers(0, 6, n)
        covered &= opened_on <= cal.today  # not opened yet on the delivery date
        warning_ids = self._raise_warnings(t, idx[warned], raised_on[warned], amount[warned],
                                           share[warned])
        case_warning = pl.Series(warning_ids).filter(pl.Series(covered[warned]))
        retained = self._open_cases(t, idx[covered], amount[covered], opened_on[covered],
                                     case_warning)
        self._schedule_fates(t, idx, amount, covered, retained)

    def _raise_warnings(self, t: int, idx: np.ndarray, raised_on: np.ndarray,
                        amount: np.ndarray, share: np.ndarray) -> pl.Series:
        ids = _numbered(f"W{self.cal.labels[t].replace('-', '')}", len(idx))
        pct = pl.Series(np.round(share * 100).astype(np.int64)).cast(pl.String)
        self.ledgers["warnings"].append(pl.DataFrame({
            "warning_id": ids,
            "client_id": self.client_ids.gather(idx),
            "raised_on": _dates(raised_on),
            "rule": pl.repeat("large_outflow", len(idx), eager=True),
            "severity": np.where(amount >= _HIGH_SEVERITY_AMOUNT, "high", "medium"),
            "amount": amount,
            "note": "资产较上月减少" + pct + "%",
        }))
        return ids

    def _open_cases(self, t: int, idx: np.ndarray, amount: np.ndarray, opened_on: np.ndarray,
                    warning_ids: pl.Series) -> np.ndarray:
        """Work this month's retention cases and log them; return who is in truth retained.

        The truth drives later AUM even while the ledger still says pending.
        """
        rng, cal, br = self.rng, self.cal, self.br
        n = len(idx)
        branch = self.branch[idx]
        quality = br.quality[branch]
        has_loan = self.loans[idx] > 0
        case_type = _pick_rows(rng, np.where(has_loan[:, None], [0.62, 0.10, 0.20, 0.08],
                                             [0.75, 0.14, 0.0, 0.11]))
        channel = _pick_rows(rng, np.where((amount >= _HIGH_SEVERITY_AMOUNT)[:, None],
                                           _CHANNEL_SHARE_LARGE, _CHANNEL_SHARE_SMALL))
        reason_share = _REASON_SHARE.copy()
        if cal.weak[t]:
            reason_share[_REASONS.index("market")] *= _WEAK_MARKET_REASON_BOOST
        reason = rng.choice(len(_REASONS), n, p=reason_share / reason_share.sum())
        measure = _pick_rows(rng, _MEASURE_BY_REASON[reason])
        # Good branches call the same day; weak ones take up to three days.
        contact_delay = rng.binomial(3, 1 - quality)
        first_contact = opened_on + contact_delay
        closed_on = first_contact + rng.integers(5, 41, n)
        logit = (-0.3 + 2.5 * (quality - 0.5) + _CHANNEL_EFFECT[channel]
                 + _MEASURE_EFFECT[measure] + _REASON_EFFECT[reason] - 0.15 * contact_delay)
        retained = rng.random(n) < 1 / (1 + np.exp(-logit))
        pending = (closed_on > cal.today) | ((opened_on > cal.today - _PENDING_WINDOW)
                                             & (rng.random(n) < 0.7))
        outcome = np.where(pending, "pending", np.where(retained, "retained", "lost"))

        recovered = np.round(amount * rng.uniform(0.7, 1.0, n), 2)
        self._plan_recovery(idx[retained], recovered[retained])
        prepaid = idx[case_type == _LOAN_PREPAYMENT]
        self.loans[prepaid] = np.maximum(
            0.0, self.loans[prepaid] - amount[case_type == _LOAN_PREPAYMENT])
        role, handler = self._handlers(idx, case_type)

        kept = np.where(retained, recovered, 0.0)
        self.ledgers["cases"].append(pl.DataFrame({
            "case_id": _numbered(f"R{cal.labels[t].replace('-', '')}", n),
            "client_id": self.client_ids.gather(idx),
            "branch_id": _labels(br.ids, branch),
            "opened_on": _dates(opened_on),
            "outcome": outcome,
            "closed_on": _dates(closed_on, missing=pending),
            "first_contact_on": _dates(first_contact, missing=rng.random(n) < 0.03),
            "handler_id": handler,
            "handler_role": _labels(_HANDLER_ROLES, role),
            "case_type": _labels(_CASE_TYPES, case_type),
            "channel": _labels(_CHANNELS, channel),
            "reason": _labels(_REASONS, reason),
            "measure": _labels(_MEASURES, measure),
            # A few amounts left empty, as in real ledgers ("missing amounts count as 0").
            "aum_at_stake": _with_missing(amount, rng.random(n) < 0.03),
            "aum_kept": _with_missing(kept, pending | (rng.random(n) < 0.03)),
            "warning_id": warning_ids,
        }))
        return retained

    def _handlers(self, idx: np.ndarray, case_type: np.ndarray) -> tuple[np.ndarray, pl.Series]:
        """Who worked the case: the client's own manager mostly, else lobby or central desk."""
        rng, n = self.rng, len(idx)
        manager = self.manager[idx]
        own_role = np.where(self.managers.role[np.maximum(manager, 0)] == 1, _CLIENT_MGR,
                            _WEALTH_MGR)
        draw = rng.random(n)
        role = np.where(manager >= 0,
                        np.select([draw < 0.70, draw < 0.88], [own_role, _LOBBY], _CENTRAL),
                        np.where(draw < 0.6, _LOBBY, _CENTRAL))
        role = np.where((case_type == _LOAN_PREPAYMENT) & (rng.random(n) < 0.7), _LOAN_SUPPORT,
                        role)
        branch_ids = _labels(self.br.ids, self.branch[idx])
        city_codes = _labels([c[0] for c in _CITIES], self.br.city[self.branch[idx]])
        desk = pl.Series(rng.integers(1, 3, n)).cast(pl.String)
        staff = pl.DataFrame({"role": role, "branch": branch_ids, "city": city_codes,
                              "desk": desk, "manager": _labels(self.managers.ids, manager)})
        handler = staff.select(
            pl.when(pl.col("role") == _LOBBY).then("L" + pl.col("branch") + "-" + pl.col("desk"))
            .when(pl.col("role") == _LOAN_SUPPORT)
            .then("D" + pl.col("branch") + "-" + pl.col("desk"))
            .when(pl.col("role") == _CENTRAL).then("Z" + pl.col("city") + "-0" + pl.col("desk"))
            .otherwise(pl.col("manager"))).to_series()
        return role, handler

    def _plan_recovery(self, idx: np.ndarray, recovered: np.ndarray) -> None:
        """Retained money comes back next month, or half next month and half the month after."""
        split = self.rng.random(len(idx)) < 0.4
        self.back_next[idx] = np.where(split, recovered / 2, recovered)
        self.back_later[idx] = np.where(split, recovered / 2, 0.0)

    def _schedule_fates(self, t: int, idx: np.ndarray, amount: np.ndarray,
                        covered: np.ndarray, retained: np.ndarray) -> None:
        """Lost clients mostly leave within three months; clients nobody called may drift back."""
        rng, n = self.rng, len(idx)
        lost = np.zeros(n, bool)
        lost[np.flatnonzero(covered)[~retained]] = True
        draw = rng.random(n)
        # Uncovered clients: 35% leave, 20% bring part of the money back, the rest stay lower.
        leaves = np.where(lost, draw < 0.7, ~covered & (draw < 0.35))
        self.leave_at[idx[leaves]] = t + rng.integers(1, 4, leaves.sum())
        falls = lost & ~leaves
        self.back_next[idx[falls]] = -self.aum[idx[falls]] * rng.uniform(0.3, 0.7, falls.sum())
        drifts_back = ~covered & ~leaves & (draw < 0.55)
        self.back_next[idx[drifts_back]] = amount[drifts_back] * rng.uniform(
            0.3, 0.8, drifts_back.sum())

    def _exits(self, t: int, known: int) -> np.ndarray:
        """Who leaves this month (scheduled after an outflow, or small clients drifting off)."""
        rng, br = self.rng, self.br
        here = self._here(t, known)
        aum = self.aum[:known]
        tier_factor = np.select([aum < _GOLD, aum < _WARNING_AMOUNT], [1.0, 0.3], 0.0)
        rate = (_LEAVE_RATE * tier_factor
                * np.where(self.zero_months[:known] >= _DORMANT_AFTER, 2.5, 1.0)
                * (1.3 - 0.6 * br.quality[self.branch[:known]])
                * (1.4 if self.cal.weak[t] else 1.0))
        # Clients waiting for retained money, or already leaving, take no other exit.
        calm = (self.back_next[:known] <= 0) & (self.leave_at[:known] == _NEVER)
        leaving = here & ((self.leave_at[:known] == t) | (calm & (rng.random(known) < rate)))
        away = here & calm & ~leaving & (rng.random(known) < _AWAY_RATE)
        self.away_until[:known][away] = t + rng.integers(1, 4, away.sum())
        return leaving

    # -- transactions, holdings and the snapshot

    def _transactions(self, t: int, rows: np.ndarray, new: np.ndarray) -> np.ndarray:
        """Monthly transaction count; updates quiet spells, dormancy counters and last dates."""
        rng, cal = self.rng, self.cal
        n = len(rows)
        quiet = self.quiet[rows]
        aum = self.aum[rows]
        goes_quiet = ~quiet & ~new & (rng.random(n) < _QUIET_RATE * np.where(aum < _GOLD, 1.5,
                                                                             0.5))
        wakes = quiet & (rng.random(n) < _REACTIVATION_RATE)
        quiet = (quiet | goes_quiet) & ~wakes
        self.quiet[rows] = quiet
        activity = self.activity[rows] * (0.8 if cal.weak[t] else 1.0)
        txn = np.where(quiet, 0, rng.poisson(activity))
        # Waking up often comes with a new product (one of the five activation signals).
        self._review_mix(rows[wakes & (txn > 0)])

        start = np.maximum(cal.first_day[t], self.open_day[rows])
        span = cal.last_day[t] - start + 1
        last = start + (span * rng.random(n) ** (1 / np.maximum(txn, 1))).astype(np.int64)
        self.last_txn[rows] = np.where(txn > 0, last, self.last_txn[rows])
        self.zero_months[rows] = np.where(txn > 0, 0, self.zero_months[rows] + 1)
        return txn

    def _review_mix(self, idx: np.ndarray) -> None:
        self.mix[idx] = _draw_mix(self.rng, self.pref[idx], self.risk[idx], self.aum[idx])

    def _activity(self, t: int, rows: np.ndarray, closed: np.ndarray,
                  new: np.ndarray) -> np.ndarray:
        """Month-end bookkeeping of the rows exported for t; returns their transaction counts.

        Product reviews and manager catch-up for open accounts; a closing account's last
        transaction is the transfer out, and its loans are settled.
        """
        rng, cal = self.rng, self.cal
        active = rows[~closed]
        self._review_mix(active[rng.random(len(active)) < _MIX_REVIEW_RATE])
        if t:
            self._assign_managers(active, entry=False)
        txn = np.zeros(len(rows), np.int64)
        txn[~closed] = self._slow_down(active, self._transactions(t, active, new[~closed]))
        txn[closed] = 1 + rng.poisson(0.5, closed.sum())
        self.last_txn[rows[closed]] = cal.first_day[t] + rng.integers(0, cal.days(t),
                                                                      closed.sum())
        self.loans[rows[closed]] = 0.0
        return txn

    def _slow_down(self, idx: np.ndarray, txn: np.ndarray) -> np.ndarray:
        """Clients trading far less for 2-8 months keep 5-40% of their transactions (never
        none: going quiet is the dormancy story). Drawn from a stream of its own, after the
        month's transactions, so the rest of the simulation draws exactly as without it."""
        rng, n = self.slowdown_rng, len(idx)
        leaving = self.leave_at[idx] != _NEVER
        starts = idx[(self.slowdown_left[idx] == 0) & (rng.random(n) < np.where(
            leaving, _SLOWDOWN_LEAVING_RATE, _SLOWDOWN_RATE))]
        self.slowdown[starts] = rng.uniform(0.05, 0.4, len(starts))
        self.slowdown_left[starts] = rng.integers(2, 9, len(starts))
        kept = np.where(txn > 0, np.maximum(1, rng.binomial(txn, self.slowdown[idx])), 0)
        self.slowdown_left[idx] = np.maximum(self.slowdown_left[idx] - 1, 0)
        self.slowdown[idx[self.slowdown_left[idx] == 0]] = 1.0
        return kept

    def _snapshot(self, t: int, rows: np.ndarray, closed: np.ndarray, new: np.ndarray,
                  txn: np.ndarray) -> pl.DataFrame:
        """The month's snapshot rows, in client id order."""
        rng, cal = self.rng, self.cal
        n = len(rows)
        aum = self.aum[rows].copy()
        prev = self.prev_aum[rows]
        # Month average: between last month-end and this one; new accounts were open part-month.
        aum_avg = np.where(new, aum * rng.uniform(0.2, 0.9, n),
                           (prev + aum) / 2 * np.exp(rng.normal(0, 0.03, n)))
        status = np.where(self.zero_months[rows] >= _DORMANT_AFTER, _DORMANT, _NORMAL)

        # Closing: the rest is transferred out, leaving nothing or a few yuan.
        turnover_closing = aum[closed]
        tiny = rng.random(n) < 0.25
        aum[closed] = np.where(tiny[closed], rng.uniform(0.01, 50, closed.sum()), 0.0)
        aum_avg[closed] = prev[closed] * rng.uniform(0.05, 0.5, closed.sum())
        status[closed] = _CLOSED

        aum, parts = _split_parts(aum, self.mix[rows])
        loans = np.round(self.loans[rows], 2)
        products = ((parts > 0).sum(axis=1) + (loans > 0) + self.extra_product[rows])
        products = np.where(closed, (aum > 0).astype(np.int64), np.clip(products, 1, 8))
        ticket = 0.06 * np.maximum(aum, 1000.0) ** 0.95 * rng.lognormal(0, 0.7, n)
        turnover = txn * np.maximum(ticket, 50.0)
        turnover[closed] = turnover_closing
        fee = (parts[:, 1] * 0.004 + parts[:, 2] * 0.008 + parts[:, 3] * 0.01
               + parts[:, 4] * 0.002) / 12 + turnover * 0.0005

        last_txn = self.last_txn[rows]
        return pl.DataFrame({
            "snapshot_month": pl.repeat(cal.labels[t], n, eager=True),
            "client_id": self.client_ids.gather(rows),
            "aum": aum,
            "branch_id": _labels(self.br.ids, self.branch[rows]),
            "manager_id": _labels(self.managers.ids, self.manager[rows]),
            "aum_avg": np.round(aum_avg, 2),
            **{name: parts[:, k] for k, name in enumerate(_PARTS)},
            "loans": loans,
            "products_held": products.astype(np.int32),
            "txn_count": txn.astype(np.int32),
            "turnover": np.round(turnover, 2),
            "fee_income": np.round(fee, 2),
            "last_txn_date": _dates(last_txn, missing=last_txn < 0).cast(pl.String),
            "status": _labels(_STATUSES, status),
        })

    def _other_warnings(self, t: int, rows: np.ndarray) -> None:
        """A handful of alerts from other bank rules (the app derives the standard ones)."""
        rng, cal = self.rng, self.cal
        idx = rows[rng.random(len(rows)) < 0.0002]
        n = len(idx)
        self.ledgers["warnings"].append(pl.DataFrame({
            "warning_id": _numbered(f"X{cal.labels[t].replace('-', '')}", n),
            "client_id": self.client_ids.gather(idx),
            "raised_on": _dates(cal.first_day[t] + rng.integers(0, cal.days(t), n)),
            "rule": pl.repeat("other", n, eager=True),
            "severity": pl.repeat("low", n, eager=True),
            "amount": pl.repeat(None, n, dtype=pl.Float64, eager=True),
            "note": _labels(_OTHER_WARNING_NOTES, rng.integers(0, len(_OTHER_WARNING_NOTES), n)),
        }))

    def _maturities(self, t: int, rows: np.ndarray, snapshot: pl.DataFrame) -> None:
        """Products maturing this month, plus the look-ahead months after the last snapshot."""
        months_ahead = range(_MATURITY_LOOKAHEAD + 1) if t == len(self.cal.labels) - 1 else [0]
        holdings = snapshot.select(_PARTS).to_numpy()
        self.matured[:] = False
        for ahead in months_ahead:
            self._maturities_in(t + ahead, rows, holdings, record=ahead == 0)

    def _maturities_in(self, m: int, rows: np.ndarray, holdings: np.ndarray,
                       record: bool) -> None:
        rng, cal = self.rng, self.cal
        frames = []
        for product, part, rate, least in _MATURING_PRODUCTS:
            held = holdings[:, part]
            due = np.flatnonzero((held >= 1000) & (rng.random(len(rows)) < rate))
            # Floor to the cent so the amount never exceeds the holding it comes from.
            amount = np.floor(held[due] * rng.uniform(least, 1.0, len(due)) * 100) / 100
            if record:
                self.matured[rows[due]] = True
            frames.append(pl.DataFrame({
                "client_id": self.client_ids.gather(rows[due]),
                "product_type": pl.repeat(product, len(due), eager=True),
                "amount": amount,
                "maturity_date": _dates(cal.first_day[m] + rng.integers(
                    0, cal.last_day[m] - cal.first_day[m] + 1, len(due))),
            }))
        self.ledgers["maturities"].append(pl.concat(frames).sort("maturity_date",
                                                                 maintain_order=True))



# --- Client attributes --------------------------------------------------------------------------

_SEGMENT_WEALTH = np.array([0.0, 0.9, 0.5, 0.4, -1.2])
# Segment -> preference type (deposit_led, loan_led, fee_led, balanced).
_PREF_BY_SEGMENT = np.array([[0.35, 0.20, 0.20, 0.25],
                             [0.15, 0.35, 0.20, 0.30],
                             [0.20, 0.15, 0.35, 0.30],
                             [0.60, 0.03, 0.20, 0.17],
                             [0.50, 0.05, 0.25, 0.20]])


def _segment_weights(age: np.ndarray) -> np.ndarray:
    """Per client: weights of salaried, business owner, professional, retiree, student."""
    return np.select(
        [age[:, None] >= 60, age[:, None] < 23],
        [[0.10, 0.10, 0.05, 0.75, 0.0], [0.30, 0.05, 0.05, 0.0, 0.60]],
        np.array([[0.55, 0.22, 0.20, 0.0, 0.03]]))


def _risk_weights(age: np.ndarray) -> np.ndarray:
    """Per client: weights of the five risk profiles; older clients are more conservative."""
    return np.select([age[:, None] >= 60, age[:, None] < 35],
                     [[0.35, 0.35, 0.20, 0.07, 0.03], [0.08, 0.20, 0.32, 0.25, 0.15]],
                     np.array([[0.15, 0.30, 0.30, 0.17, 0.08]]))


def _draw_mix(rng: np.random.Generator, pref: np.ndarray, risk: np.ndarray,
              aum: np.ndarray) -> np.ndarray:
    """Shares of AUM per part: richer clients hold more product types, chosen by preference."""
    n = len(pref)
    kinds = np.clip(np.rint(1 + 0.9 * (np.log10(np.maximum(aum, 1)) - 3.2)
                            + rng.normal(0, 0.6, n)), 1, 6).astype(np.int64)
    appetite = _RISK_APPETITE[risk]
    take_up = _PART_TAKE_UP[pref].copy()
    take_up[:, [1, 4]] *= appetite[:, None]  # funds, securities among the non-deposit parts
    # Weighted choice without replacement: the kinds-1 largest Gumbel-perturbed log weights win.
    keys = np.log(take_up) + rng.gumbel(size=take_up.shape)
    # Held: keys above the kinds-th largest (-inf in front stands for "all five are held").
    ranked = np.column_stack([np.full(n, -np.inf), np.sort(keys, axis=1)])
    cutoff = ranked[np.arange(n), 6 - kinds]
    held = np.column_stack([np.ones(n, bool), keys > cutoff[:, None]])
    weight = _PART_WEIGHT[pref].copy()
    weight[:, _RISKY_PARTS] *= appetite[:, None]
    share = rng.gamma(weight) * held
    share[:, 0] = np.maximum(share[:, 0], 0.02 * share.sum(axis=1))  # some demand deposit
    return (share / share.sum(axis=1, keepdims=True)).astype(np.float32)


def _draw_loans(rng: np.random.Generator, pref: np.ndarray, potential: np.ndarray) -> np.ndarray:
    """Mortgages and business loans: most loan-led clients, some others; not part of AUM."""
    n = len(pref)
    has = rng.random(n) < np.where(pref == 1, 0.85, 0.12)
    size = np.exp(np.log(300_000) + 0.3 * (potential - _LOG_MEDIAN_AUM) + rng.normal(0, 0.8, n))
    return np.where(has, np.round(size, 2), 0.0)


def _split_parts(aum: np.ndarray, mix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUM rounded to cents and its parts, which add up to it exactly in cents.

    Balances under 1,000 RMB are plain demand deposits.
    """
    cents = np.rint(aum * 100).astype(np.int64)
    share = mix.astype(np.float64)
    share[cents < 100_000] = [1, 0, 0, 0, 0, 0]
    share /= share.sum(axis=1, keepdims=True)
    parts = np.floor(cents[:, None] * share).astype(np.int64)
    parts[:, 0] = cents - parts[:, 1:].sum(axis=1)
    return cents / 100, parts / 100


# --- Writing ------------------------------------------------------------------------------------

class _CsvSink:
    """One CSV file written in chunks (header first), so ledgers stream month by month."""

    def __init__(self, path: Path, columns: tuple[str, ...]):
        self._columns = list(columns)
        self._file = open(path, "wb")
        self._file.write((",".join(columns) + "\n").encode())

    def append(self, frame: pl.DataFrame) -> None:
        frame.select(self._columns).write_csv(self._file, include_header=False,
                                              float_precision=2)

    def close(self) -> None:
        self._file.close()


def _write_csv(path: Path, frame: pl.DataFrame) -> None:
    frame.write_csv(path, float_precision=2)


def _branch_frame(br: _Branches) -> pl.DataFrame:
    return pl.DataFrame({
        "branch_id": br.ids,
        "branch_name": br.names,
        "parent_branch": [_CITIES[c][1] for c in br.city],
        "region": [_CITIES[c][2] for c in br.city],
    })


def _manager_frame(managers: _Managers, br: _Branches,
                   rng: np.random.Generator) -> pl.DataFrame:
    n = len(managers.ids)
    return pl.DataFrame({
        "manager_id": managers.ids,
        "manager_name": _names(rng, rng.random(n) < 0.5),
        "branch_id": _labels(br.ids, managers.branch),
        "role": _labels(_MANAGER_ROLES, managers.role),
    })


_CLIENT_CHUNK = 1_000_000


def _write_clients(path: Path, sim: _Simulation, rng: np.random.Generator) -> None:
    """clients.csv in chunks: personal data is made here, only for writing."""
    sink = _CsvSink(path, CLIENT_COLUMNS)
    total = int(sim.known[-1])
    for lo in range(0, total, _CLIENT_CHUNK):
        rows = slice(lo, min(lo + _CLIENT_CHUNK, total))
        n = rows.stop - rows.start
        female = sim.gender[rows].astype(bool)
        birth = sim.birth_day[rows]
        home = np.array([c[3] for c in _CITIES])[sim.br.city[sim.branch[rows]]]
        region = np.where(rng.random(n) < 0.7, home, rng.choice(_OTHER_REGIONS, n))
        phone = rng.choice(_PHONE_PREFIXES, n) * 100_000_000 + rng.integers(0, 100_000_000, n)
        sink.append(pl.DataFrame({
            "client_id": sim.client_ids[rows],
            "name": _names(rng, female),
            "branch_id": _labels(sim.br.ids, sim.branch[rows]),
            "manager_id": _labels(sim.managers.ids, sim.manager[rows]),
            "gender": _labels(_GENDERS, sim.gender[rows]),
            "birth_date": _dates(birth),
            "open_date": _dates(sim.open_day[rows]),
            "segment": _labels(_SEGMENTS, sim.segment[rows]),
            "risk_profile": _labels(_RISK_PROFILES, sim.risk[rows]),
            "preference_type": _labels(_PREFERENCES, sim.pref[rows]),
            "phone": pl.Series(phone).cast(pl.String),
            "id_number": _id_numbers(rng, region, birth, female),
        }))
    sink.close()


# Surname frequency falls with rank: the first few 6-8% each, the hundredth about 0.2%.
_SURNAME_WEIGHT = 1 / (np.arange(len(_SURNAMES)) + 5.0) ** 1.2
_SURNAME_WEIGHT /= _SURNAME_WEIGHT.sum()


def _names(rng: np.random.Generator, female: np.ndarray) -> pl.Series:
    """Surname plus one or two given characters, drawn from gendered character lists."""
    n = len(female)
    surname = _labels(_SURNAMES, rng.choice(len(_SURNAMES), n, p=_SURNAME_WEIGHT))
    given = []
    for _ in range(2):
        male_char = _labels(_GIVEN_MALE, rng.integers(0, len(_GIVEN_MALE), n))
        female_char = _labels(_GIVEN_FEMALE, rng.integers(0, len(_GIVEN_FEMALE), n))
        given.append(female_char.zip_with(pl.Series(female), male_char))
    two_characters = pl.Series(rng.random(n) < 0.7)
    second = given[1].zip_with(two_characters, pl.repeat("", n, eager=True))
    return surname + given[0] + second


_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = tuple("10X98765432")


def _id_numbers(rng: np.random.Generator, region: np.ndarray, birth_day: np.ndarray,
                female: np.ndarray) -> pl.Series:
    """18-character resident ID: region, birth date, sequence (odd for men), check character."""
    day = birth_day.astype("datetime64[D]")
    year = day.astype("datetime64[Y]").astype(np.int64) + 1970
    month = day.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (day - day.astype("datetime64[M]")).astype(np.int64) + 1
    sequence = rng.integers(0, 500, len(day)) * 2 + ~female
    body = (region * 10**11 + (year * 10_000 + month * 100 + dom) * 1_000 + sequence)
    digits = body[:, None] // 10 ** np.arange(16, -1, -1) % 10
    check = _labels(_ID_CHECK, (digits @ _ID_WEIGHTS) % 11)
    return pl.Series(body).cast(pl.String) + check


# --- Small helpers ------------------------------------------------------------------------------

def _pick_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One category per row, each row with its own (unnormalised) weights."""
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(len(cumulative)) * cumulative[:, -1]
    return (u[:, None] >= cumulative).sum(axis=1)


def _labels(values: Sequence[str], codes: np.ndarray) -> pl.Series:
    """Codes to their string labels; negative codes become empty (null)."""
    codes = np.asarray(codes, dtype=np.int64)
    table = pl.Series(list(values) + [None], dtype=pl.String)
    return table.gather(np.where(codes < 0, len(values), codes))


def _dates(days: np.ndarray, missing: np.ndarray | None = None) -> pl.Series:
    """Day numbers (since 1970-01-01) as a date column, written ISO YYYY-MM-DD."""
    return _with_missing(np.asarray(days, dtype=np.int32), missing).cast(pl.Date)


def _with_missing(values: np.ndarray, missing: np.ndarray | None) -> pl.Series:
    return pl.Series(pa.array(values, mask=missing))


def _numbered(prefix: str, count: int) -> pl.Series:
    """Ids like W202406000017: prefix, then a zero-padded running number."""
    return prefix + pl.Series(np.arange(1, count + 1)).cast(pl.String).str.zfill(6)
