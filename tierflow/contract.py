"""The data contract: the tables a bank delivers, their columns, types and aliases.

One definition used by ingest (header matching, parsing, validation), by the demo generator's
tests, and by the lake schema. It mirrors ``shared/DATA_CONTRACT.md``; the README's contract
section is checked against it by ``tests/test_inventory.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Column kinds. Each kind has one parser in ingest.py.
ID = "id"  # identifier kept as text, leading zeros preserved
TEXT = "text"
MONEY = "money"  # RMB yuan, up to 2 decimals, stored as DECIMAL(18,2)
COUNT = "count"  # whole number >= 0
DATE = "date"
MONTH = "month"  # YYYY-MM or any date in the month
ENUM = "enum"


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    kind: str
    required: bool = False
    # For ENUM columns: accepted spellings (lower-cased English codes and Chinese aliases) → code.
    values: dict[str, str] = field(default_factory=dict)
    # For ENUM columns: whether a value outside `values` sets the row aside (True) or is kept
    # as given (False: descriptive codes a bank may extend, such as a new channel).
    strict: bool = False
    # For MONEY columns: whether a negative amount breaks a rule (loans and AUM parts cannot be
    # negative; nothing else here is signed either, but keep the rule explicit).
    non_negative: bool = True
    default: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # Whether several files may deliver this table (read as one table).
    multi_file: bool = False
    # The order its rows are stored in, when not the key's: the column the queries filter a
    # range of first, so that the range reads a row group or two instead of every row.
    stored_order: tuple[str, ...] = ()

    @property
    def sort_by(self) -> list[str]:
        return list(self.stored_order or self.key)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _codes(*codes: str, **aliases: str) -> dict[str, str]:
    """Accepted spellings of an enum: its codes, plus Chinese aliases (alias=code)."""
    mapping = {c: c for c in codes}
    mapping.update(aliases)
    return mapping


STATUS = _codes("normal", "dormant", "closed", 正常="normal", 休眠="dormant", 销户="closed")
OUTCOME = _codes("retained", "lost", "pending", 成功="retained", 失败="lost", 跟进中="pending",
                 挽留成功="retained", 挽留失败="lost")
GENDER = _codes("M", "F", m="M", f="F", 男="M", 女="F")
RISK = _codes("conservative", "steady", "balanced", "growth", "aggressive",
              保守="conservative", 稳健="steady", 平衡="balanced", 成长="growth", 进取="aggressive")
PREFERENCE = _codes("deposit_led", "loan_led", "fee_led", "balanced",
                    存款倚重型="deposit_led", 贷款倚重型="loan_led", 中间业务倚重型="fee_led",
                    综合均衡型="balanced")
HANDLER_ROLE = _codes("lobby_manager", "wealth_manager", "loan_support", "client_manager",
                      "central_desk", 大堂经理="lobby_manager", 理财经理="wealth_manager",
                      个贷支持="loan_support", 客户经理="client_manager",
                      分行贷后服务岗="central_desk")
CASE_TYPE = _codes("aum_outflow", "account_transfer", "loan_prepayment", "card_cancellation",
                   资产流出="aum_outflow", 销户转户="account_transfer",
                   个贷提前还款="loan_prepayment", 销卡="card_cancellation")
CHANNEL = _codes("phone", "in_branch", "advisor", "visit", "sms", 电话="phone",
                 电话挽留="phone", 现场="in_branch", 现场挽留="in_branch", 投顾="advisor",
                 投顾服务="advisor", 上门="visit", 拜访="visit", 短信="sms")
REASON = _codes("commission", "product_range", "market", "service", "facilities", "relocation",
                "rate", "competitor", "other", 佣金太高="commission", 产品单一="product_range",
                行情低迷="market", 服务差="service", 硬件差="facilities", 搬迁="relocation",
                他行利率="rate", 他行产品="competitor", 其他="other")
MEASURE = _codes("fee_cut", "rate_concession", "product_offer", "gift", "service", "none",
                 降佣="fee_cut", 利益让渡="rate_concession", 产品推荐="product_offer",
                 礼品="gift", 服务="service", 无="none")
RULE = _codes("large_outflow", "downgrade", "activity_drop", "maturity", "dormancy", "other",
              大额转出="large_outflow", 降级="downgrade", 交易骤降="activity_drop",
              产品到期="maturity", 休眠="dormancy", 其他="other")
SEVERITY = _codes("high", "medium", "low", 高="high", 中="medium", 低="low")
PRODUCT_TYPE = _codes("time_deposit", "wealth", "fund", "insurance", "bond", 定期存款="time_deposit",
                      理财="wealth", 基金="fund", 保险="insurance", 债券="bond")

BRANCHES = Table("branches", (
    Column("branch_id", "网点号", ID, required=True),
    Column("branch_name", "网点名称", TEXT, required=True),
    Column("parent_branch", "上级机构", TEXT),
    Column("region", "区域", TEXT),
), key=("branch_id",))

MANAGERS = Table("managers", (
    Column("manager_id", "客户经理号", ID, required=True),
    Column("manager_name", "客户经理姓名", TEXT, required=True),
    Column("branch_id", "网点号", ID, required=True),
    Column("role", "岗位", TEXT),
), key=("manager_id",))

CLIENTS = Table("clients", (
    Column("client_id", "客户号", ID, required=True),
    Column("name", "客户姓名", TEXT, required=True),
    Column("branch_id", "网点号", ID, required=True),
    Column("manager_id", "客户经理号", ID),
    Column("gender", "性别", ENUM, values=GENDER, strict=True),
    Column("birth_date", "出生日期", DATE),
    Column("open_date", "开户日期", DATE),
    Column("segment", "客群", TEXT),
    Column("risk_profile", "风险等级", ENUM, values=RISK),
    Column("preference_type", "偏好类型", ENUM, values=PREFERENCE),
    Column("phone", "手机号", ID),
    Column("id_number", "证件号", ID),
), key=("client_id",))

SNAPSHOTS = Table("snapshots", (
    Column("snapshot_month", "快照月份", MONTH, required=True),
    Column("client_id", "客户号", ID, required=True),
    Column("aum", "金融资产", MONEY, required=True),
    Column("branch_id", "网点号", ID),
    Column("manager_id", "客户经理号", ID),
    Column("aum_avg", "月日均资产", MONEY),
    Column("deposits", "存款", MONEY),
    Column("wealth", "理财", MONEY),
    Column("funds", "基金", MONEY),
    Column("insurance", "保险", MONEY),
    Column("bonds", "债券", MONEY),
    Column("securities", "证券市值", MONEY),
    Column("loans", "贷款余额", MONEY),
    Column("products_held", "持有产品数", COUNT),
    Column("txn_count", "交易笔数", COUNT),
    Column("turnover", "交易金额", MONEY),
    Column("fee_income", "中间业务收入", MONEY),
    Column("last_txn_date", "最近交易日", DATE),
    Column("status", "账户状态", ENUM, values=STATUS, strict=True, default="normal"),
), key=("snapshot_month", "client_id"), multi_file=True)

RETENTION_CASES = Table("retention_cases", (
    Column("case_id", "挽留编号", ID, required=True),
    Column("client_id", "客户号", ID, required=True),
    Column("branch_id", "网点号", ID, required=True),
    Column("opened_on", "发起日期", DATE, required=True),
    Column("outcome", "挽留结果", ENUM, required=True, values=OUTCOME, strict=True),
    Column("closed_on", "结案日期", DATE),
    Column("first_contact_on", "首次联系日期", DATE),
    Column("handler_id", "经办人", ID),
    Column("handler_role", "经办岗位", ENUM, values=HANDLER_ROLE),
    Column("case_type", "挽留类型", ENUM, values=CASE_TYPE),
    Column("channel", "挽留方式", ENUM, values=CHANNEL),
    Column("reason", "流失原因", ENUM, values=REASON),
    Column("measure", "挽留措施", ENUM, values=MEASURE),
    Column("aum_at_stake", "涉及资产", MONEY),
    Column("aum_kept", "挽留资产", MONEY),
    Column("warning_id", "预警编号", ID),
), key=("case_id",), multi_file=True)

WARNINGS = Table("warnings", (
    Column("warning_id", "预警编号", ID, required=True),
    Column("client_id", "客户号", ID, required=True),
    Column("raised_on", "预警日期", DATE, required=True),
    Column("rule", "预警类型", ENUM, required=True, values=RULE),
    Column("severity", "预警等级", ENUM, values=SEVERITY, strict=True),
    Column("amount", "涉及金额", MONEY),
    Column("note", "说明", TEXT),
), key=("warning_id",), multi_file=True)

MATURITIES = Table("maturities", (
    Column("client_id", "客户号", ID, required=True),
    Column("product_type", "产品类型", ENUM, required=True, values=PRODUCT_TYPE),
    Column("amount", "金额", MONEY, required=True),
    Column("maturity_date", "到期日", DATE, required=True),
), key=("client_id", "product_type", "maturity_date", "amount"), multi_file=True,
   # the to-do list asks for a week of maturity dates: at 11M products, by date a week is one
   # row group of 1M rows to read, in the key's order all of them
   stored_order=("maturity_date", "client_id", "product_type", "amount"))

# In load order: a table's references (branch, client, manager) are loaded before it.
TABLES: dict[str, Table] = {t.name: t for t in (
    BRANCHES, MANAGERS, CLIENTS, SNAPSHOTS, RETENTION_CASES, WARNINGS, MATURITIES)}
