"""VAT rates and preferential policy flags (优惠政策标识): which rate a classification code
allows, and which flag a line at that rate carries.

One function, :func:`line_tax`, decides for both places that ask: the product
form (a code and a tax rate, nothing else: the flag is derived) and the rules
checked before issuing (the flag as the line states it). A line built with the
derived flag passes the issue-time check, and a rate the product form refuses
is refused at issue time too.

What Chinese VAT allows, and how the rules read it:

- 税率, the general method's rates (13 %, 9 %, 6 %): those the catalogue lists
  for the code (``vat_rates``). The line carries no flag.
- 征收率, the simplified method's levy rates (简易计税: 3 %, 5 %, and the reduced
  1 % and 1.5 %, LEVY_RATES). Small-scale taxpayers (小规模纳税人), most of the
  small businesses this addon is for, charge them on every code; general
  taxpayers on the activities the law lists (建筑用砂石, 公共交通, 不动产租赁 ...),
  far more than the catalogue flags. The catalogue cannot tell the seller's
  status, so a levy rate is allowed on every leaf code, as a rate of its own:
  the line then carries 简易征收 (the issue-time rules refuse a levy rate
  without it, which is how a 3 % tax on a 13 %-only code used to pass the
  product check and fail at issue). Where the code's 增值税特殊管理 names the
  rate's own variant (按3%简易征收, 按5%简易征收, 按5%简易征收减按1.5%计征), the line
  carries that one; a stated simplified flag must fit the rate.
- 0 %: a line at 0 % says why with a flag: 免税 (exempt), 不征税 (outside the
  scope of VAT) or 出口零税 (export zero rate). From a rate alone, the flag is
  the one the code's 增值税特殊管理 has (免税 or 不征税); a code with neither
  refuses 0 %, since nothing says which applies. A line may state 免税 or
  出口零税 on any code (a small-scale taxpayer's exemption and exports do not
  depend on the code), but 不征税 only on a code that has it.
- Refund flags (即征即退, 先征后退 ...) leave the code's own rates; they are the
  taxpayer's qualification, never derived from a rate.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from .errors import FieldError

ZERO = Decimal(0)
# 征收率 of the simplified method (简易计税), in the order a person reads them.
LEVY_RATES = (Decimal("0.01"), Decimal("0.015"), Decimal("0.03"), Decimal("0.05"))
ZERO_RATE_POLICIES = ("免税", "不征税", "出口零税")  # need rate 0, and rate 0 needs one of them
# 增值税特殊管理 flags under which a line of the code carries a 0 % rate.
ZERO_RATE_SPECIALS = ("免税", "不征税")
SIMPLIFIED = "简易征收"
SIMPLIFIED_POLICIES = {         # 简易征收: a levy rate replaces the code's VAT rates
    SIMPLIFIED: LEVY_RATES,
    "按3%简易征收": (Decimal("0.03"),),
    "按5%简易征收": (Decimal("0.05"),),
    "按5%简易征收减按1.5%计征": (Decimal("0.015"),),
}
REFUND_POLICIES = (             # tax refunded afterwards: the code's own rates apply
    "先征后退", "50%先征后退", "100%先征后退", "即征即退30%", "即征即退50%", "即征即退70%",
    "即征即退100%", "超税负3%即征即退", "超税负8%即征即退", "超税负12%即征即退", "稀土产品",
)
POLICIES = (*ZERO_RATE_POLICIES, *SIMPLIFIED_POLICIES, *REFUND_POLICIES)


def split_special(text):
    """``"免税、即征即退50%"`` -> ``("免税", "即征即退50%")``."""
    return tuple(part.strip() for part in (text or "").replace("，", "、").split("、") if part.strip())


def format_rate(rate):
    """Decimal("0.13") -> "13%"."""
    return f"{(rate * 100).normalize():f}%"


@dataclass(frozen=True)
class LineTax:
    """What :func:`line_tax` says of a rate on a code: the flag the line carries and the problems
    (FieldErrors at ``taxRate`` / ``preferentialPolicy``; none when the rate is allowed)."""

    rate: Decimal
    policy: str = ""
    problems: tuple = field(default=())

    @property
    def allowed(self):
        return not self.problems

    def line_fields(self):
        """The InvoiceLine fields this decides: ``tax_rate`` and ``preferential_policy``."""
        return {"tax_rate": self.rate, "preferential_policy": self.policy}


def line_tax(entry, rate, policy=None, *, path=""):
    """Whether a line of the catalogue entry ``entry`` may carry ``rate`` (a Decimal, 0.13 for 13 %),
    and with which preferential policy flag; see the module's docstring for the rules.

    ``policy`` None: the flag follows from the code and the rate (a product's tax; a line being
    built). ``policy`` given ("" for none): the line's own flag, checked. ``entry`` None (no
    catalogue): only what the flag alone decides. ``rate`` None (unusable, said elsewhere): only
    whether the flag is one at all. ``path`` is the line's field path (``lines[2]``), "" for a
    rate checked on its own.
    """
    if isinstance(rate, float):
        raise TypeError(f"the rate must be a Decimal, not the float {rate!r}")
    found = _Problems(path)
    if rate is None:
        if policy and policy not in POLICIES:
            _check_policy(found, entry, ZERO, policy)
        return LineTax(rate, policy or "", found.tuple())
    rate = Decimal(rate)
    if not ZERO <= rate <= 1:
        found.add("taxRate", "RATE_RANGE", f"{shown_rate(rate)} must be between 0 and 1 (0.13 for 13 %)",
                  f" {shown_rate(rate)} 应在 0 到 1 之间（13% 写作 0.13）", value=rate)
        return LineTax(rate, policy or "", found.tuple())
    if policy is None:
        policy, allowed = _derived(entry, rate)
        if not allowed:
            _not_for_code(found, entry, rate)
    else:
        _check_policy(found, entry, rate, policy)
    return LineTax(rate, policy, found.tuple())


def allowed_rates(entry):
    """Every rate a line of ``entry`` may carry with the flag :func:`line_tax` gives it, in the
    order a person reads them: the code's VAT rates; 0 % where the code has an exemption (免税,
    不征税); and the levy rates of the simplified method (LEVY_RATES), on every code."""
    candidates = [*entry.vat_rates, ZERO, *LEVY_RATES]
    return tuple(dict.fromkeys(rate.normalize() for rate in candidates if _derived(entry, rate)[1]))


def rate_allowed(entry, rate):
    """Whether a line of ``entry`` may carry ``rate`` (the flag being derived)."""
    return line_tax(entry, Decimal(rate)).allowed


# --- the two ways to ask --------------------------------------------------------------------

def _derived(entry, rate):
    """(flag, allowed) of a line of ``entry`` (None: unknown code) at ``rate`` (within 0..1)."""
    specials = split_special(entry.vat_special) if entry is not None else ()
    if rate == 0:
        zero = [special for special in specials if special in ZERO_RATE_SPECIALS]
        return (zero[0], True) if zero else ("", entry is None)
    if entry is not None and rate in entry.vat_rates:
        return "", True
    if rate in LEVY_RATES:
        own = [special for special in specials if SIMPLIFIED_POLICIES.get(special) == (rate,)]
        return own[0] if own else SIMPLIFIED, True
    return "", entry is None


def _check_policy(found, entry, rate, policy):
    """The flag a line states, against its rate and code (the issue-time rules)."""
    if policy and policy not in POLICIES:
        found.add("preferentialPolicy", "POLICY_UNKNOWN", f"{policy!r} is not a known policy flag",
                  f"“{policy}”不是有效的优惠政策标识", value=policy)
        return
    if policy in ZERO_RATE_POLICIES:
        if rate != 0:
            found.add("taxRate", "ZERO_RATE_POLICY", f"{shown_rate(rate)} must be 0% under policy {policy}",
                      f" {shown_rate(rate)} 应为 0%（优惠政策：{policy}）", value=rate, policy=policy)
        elif policy == "不征税" and entry is not None and policy not in split_special(entry.vat_special):
            found.add("preferentialPolicy", "POLICY_NOT_FOR_CODE",
                      f"不征税 (outside the scope of VAT) does not apply to code {entry.code} "
                      f"({entry.short_name}): its special VAT management does not list it",
                      f"“不征税”不适用于编码 {entry.code}（{entry.short_name}）：其增值税特殊管理中没有该项",
                      value=policy, code=entry.code)
        return
    if rate == 0:
        found.add("preferentialPolicy", "ZERO_RATE_POLICY",
                  f"is needed on a 0% line: one of {', '.join(ZERO_RATE_POLICIES)}",
                  f"在税率为 0% 的行上必填：{'、'.join(ZERO_RATE_POLICIES)}之一",
                  allowed=list(ZERO_RATE_POLICIES))
        return
    if policy in SIMPLIFIED_POLICIES:
        allowed = SIMPLIFIED_POLICIES[policy]
        if rate not in allowed:
            shown = ", ".join(format_rate(r) for r in allowed)
            found.add("taxRate", "RATE_NOT_ALLOWED",
                      f"{shown_rate(rate)} is not allowed for policy {policy}; allowed: {shown}",
                      f" {shown_rate(rate)} 不适用于优惠政策“{policy}”（可用税率：{shown}）",
                      value=rate, allowed=list(allowed), policy=policy)
        return
    if entry is None or rate in entry.vat_rates:
        return
    if not policy and rate in LEVY_RATES:
        needed, _ = _derived(entry, rate)
        found.add("preferentialPolicy", "LEVY_RATE_POLICY",
                  f"is needed on a line at the levy rate {shown_rate(rate)} (simplified method): {needed}",
                  f"在征收率为 {shown_rate(rate)} 的行上必填（简易计税）：{needed}", value=rate, policy=needed)
        return
    shown = ", ".join(format_rate(r) for r in entry.vat_rates) or "none"
    found.add("taxRate", "RATE_NOT_ALLOWED",
              f"{shown_rate(rate)} is not allowed for code {entry.code} ({entry.short_name}); allowed: {shown}",
              f" {shown_rate(rate)} 不适用于编码 {entry.code}（{entry.short_name}）（可用税率：{shown}）",
              value=rate, allowed=list(entry.vat_rates), code=entry.code, policy=policy)


def _not_for_code(found, entry, rate):
    """RATE_NOT_ALLOWED for a rate that no flag makes right on ``entry`` (the product form's
    question): the code's rates, its 0 % if it has one, and the levy rates are what it allows."""
    own = [rate for rate in allowed_rates(entry) if rate not in LEVY_RATES]
    levy_en, levy_zh = (separator.join(format_rate(r) for r in LEVY_RATES) for separator in (", ", "、"))
    reason_en = reason_zh = ""
    if rate == 0:
        reason_en = " (a 0% line needs a code that is exempt, 免税, or outside the scope of VAT, 不征税)"
        reason_zh = "（税率为 0% 的行需要编码有“免税”或“不征税”）"
    found.add("taxRate", "RATE_NOT_ALLOWED",
              f"{shown_rate(rate)} is not allowed for code {entry.code} ({entry.short_name}){reason_en}; "
              f"allowed: {', '.join(format_rate(r) for r in own) or 'none'}, or a levy rate ({levy_en}) "
              f"with {SIMPLIFIED}",
              f" {shown_rate(rate)} 不适用于编码 {entry.code}（{entry.short_name}）{reason_zh}"
              f"（可用税率：{'、'.join(format_rate(r) for r in own) or '无'}，或简易计税的征收率 {levy_zh}）",
              value=rate, allowed=[*own, *LEVY_RATES], code=entry.code)


class _Problems:
    """FieldErrors of one line's rate and flag, at ``path`` (a line's path, or "" alone)."""

    def __init__(self, path):
        self.path = path
        self.errors = []

    def add(self, name, code, en, zh, /, **params):
        self.errors.append(FieldError.at(f"{self.path}.{name}" if self.path else name, code, en, zh, **params))

    def tuple(self):
        return tuple(self.errors)


def shown_rate(rate):
    """A rate for a message, 13%; one with absurd precision as it is."""
    return str(rate) if abs(rate.normalize().as_tuple().exponent) > 20 else format_rate(rate)
