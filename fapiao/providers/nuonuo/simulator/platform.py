"""诺诺's open platform, simulated: the gate (signature, token, tax id), the token endpoint and the
诺税通 methods the client calls, over SQLite state (:mod:`.store`) and a business clock.

What 诺诺 publishes is followed (docs/providers/nuonuo.md §Simulator); what it does not is chosen
here and marked there: the code of a business refusal (``E9999``), of an expired token
(``070302``), the refusal of a request over the app's rate (HTTP 429), the words of a lapsed
login, reInvoice always re-sealing.

Rate: each app may send ``rate_limit`` requests (default 10) in any second of the real clock,
services and token requests together; one more is refused with HTTP 429 before the gate.

Faults (per app, :meth:`Platform.set_faults`) act on business requests that passed the gate:

- ``login_lapsed`` (a state): the methods that act at the bureau answer ``E9999`` with 诺诺's words
  for "log in again"; nothing is done;
- ``busy``: HTTP 503 with Retry-After ``retry_after`` seconds (0: none), nothing done;
  ``disconnect``: the connection closes, nothing done;
- ``slow``: answered after ``slow_seconds``;
- ``timeout``: done, answered after ``timeout_seconds``; ``drop``: done, the connection closes
  without an answer; ``malformed``: done, HTTP 200 with a body that is not JSON;
- ``pending``: a new order stays 20 (开票中) for ``pending_seconds`` of the business clock, then
  resolves (2, or 22 for a share ``pending_failure``) and 诺诺 posts its callback;
- ``seal_failure``: a share of orders ends 24 (issued, seal failed) until ``reInvoice``.
"""

import hmac
import json
import random
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from xml.sax.saxutils import escape as xml_escape

from ...loopback import RateWindow
from ...reference.sandbox.clock import BusinessClock, at, real_ms
from .. import sign, wire
from ..client import METHOD_PREFIX

SUCCESS, DUPLICATE_ORDER, NOT_FOUND, REINVOICE_LIMIT = "E0000", "E9106", "E9500", "E9613"
REFUSED = "E9999"               # any other business refusal (诺诺 publishes no single code)
UNKNOWN_APP, TOKEN_APP_MISMATCH, TOKEN_EXPIRED = "070101", "070301", "070302"
CREDENTIALS_REFUSED, TOKEN_QUOTA, TAX_MISMATCH, UNKNOWN_API, BAD_SIGNATURE = (
    "070304", "070306", "070401", "070501", "070601")
LOGIN_LAPSED_WORDS = "开票员电子税局登录已失效，请重新登录（扫码登录）后再开票"

TOKEN_LIFETIME = 86400          # seconds (business clock)
TOKEN_QUOTA_COUNT, TOKEN_QUOTA_DAYS = 50, 30
REINVOICE_PER_DAY = 20
QR_PER_DAY, QR_INTERVAL, QR_VALIDITY = 20, 30, 300
CREDIT_REFRESH_PER_DAY, CREDIT_REFRESH_INTERVAL = 20, 30
FORM_LIFETIME = 72 * 3600       # an unanswered form lapses (07)
CREDIT_TOTAL = Decimal("10000000.00")
DAY_MS = 86400 * 1000
RATE_LIMIT = 10.0               # requests per second of an app, unless set (诺诺's sandbox floor)
RATE_WINDOW = 1.0               # seconds (real clock), sliding

ACTING = frozenset({"requestBillingNew", "reInvoice", "saveInvoiceRedConfirm", "confirm", "confirmInfoCancel",
                    "fastInvoiceRed"})
READING = frozenset({"queryInvoiceResult", "queryInvoiceRedConfirm", "refreshInvoiceRedConfirm", "getCreditLine",
                     "getCertificationStatus", "getQrCode", "verifyComplete"})

FAULTS = ("busy", "timeout", "drop", "malformed", "slow", "pending", "login_lapsed", "disconnect",
          "pending_failure", "seal_failure")
FAULT_OPTIONS = {"slow_seconds": 2.0, "timeout_seconds": 30.0, "pending_seconds": 30.0, "retry_after": 1, "seed": None}
_FAILING = ("busy", "disconnect", "timeout", "drop", "malformed")
_INTERNAL = ("app", "created_ms", "due_ms", "will_fail", "use_confirmed", "file_key", "reinvoices", "details",
             "expires_ms", "red")


class Refused(Exception):
    """A business refusal: ``code`` and 诺诺's ``describe``."""

    def __init__(self, code, describe):
        super().__init__(describe)
        self.code, self.describe = code, describe


class NoSuchThing(LookupError):
    """What a buyer's or drawer's action names does not exist."""


class WrongState(Exception):
    """A buyer's or drawer's action that the current state does not allow."""


@dataclass
class Reply:
    """What the HTTP layer sends: ``drop`` closes the connection without an answer; ``delay``
    (seconds) waits before answering."""

    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=lambda: {"Content-Type": "application/json; charset=UTF-8"})
    drop: bool = False
    delay: float = 0.0


def json_reply(data, status=200):
    return Reply(status=status, body=json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def envelope(code, describe="", result=None):
    return json_reply({"code": code, "describe": describe or ("调用成功" if code == SUCCESS else ""), "result": result})


def refused_before_acting(status, describe, retry_after=1):
    """HTTP ``status`` (503 busy; 429 over the app's rate, chosen: 诺诺 publishes no refusal for
    it), nothing done, with Retry-After (seconds; 0 for none)."""
    reply = json_reply({"code": str(status), "describe": describe, "result": None}, status=status)
    if retry_after:
        reply.headers["Retry-After"] = str(int(retry_after))
    return reply


def too_fast():
    return refused_before_acting(429, "请求过于频繁，请稍后重试")


def _money(value):
    return f"{Decimal(value).quantize(Decimal('0.01')):f}"


def _decimal(value, what):
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Refused(REFUSED, f"{what} 不是数字：{value!r}") from None
    if not number.is_finite():
        raise Refused(REFUSED, f"{what} 不是数字：{value!r}")
    return number


def _day(ms):
    return f"{at(ms):%Y-%m-%d}"


def _moment(ms):
    return f"{at(ms):%Y-%m-%d %H:%M:%S}"


class Platform:
    """The simulated platform. ``base_url()`` answers the server's http://host:port, for the
    file addresses; ``stopping`` is set when the server stops (waits end early)."""

    def __init__(self, store, base_url, timestamp_window=600, rate_limit=RATE_LIMIT, latency=0.0):
        self.store = store
        self.clock = BusinessClock(store)
        self.base_url = base_url
        self.timestamp_window = timestamp_window
        self.rate_limit = rate_limit        # of an app that has none of its own
        self.latency = latency              # seconds every answer waits (the HTTP layer holds it)
        self.stopping = threading.Event()
        self.deliveries_waiting = threading.Event()
        self._rngs = {}
        self.rate_window = RateWindow(RATE_WINDOW)

    # --- apps ---------------------------------------------------------------------------------

    def app(self, app_key):
        found = self.store.get("app", app_key)
        if found is None:
            raise KeyError(app_key)
        return found

    def apps(self):
        return self.store.all("app")

    def save_app(self, app_key, *, secret, tax_id, name, callback_url=""):
        with self.store.lock:
            current = self.store.get("app", app_key) or {"faults": {}, "logged_in": True,
                                                         "created_ms": self.clock.now_ms()}
            current.update(app_key=app_key, secret=secret, tax_id=tax_id, name=name, callback_url=callback_url)
            return self.store.put("app", app_key, current, app=app_key)

    def _put_app(self, app):
        return self.store.put("app", app["app_key"], app, app=app["app_key"])

    # --- rate ----------------------------------------------------------------------------------

    def app_rate(self, app):
        return float(app.get("rate_limit") or self.rate_limit)

    def set_rate_limit(self, app_key, rate):
        if not rate > 0:
            raise ValueError(f"a rate is a positive number of requests per second, not {rate!r}")
        with self.store.lock:
            app = self.app(app_key)
            app["rate_limit"] = float(rate)
            self._put_app(app)

    def _over_rate(self, app):
        """Note one request of the app -> whether it makes more than the app's rate in the last
        RATE_WINDOW (real clock); such a request is counted as ``rate_limited``."""
        over = self.rate_window.arrive(app["app_key"], self.app_rate(app))
        if over:
            self.store.count(app["app_key"], "rate_limited")
        return over

    def peak_rate(self, app_key):
        return self.rate_window.peak(app_key)

    def set_faults(self, app_key, faults):
        """Exactly ``faults`` (neutral names, checked) for the app; login_lapsed sets the drawer's state."""
        with self.store.lock:
            app = self.app(app_key)
            app["faults"] = {name: value for name, value in faults.items() if name != "login_lapsed"}
            app["logged_in"] = not faults.get("login_lapsed", False)
            self._put_app(app)
            self._rngs.pop(app_key, None)

    def _setting(self, app, name):
        return app["faults"].get(name, FAULT_OPTIONS.get(name, 0.0))

    def _draw(self, app, name):
        rate = app["faults"].get(name, 0.0)
        if not rate:
            return False
        rng = self._rngs.get(app["app_key"])
        if rng is None:
            seed = app["faults"].get("seed")
            rng = self._rngs[app["app_key"]] = random.Random(None if seed is None else f"{seed}:{app['app_key']}")  # noqa: S311
        return rng.random() < rate

    # --- the token endpoint --------------------------------------------------------------------

    def token(self, form):
        """``form``: the parsed POST form -> Reply (诺诺's token JSON)."""
        client_id = form.get("client_id", "")
        app = self.store.get("app", client_id) if client_id else None
        if app is None:
            return json_reply({"error": UNKNOWN_APP, "error_description": "appKey 不存在"})
        self.store.count(client_id, "requests")
        if self._over_rate(app):
            return too_fast()
        if form.get("grant_type") != "client_credentials" or not hmac.compare_digest(
                form.get("client_secret", "").encode(), app["secret"].encode()):
            return json_reply({"error": CREDENTIALS_REFUSED, "error_description": "appKey 或 appSecret 不正确"})
        with self.store.lock:
            now = self.clock.now_ms()
            used, _last = self.store.since(client_id, "token", now - TOKEN_QUOTA_DAYS * DAY_MS)
            if used >= TOKEN_QUOTA_COUNT:
                return json_reply({"error": TOKEN_QUOTA, "error_description":
                                   f"{TOKEN_QUOTA}: 30 天内获取 token 次数已超过 {TOKEN_QUOTA_COUNT} 次"})
            self.store.note(client_id, "token", now)
            token = secrets.token_hex(16)
            self.store.put("token", token, {"app": client_id, "expires_ms": now + TOKEN_LIFETIME * 1000},
                           app=client_id)
        return json_reply({"access_token": token, "expires_in": TOKEN_LIFETIME})

    def tokens_requested(self, app_key):
        """Token requests granted to the app in the last 30 days (business clock)."""
        return self.store.since(app_key, "token", self.clock.now_ms() - TOKEN_QUOTA_DAYS * DAY_MS)[0]

    # --- the services endpoint: the gate --------------------------------------------------------

    def services(self, query, headers, body):
        """One POST to /open/v1/services -> Reply. ``query``: dict of the query string's values."""
        app = self.store.get("app", query.get("appkey", "")) if query.get("appkey") else None
        if app is None:
            return envelope(UNKNOWN_APP, "appKey 不存在")
        self.store.count(app["app_key"], "requests")
        if self._over_rate(app):
            return too_fast()
        self.tick()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return envelope(BAD_SIGNATURE, "报文不是 UTF-8，签名校验失败")
        if not self.verify(app, query, headers.get("X-Nuonuo-Sign") or "", text):
            return envelope(BAD_SIGNATURE, "签名校验失败（请检查 appSecret 与服务器时间）")
        token = self.store.get("token", headers.get("accessToken") or "")
        if token is None or token["app"] != app["app_key"]:
            return envelope(TOKEN_APP_MISMATCH, "accessToken 与 appKey 不匹配")
        if token["expires_ms"] <= self.clock.now_ms():
            return envelope(TOKEN_EXPIRED, "accessToken 已过期，请重新获取")
        if (headers.get("userTax") or "") != app["tax_id"]:
            return envelope(TAX_MISMATCH, "userTax 与 accessToken 所属企业税号不一致")
        method = headers.get("method") or ""
        name = method[len(METHOD_PREFIX):] if method.startswith(METHOD_PREFIX) else ""
        if name not in ACTING | READING:
            return envelope(UNKNOWN_API, f"API 不存在或未授权：{method}")
        try:
            payload = json.loads(text) if text else {}
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return envelope(REFUSED, "报文不是 JSON 对象")
        return self._with_faults(app, name, payload)

    def verify(self, app, query, signature, text):
        """The X-Nuonuo-Sign check (sign.signature with the app's secret), and the timestamp within
        ``timestamp_window`` seconds of the real clock (0: not checked)."""
        senid, nonce, timestamp = (query.get(name, "") for name in ("senid", "nonce", "timestamp"))
        if not senid or not nonce.isdigit() or not timestamp.isdigit():
            return False
        if self.timestamp_window and abs(real_ms() / 1000 - int(timestamp)) > self.timestamp_window:
            return False
        expected = sign.signature(app["secret"], app["app_key"], senid, nonce, timestamp, text)
        return hmac.compare_digest(expected.encode(), signature.encode())

    def _with_faults(self, app, name, payload):
        key = app["app_key"]
        if name in ACTING and not app.get("logged_in", True):
            self.store.count(key, "fault:login_lapsed")
            self.store.count(key, "failed_requests")
            return envelope(REFUSED, LOGIN_LAPSED_WORDS)
        hits = [fault for fault in ("busy", "disconnect", "slow", "timeout", "drop", "malformed")
                if self._draw(app, fault)]
        for fault in hits:
            self.store.count(key, f"fault:{fault}")
        if any(fault in _FAILING for fault in hits):
            self.store.count(key, "failed_requests")
        if "busy" in hits:
            return refused_before_acting(503, "系统繁忙，请稍后重试", self._setting(app, "retry_after"))
        if "disconnect" in hits:
            return Reply(drop=True)
        if "slow" in hits and self.stopping.wait(self._setting(app, "slow_seconds")):
            return Reply(drop=True)
        reply = self.call(key, name, payload)
        if "timeout" in hits:
            reply.delay = self._setting(app, "timeout_seconds")
        elif "drop" in hits:
            return Reply(drop=True)
        elif "malformed" in hits:
            return Reply(body=b"<html><body>502 Bad Gateway</body></html>", headers={"Content-Type": "text/html"})
        return reply

    def call(self, app_key, name, payload):
        """The method ``name`` for the app, past the gate and the faults -> Reply."""
        try:
            with self.store.lock:
                code, describe, result = getattr(self, f"_m_{name}")(self.app(app_key), payload)
        except Refused as refused:
            return envelope(refused.code, refused.describe)
        return envelope(code, describe, result)

    # --- orders --------------------------------------------------------------------------------

    def _new_serial(self):
        return f"{at(self.clock.now_ms()):%y%m%d%H%M%S}{self.store.next_number('serial'):08d}"

    def _new_invoice_number(self):
        return f"{at(self.clock.now_ms()):%y}35{self.store.next_number('invoice_number'):016d}"

    def _m_requestBillingNew(self, app, payload):
        order = payload.get("order")
        if not isinstance(order, dict):
            raise Refused(REFUSED, "order 不能为空")
        order_no = str(order.get("orderNo") or "")
        if not order_no or len(order_no) > 20:
            raise Refused(REFUSED, "orderNo 必填，最长 20 位")
        if self.store.by_alt("order", app["app_key"], order_no):
            return DUPLICATE_ORDER, "订单编号或流水号不能重复", None
        details, totals = self._check_order(app, order)
        record = {
            "app": app["app_key"], "orderNo": order_no, "serialNo": self._new_serial(), "status": "20",
            "invoiceType": wire.BLUE, "invoiceLine": order["invoiceLine"], "buyerName": order["buyerName"],
            "buyerTaxNum": str(order.get("buyerTaxNum") or ""), "salerTaxNum": app["tax_id"], "salerName": app["name"],
            "clerk": str(order.get("clerk") or ""), "remark": str(order.get("remark") or ""), "details": details,
            **totals, "created_ms": self.clock.now_ms(), "use_confirmed": False,
        }
        if self._draw(app, "pending"):
            record["due_ms"] = self.clock.now_ms() + int(self._setting(app, "pending_seconds") * 1000)
            record["will_fail"] = self._draw(app, "pending_failure")
            self._put_order(record)
        else:
            self._issue(app, record)
        return SUCCESS, "", {"invoiceSerialNum": record["serialNo"]}

    def _check_order(self, app, order):
        if str(order.get("salerTaxNum") or "") != app["tax_id"]:
            raise Refused(REFUSED, "salerTaxNum 与 userTax 不一致")
        if str(order.get("invoiceType") or "") != wire.BLUE:
            raise Refused(REFUSED, "invoiceType 只能为 1（蓝票）")
        if order.get("invoiceLine") not in wire.INVOICE_LINE_TYPES:
            raise Refused(REFUSED, "invoiceLine 须为 pc 或 bs")
        if not order.get("buyerName"):
            raise Refused(REFUSED, "buyerName 不能为空")
        if order["invoiceLine"] == "bs" and not order.get("buyerTaxNum"):
            raise Refused(REFUSED, "数电专票 buyerTaxNum 不能为空")
        if not order.get("clerk"):
            raise Refused(REFUSED, "clerk（开票员）不能为空")
        rows = order.get("invoiceDetail")
        if not isinstance(rows, list) or not rows or len(rows) > wire.MAX_DETAIL_LINES:
            raise Refused(REFUSED, f"invoiceDetail 须有 1 到 {wire.MAX_DETAIL_LINES} 行")
        details, totals = [], {"exTaxAmount": Decimal(0), "taxAmount": Decimal(0), "orderAmount": Decimal(0)}
        for index, row in enumerate(rows, 1):
            if not isinstance(row, dict) or not row.get("goodsName"):
                raise Refused(REFUSED, f"第 {index} 行 goodsName 不能为空")
            code = str(row.get("goodsCode") or "")
            if len(code) != 19 or not code.isdigit():
                raise Refused(REFUSED, f"第 {index} 行 goodsCode 须为 19 位税收分类编码")
            rate = _decimal(row.get("taxRate"), f"第 {index} 行 taxRate")
            amount = _decimal(row.get("taxExcludedAmount"), f"第 {index} 行 taxExcludedAmount")
            tax = _decimal(row.get("tax"), f"第 {index} 行 tax")
            with_tax = _decimal(row.get("taxIncludedAmount"), f"第 {index} 行 taxIncludedAmount")
            if abs(amount * rate - tax) > Decimal("0.06"):
                raise Refused(REFUSED, f"第 {index} 行税额误差超过 0.06")
            if amount + tax != with_tax:
                raise Refused(REFUSED, f"第 {index} 行 taxIncludedAmount 不等于 taxExcludedAmount + tax")
            previous = rows[index - 2] if index > 1 and isinstance(rows[index - 2], dict) else {}
            if row.get("invoiceLineProperty") == "1" and (previous.get("invoiceLineProperty") != "2"
                                                          or previous.get("goodsName") != row.get("goodsName")):
                raise Refused("E9105", f"第 {index} 行折扣行须紧随被折扣行且商品名称一致")
            details.append({"goodsName": row["goodsName"], "goodsCode": code, "taxRate": str(rate),
                            "taxExcludedAmount": _money(amount), "tax": _money(tax),
                            "taxIncludedAmount": _money(with_tax), "num": row.get("num"),
                            "price": row.get("price"), "unit": row.get("unit"), "specType": row.get("specType")})
            totals["exTaxAmount"] += amount
            totals["taxAmount"] += tax
            totals["orderAmount"] += with_tax
        return details, {name: _money(value) for name, value in totals.items()}

    def _put_order(self, record):
        return self.store.put("order", record["serialNo"], record, app=record["app"], alt=record["orderNo"])

    def _issue(self, app, record, status=None):
        """Number the order and issue it: 2, or 24 when the seal fails (a drawn fault)."""
        now = self.clock.now_ms()
        record["status"] = status or ("24" if self._draw(app, "seal_failure") else wire.ISSUED)
        record["statusMsg"] = "开票完成（签章失败）" if record["status"] == "24" else "开票完成"
        record["allElectronicInvoiceNumber"] = self._new_invoice_number()
        record["invoiceTime"] = now
        record["file_key"] = secrets.token_urlsafe(12)
        record.pop("due_ms", None)
        return self._put_order(record)

    def _fail(self, record, cause):
        record.update(status=wire.FAILED, statusMsg="开票失败", failCause=cause)
        record.pop("due_ms", None)
        return self._put_order(record)

    def order_item(self, record):
        """One item of queryInvoiceResult, as 诺诺 shows it."""
        item = {key: value for key, value in record.items() if key not in _INTERNAL}
        item["invoiceKind"] = "电子发票(增值税专用发票)" if record["invoiceLine"] == "bs" else "电子发票(普通发票)"
        item["payerName"], item["payerTaxNo"] = record["buyerName"], record["buyerTaxNum"]
        item["invoiceTime"] = str(record.get("invoiceTime") or "")
        number = record.get("allElectronicInvoiceNumber", "")
        if number:
            item["invoiceNo"] = number
            item["qrCode"] = (f"01,32,,{number},{record['orderAmount']},"
                              f"{at(record['invoiceTime']):%Y%m%d},,")
        if record["status"] == wire.ISSUED:
            for kind in ("pdf", "ofd", "xml"):
                item[f"{kind}Url"] = f"{self.base_url()}/files/{record['serialNo']}/{record['file_key']}.{kind}"
        return item

    def _m_queryInvoiceResult(self, app, payload):
        wanted = [payload.get(name) for name in ("orderNos", "serialNos")]
        by_serial = isinstance(wanted[1], list) and wanted[1]
        keys = wanted[1] if by_serial else wanted[0]
        if not isinstance(keys, list) or not 1 <= len(keys) <= 50:
            raise Refused(REFUSED, "orderNos 或 serialNos 须有 1 到 50 个")
        items = []
        for key in dict.fromkeys(str(k) for k in keys):
            record = self.store.get("order", key) if by_serial else self.store.by_alt("order", app["app_key"], key)
            if record and record["app"] == app["app_key"]:
                items.append(self.order_item(record))
        if not items:
            return NOT_FOUND, "未查询到订单", None
        return SUCCESS, "", items

    def _m_reInvoice(self, app, payload):
        record = self.store.get("order", str(payload.get("fpqqlsh") or ""))
        if record is None or record["app"] != app["app_key"] or (
                payload.get("orderno") and payload["orderno"] != record["orderNo"]):
            raise Refused(REFUSED, "订单不存在")
        if record["status"] not in ("24", wire.FAILED):
            raise Refused(REFUSED, "只有开票失败或签章失败的订单可以重新开票")
        counter = f"reinvoice:{record['serialNo']}"
        used, _last = self.store.since(app["app_key"], counter, self.clock.now_ms() - DAY_MS)
        if used >= REINVOICE_PER_DAY:
            return REINVOICE_LIMIT, f"该订单当日重新开票已达 {REINVOICE_PER_DAY} 次", None
        self.store.note(app["app_key"], counter, self.clock.now_ms())
        if record["status"] == "24":     # the invoice exists: only its seal is done again
            record.update(status=wire.ISSUED, statusMsg="开票完成")
            self._put_order(record)
        else:
            record.pop("failCause", None)
            self._issue(app, record, status=wire.ISSUED)
        return SUCCESS, "", None

    # --- red-letter forms ------------------------------------------------------------------------

    def _blue(self, number):
        for record in self.store.all("order"):
            if record.get("allElectronicInvoiceNumber") == number and record["invoiceType"] == wire.BLUE:
                return record
        return None

    def _active_reversal(self, blue):
        return sum(Decimal(form["taxExcludedAmount"]) + Decimal(form["taxAmount"])
                   for form in self.store.all("form")
                   if form["blueElecInvoiceNumber"] == blue["allElectronicInvoiceNumber"]
                   and form["billStatus"] in ("01", "02", "03", "04"))

    def new_form(self, blue, *, source, reason, rows, bill_id=""):
        """A form against ``blue`` (its record); ``rows``: 诺诺's detail rows; reason 诺诺's."""
        now = self.clock.now_ms()
        # a form always lists its rows: a whole reversal, every row of the blue invoice, negated
        rows = rows or [{"blueDetailIndex": str(index), "goodsName": row["goodsName"],
                         "taxExcludedAmount": _money(-Decimal(row["taxExcludedAmount"])),
                         "taxAmount": _money(-Decimal(row["tax"])),
                         "num": None if row.get("num") in (None, "") else str(-Decimal(str(row["num"])))}
                        for index, row in enumerate(blue["details"], 1)]
        if rows:
            amount = -sum(abs(_decimal(row.get("taxExcludedAmount"), "taxExcludedAmount")) for row in rows)
            tax = -sum(abs(_decimal(row.get("taxAmount"), "taxAmount")) for row in rows)
        else:
            amount, tax = -Decimal(blue["exTaxAmount"]), -Decimal(blue["taxAmount"])
        if Decimal(blue["orderAmount"]) + self._active_reversal(blue) + amount + tax < 0:
            raise Refused(REFUSED, "红冲金额超过蓝票可冲红金额")
        if source == wire.SELLER:
            status = "02" if blue.get("use_confirmed") else "01"
        else:
            status = "03"
        form = {
            "billNo": f"{at(now):%y}35{self.store.next_number('bill_no'):016d}", "billId": bill_id,
            "billUuid": uuid.uuid4().hex, "billStatus": status, "applySource": source,
            "blueElecInvoiceNumber": blue["allElectronicInvoiceNumber"], "blueInvoiceLine": blue["invoiceLine"],
            "sellerTaxNo": blue["salerTaxNum"], "sellerName": blue["salerName"], "buyerTaxNo": blue["buyerTaxNum"],
            "buyerName": blue["buyerName"], "redReason": reason, "taxExcludedAmount": _money(amount),
            "taxAmount": _money(tax), "billTime": _moment(now), "created_ms": now, "app": blue["app"],
            "detail": [{key: str(value) for key, value in row.items() if value not in (None, "")} for row in rows],
        }
        self._put_form(form)
        if status == "01":
            self._red_invoice(form)
        return form

    def _put_form(self, form):
        return self.store.put("form", form["billNo"], form, app=form["app"], alt=form["billId"])

    def _red_invoice(self, form, order_no=""):
        """诺诺 issues the red invoice of a form that allows it (01, 04) by itself."""
        blue = self._blue(form["blueElecInvoiceNumber"])
        app = self.app(form["app"])
        amount, tax = Decimal(form["taxExcludedAmount"]), Decimal(form["taxAmount"])
        record = {
            "app": form["app"], "orderNo": order_no or f"HZ{form['billNo'][-18:]}", "serialNo": self._new_serial(),
            "invoiceType": wire.RED, "invoiceLine": form["blueInvoiceLine"], "buyerName": form["buyerName"],
            "buyerTaxNum": form["buyerTaxNo"], "salerTaxNum": form["sellerTaxNo"], "salerName": form["sellerName"],
            "clerk": blue.get("clerk", ""), "details": form["detail"] or blue["details"],
            "exTaxAmount": _money(amount), "taxAmount": _money(tax), "orderAmount": _money(amount + tax),
            "oldEleInvoiceNumber": form["blueElecInvoiceNumber"], "billNo": form["billNo"],
            "created_ms": self.clock.now_ms(), "red": True,
        }
        self._issue(app, record, status=wire.ISSUED)
        form.update(invoiceSerialNum=record["serialNo"], orderNo=record["orderNo"],
                    redInvoiceNumber=record["allElectronicInvoiceNumber"], openStatus="1")
        self._put_form(form)
        return record

    def form_item(self, form):
        return {key: value for key, value in form.items() if key not in _INTERNAL}

    def _m_saveInvoiceRedConfirm(self, app, payload):
        bill_id = str(payload.get("billId") or "")
        if not bill_id or len(bill_id) > 32:
            raise Refused(REFUSED, "billId 必填，最长 32 位")
        if self.store.by_alt("form", app["app_key"], bill_id):
            return DUPLICATE_ORDER, "billId 不能重复", None
        if str(payload.get("applySource") or "") != wire.SELLER:
            raise Refused(REFUSED, "本接口只受理销方申请（applySource 0）")
        if str(payload.get("redReason") or "") not in wire.RED_REASONS_BACK:
            raise Refused(REFUSED, "redReason 须为 1 到 4")
        blue = self._blue(str(payload.get("blueElecInvoiceNumber") or ""))
        if blue is None or blue["app"] != app["app_key"] or blue["status"] != wire.ISSUED:
            raise Refused(REFUSED, "蓝字发票不存在或不属于该销方")
        rows = payload.get("detail") or []
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise Refused(REFUSED, "detail 格式错误")
        form = self.new_form(blue, source=wire.SELLER, reason=payload["redReason"], rows=rows, bill_id=bill_id)
        return SUCCESS, "", form["billId"]

    def _find_form(self, app, payload):
        for key in ("billNo", "billId", "billUuid"):
            value = str(payload.get(key) or "")
            if value:
                for form in self.store.all("form"):
                    if form[key] == value and app["tax_id"] in (form["sellerTaxNo"], form["buyerTaxNo"]):
                        return form
        return None

    def _m_queryInvoiceRedConfirm(self, app, payload):
        side = "buyerTaxNo" if str(payload.get("identity") or "0") == wire.BUYER else "sellerTaxNo"
        forms = [form for form in self.store.all("form") if form[side] == app["tax_id"]]
        for key in ("billStatus", "billId", "billNo", "billUuid"):
            if payload.get(key):
                forms = [form for form in forms if form[key] == str(payload[key])]
        try:
            size, page = int(payload.get("pageSize") or 10), int(payload.get("pageNo") or 1)
        except ValueError:
            raise Refused(REFUSED, "pageSize / pageNo 须为数字") from None
        if not 1 <= size <= 50 or page < 1:
            raise Refused(REFUSED, "pageSize 为 1 到 50")
        chosen = forms[(page - 1) * size:page * size]
        return SUCCESS, "", {"total": len(forms), "list": [self.form_item(form) for form in chosen]}

    def _m_refreshInvoiceRedConfirm(self, app, payload):
        """诺诺 downloads the forms from the bureau: here they are all known already; counted."""
        if str(payload.get("identity") or "") not in (wire.SELLER, wire.BUYER):
            raise Refused(REFUSED, "identity 须为 0（销方）或 1（购方）")
        self.store.count(app["app_key"], "red_form_refreshes")
        return SUCCESS, "", None

    def _m_confirm(self, app, payload):
        form = self._find_form(app, payload)
        if form is None:
            raise Refused(REFUSED, "红字确认单不存在")
        awaiting = "03" if str(payload.get("identity") or "0") == wire.SELLER else "02"
        if form["billStatus"] != awaiting:
            raise Refused(REFUSED, f"红字确认单状态 {form['billStatus']}，不可确认")
        agree = str(payload.get("confirmAgreement") or "") == "1"
        form["billStatus"] = "04" if agree else ("06" if awaiting == "03" else "05")
        self._put_form(form)
        if agree:
            self._red_invoice(form)
        return SUCCESS, "", None

    def _m_confirmInfoCancel(self, app, payload):
        form = self._find_form(app, payload)
        if form is None or form["sellerTaxNo"] != app["tax_id"] or form["applySource"] != wire.SELLER:
            raise Refused(REFUSED, "红字确认单不存在或非本方发起")
        if form.get("invoiceSerialNum") or form["billStatus"] not in ("01", "02", "04"):
            raise Refused(REFUSED, f"红字确认单状态 {form['billStatus']}，不可撤销")
        form["billStatus"] = "09" if form["billStatus"] == "04" else "08"
        self._put_form(form)
        return SUCCESS, "", None

    def _m_fastInvoiceRed(self, app, payload):
        form = self._find_form(app, payload)
        if form is None or form["sellerTaxNo"] != app["tax_id"]:
            raise Refused(REFUSED, "红字确认单不存在")
        if form["billStatus"] not in ("01", "04"):
            raise Refused(REFUSED, f"红字确认单状态 {form['billStatus']}，不可开具红票")
        if form.get("invoiceSerialNum"):
            raise Refused(REFUSED, "该红字确认单已开具红票")
        order_no = str(payload.get("orderNo") or "")
        if not order_no or self.store.by_alt("order", app["app_key"], order_no):
            return DUPLICATE_ORDER, "订单编号或流水号不能重复", None
        record = self._red_invoice(form, order_no)
        return SUCCESS, "", {"invoiceSerialNum": record["serialNo"]}

    # --- quota and the drawer's login --------------------------------------------------------------

    def _m_getCreditLine(self, app, payload):
        now = self.clock.now_ms()
        if str(payload.get("queryType") or "1") == "0":
            used_today, last = self.store.since(app["app_key"], "credit_refresh", now - DAY_MS)
            if used_today >= CREDIT_REFRESH_PER_DAY or (last and now - last < CREDIT_REFRESH_INTERVAL * 1000):
                raise Refused(REFUSED, "授信额度刷新过于频繁（每天 20 次，间隔 30 秒）")
            self.store.note(app["app_key"], "credit_refresh", now)
            app["credit_updated_ms"] = now
            self._put_app(app)
            return SUCCESS, "", None
        month = f"{at(now):%Y-%m}"
        used = sum((Decimal(order["orderAmount"]) for order in self.store.all("order", app["app_key"])
                    if order.get("allElectronicInvoiceNumber") and f"{at(order['invoiceTime']):%Y-%m}" == month),
                   Decimal(0))
        return SUCCESS, "", {"totalCreditLine": _money(CREDIT_TOTAL), "usedCreditLine": _money(used),
                             "availableCreditLine": _money(CREDIT_TOTAL - used),
                             "amountUpdateTime": _moment(app.get("credit_updated_ms") or now)}

    def _m_getCertificationStatus(self, app, payload):
        logged_in = app.get("logged_in", True)
        return SUCCESS, "", {"certificationStatus": "1" if logged_in else "0",
                             "message": "已登录" if logged_in else "开票员未登录电子税局，请扫码登录"}

    def _current_qr(self, app):
        qr = app.get("qr")
        return qr if qr and qr["expires_ms"] > self.clock.now_ms() else None

    def _m_getQrCode(self, app, payload):
        if app.get("logged_in", True):
            return SUCCESS, "", {"qrCode": "", "status": "1", "message": "开票员已登录，无需扫码"}
        now = self.clock.now_ms()
        if str(payload.get("queryType") or "") == "2":
            today, last = self.store.since(app["app_key"], "qr", now - DAY_MS)
            if today >= QR_PER_DAY:
                raise Refused(REFUSED, f"当日获取二维码已达 {QR_PER_DAY} 次")
            if last and now - last < QR_INTERVAL * 1000:
                raise Refused(REFUSED, f"获取二维码过于频繁，请 {QR_INTERVAL} 秒后再试")
            self.store.note(app["app_key"], "qr", now)
            app["qr"] = {"content": f"https://etax.chinatax.gov.cn/qr/{secrets.token_urlsafe(16)}", "created_ms": now,
                         "expires_ms": now + QR_VALIDITY * 1000, "scanned": False}
            self._put_app(app)
            return SUCCESS, "", {"status": "0", "message": "正在获取二维码"}
        qr = self._current_qr(app)
        if qr is None:
            return SUCCESS, "", {"qrCode": "", "status": "0", "message": "暂无有效二维码，请重新获取"}
        return SUCCESS, "", {"qrCode": qr["content"], "endTime": _moment(qr["expires_ms"]), "status": "2",
                             "message": "请使用电子税务局 App 扫码"}

    def _m_verifyComplete(self, app, payload):
        if str(payload.get("queryType") or "") == "0" or app.get("logged_in", True):
            logged_in = app.get("logged_in", True)
            return SUCCESS, "", {"status": "1" if logged_in else "0", "message": "已登录" if logged_in else "认证中"}
        qr = app.get("qr")
        if not qr:
            return SUCCESS, "", {"status": "0", "message": "请先获取二维码并扫码"}
        if qr["expires_ms"] <= self.clock.now_ms() and not qr["scanned"]:
            return SUCCESS, "", {"status": "2", "message": "二维码已过期，请重新获取"}
        if not qr["scanned"]:
            return SUCCESS, "", {"status": "0", "message": "等待扫码"}
        app["logged_in"], app["qr"] = True, None
        self._put_app(app)
        return SUCCESS, "", {"status": "1", "message": "认证成功"}

    # --- the drawer's and the buyer's actions -----------------------------------------------------

    def scan_login_qr(self, app_key):
        with self.store.lock:
            app = self.app(app_key)
            qr = app.get("qr")
            if app.get("logged_in", True) or not qr:
                raise NoSuchThing(f"诺诺 shows {app_key} no QR code")
            if qr["expires_ms"] <= self.clock.now_ms():
                raise WrongState("the QR code expired unscanned")
            qr["scanned"] = True
            self._put_app(app)

    def _blue_or_missing(self, number):
        blue = self._blue(number)
        if blue is None or blue["status"] != wire.ISSUED:
            raise NoSuchThing(f"no issued blue invoice {number}")
        return blue

    def buyer_confirm_use(self, number):
        with self.store.lock:
            blue = self._blue_or_missing(number)
            blue["use_confirmed"] = True
            self._put_order(blue)

    def buyer_apply_red_form(self, number, reason="01", lines=()):
        with self.store.lock:
            blue = self._blue_or_missing(number)
            rows = [{"blueDetailIndex": str(line.blue_line_no), "taxExcludedAmount": _money(line.amount),
                     "taxAmount": _money(line.tax_amount),
                     "num": None if line.quantity is None else str(line.quantity)} for line in lines]
            try:
                form = self.new_form(blue, source=wire.BUYER, reason=wire.RED_REASONS.get(reason, "2"), rows=rows)
            except Refused as refused:
                raise WrongState(refused.describe) from None
            return form["billNo"]

    def buyer_answer(self, bill_no, agree):
        with self.store.lock:
            form = self.store.get("form", bill_no)
            if form is None:
                raise NoSuchThing(f"no form {bill_no}")
            if form["billStatus"] != "02":
                raise WrongState(f"the form is {form['billStatus']}, not awaiting the buyer (02)")
            form["billStatus"] = "04" if agree else "05"
            self._put_form(form)
            if agree:
                self._red_invoice(form)

    # --- time -----------------------------------------------------------------------------------

    def advance(self, seconds):
        self.clock.advance(seconds)
        self.tick()

    def tick(self):
        """Resolve what fell due: pending orders (with their callbacks), unanswered forms (07)."""
        with self.store.lock:
            now = self.clock.now_ms()
            for record in self.store.all("order"):
                if record.get("status") == "20" and record.get("due_ms", now + 1) <= now:
                    app = self.app(record["app"])
                    if record.get("will_fail"):
                        self._fail(record, "税局校验不通过（模拟）")
                    else:
                        self._issue(app, record)
                    self._queue_callback(app, record)
            for form in self.store.all("form"):
                if form["billStatus"] in ("02", "03") and form["created_ms"] + FORM_LIFETIME * 1000 <= now:
                    form["billStatus"] = "07"
                    self._put_form(form)

    # --- callbacks --------------------------------------------------------------------------------

    def _queue_callback(self, app, record):
        if not app.get("callback_url"):
            return
        content = {"c_status": record["status"], "c_orderno": record["orderNo"], "c_fpqqlsh": record["serialNo"],
                   "c_fphm": record.get("allElectronicInvoiceNumber", ""), "c_msg": record.get("statusMsg", ""),
                   "c_kprq": str(record.get("invoiceTime") or ""), "c_bhsje": record["exTaxAmount"],
                   "c_hjse": record["taxAmount"], "c_errorMessage": record.get("failCause", "")}
        delivery = {"id": uuid.uuid4().hex, "app": app["app_key"], "url": app["callback_url"],
                    "event": "invoice.result",
                    "status": "pending", "attempts": 0, "error": "", "next_ms": real_ms(),
                    "form": {"operater": "callback", "orderno": record["orderNo"],
                             "content": json.dumps(content, ensure_ascii=False, separators=(",", ":"))},
                    "references": {"serial_no": record["orderNo"],
                                   "invoice_number": record.get("allElectronicInvoiceNumber", "")}}
        self.store.put("delivery", delivery["id"], delivery, app=app["app_key"])
        self.deliveries_waiting.set()

    def deliveries(self, app_key):
        return self.store.all("delivery", app_key)

    def save_delivery(self, delivery):
        self.store.put("delivery", delivery["id"], delivery, app=delivery["app"])

    # --- what happened ----------------------------------------------------------------------------

    def orders(self, app_key):
        self.app(app_key)
        return self.store.all("order", app_key)

    def forms_of(self, app_key):
        tax_id = self.app(app_key)["tax_id"]
        return [form for form in self.store.all("form") if tax_id in (form["sellerTaxNo"], form["buyerTaxNo"])]

    def counters(self, app_key):
        self.app(app_key)
        return self.store.counters(app_key)

    def file(self, serial_no, file_key, kind):
        """(bytes, content type) of an issued invoice's file, or None."""
        record = self.store.get("order", serial_no)
        if not record or record.get("file_key") != file_key or record["status"] != wire.ISSUED:
            return None
        number = record["allElectronicInvoiceNumber"]
        if kind == "pdf":
            text = f"%PDF-1.4\n% 诺诺 simulator: 数电发票 {number} {record['orderAmount']}\n%%EOF\n"
            return text.encode("utf-8"), "application/pdf"
        if kind == "ofd":
            return f"OFD simulated 数电发票 {number}".encode(), "application/ofd"
        if kind == "xml":
            # the parties and totals, as the bureau's XML carries them (a much shorter document)
            fields = {"InvoiceNumber": number, "SellerName": record.get("salerName", ""),
                      "SellerIdNum": record.get("salerTaxNum", ""), "BuyerName": record.get("buyerName", ""),
                      "BuyerIdNum": record.get("buyerTaxNum", ""), "TotalAmWithoutTax": record.get("exTaxAmount", ""),
                      "TotalTaxAm": record.get("taxAmount", ""),
                      "TotalTax-includedAmount": record.get("orderAmount", "")}
            body = "".join(f"<{name}>{xml_escape(str(value))}</{name}>" for name, value in fields.items())
            return f'<?xml version="1.0" encoding="UTF-8"?><EInvoice>{body}</EInvoice>'.encode(), "application/xml"
        return None
