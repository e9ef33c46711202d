"""诺诺 as a provider (fapiao.provider.Provider): transport, token, and the contract's operations.

Transport: ``POST {endpoint}?senid=&nonce=&timestamp=&appkey=`` with the headers X-Nuonuo-Sign,
accessToken, userTax, method and Content-Type; the body is the JSON it was signed as
(:mod:`.sign`). :func:`prepare` builds one such request and nothing else, so that it can be
checked on its own. Answers are ``{code, describe, result}``; :mod:`.codes` says what a refusal
means. The access token comes from the token store (:mod:`.tokens`), never from a request of
its own per call. Every exchange, token requests included, reaches ``exchange_hook`` as a
provider.Exchange with neutral references; the app secret and the token never reach it.

Where 诺诺's wire format leaves the contract a choice, docs/providers/nuonuo.md says which was made.
"""

import ipaddress
import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from ... import crypto, documents, ratelimit
from ...errors import (
    AuthenticationError,
    NotFound,
    PlatformError,
    SerialRejected,
    TransientError,
    TransportError,
    ValidationFailed,
)
from ...provider import (
    CALLBACK_INVALID,
    CALLBACK_INVOICE,
    CALLBACK_MALFORMED,
    CALLBACK_OK,
    DOWNLOAD_SERVICE,
    CallbackEvent,
    CallbackRefused,
    Exchange,
    LoginStatus,
    Provider,
    mask,
    recording,
)
from ...rules import validate_invoice
from . import codes, sign, tokens, wire
from .capabilities import CAPABILITIES, DOWNLOAD_HOSTS, DOWNLOAD_MAX_BYTES, QUERY_BATCH, TOKEN_ENDPOINT

_logger = logging.getLogger(__name__)

METHOD_PREFIX = "nuonuo.OpeMplatform."
ISSUE, QUERY, REINVOICE = "requestBillingNew", "queryInvoiceResult", "reInvoice"
SAVE_FORM, QUERY_FORM, CONFIRM_FORM, CANCEL_FORM = ("saveInvoiceRedConfirm", "queryInvoiceRedConfirm", "confirm",
                                                    "confirmInfoCancel")
REFRESH_FORMS = "refreshInvoiceRedConfirm"   # 诺诺 downloads the forms from the bureau
MAX_FORM_PAGES = 100
FAST_RED, CREDIT_LINE = "fastInvoiceRed", "getCreditLine"
CERTIFICATION, QR_CODE, VERIFY = "getCertificationStatus", "getQrCode", "verifyComplete"
QR_VALIDITY = 300   # seconds: 诺诺's QR codes last 5 minutes


@dataclass(frozen=True)
class PreparedCall:
    """One request as it goes on the wire."""

    url: str
    params: dict
    headers: dict
    body: bytes


class Credentials:
    """The app secret, usable but not readable: closures only (as the reference Keyring)."""

    __slots__ = ("mask", "signature", "token_form")

    def __init__(self, app_key, app_secret):
        if not app_key or not app_secret:
            raise AuthenticationError("诺诺: the App Key and the App Secret are required",
                                      message_zh="诺诺：App Key 与 App Secret 为必填项")

        def signature(senid, nonce, timestamp, body):
            return sign.signature(app_secret, app_key, senid, nonce, timestamp, body)

        def token_form():
            return {"client_id": app_key, "client_secret": app_secret, "grant_type": "client_credentials"}

        def mask_secret(value):
            return mask(value, [app_secret])

        for name, function in (("signature", signature), ("token_form", token_form), ("mask", mask_secret)):
            object.__setattr__(self, name, function)

    def __setattr__(self, name, value):
        raise AttributeError("Credentials cannot be changed")

    def __repr__(self):
        return "<Credentials>"


def prepare(endpoint, app_key, credentials, method, payload, *, token, user_tax, senid=None, nonce=None,
            timestamp=None):
    """The request for 诺诺 ``method`` (its short name, e.g. "requestBillingNew") with ``payload``."""
    senid, nonce, timestamp = senid or sign.new_senid(), nonce or sign.new_nonce(), timestamp or sign.timestamp()
    text = sign.body_text(payload)
    headers = {
        "Content-Type": "application/json; charset=UTF-8",
        "X-Nuonuo-Sign": credentials.signature(senid, nonce, timestamp, text),
        "accessToken": token,
        "userTax": user_tax,
        "method": METHOD_PREFIX + method,
    }
    params = {"senid": senid, "nonce": nonce, "timestamp": timestamp, "appkey": app_key}
    return PreparedCall(endpoint, params, headers, text.encode("utf-8"))


def _mask_token(value, token):
    return mask(value, [token]) if token else value


def _retry_after(response):
    """Retry-After in seconds, when 诺诺 sends a number."""
    value = str(response.headers.get("Retry-After") or "").strip()
    return int(value) if value.isdigit() else None


def is_loopback(host):
    """127.0.0.0/8, ::1 or localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_allowed(url, hosts, *, listed=False):
    """HTTPS to one of ``hosts`` (a host or any of its subdomains). Plain HTTP only to a loopback
    host (a simulator) that is itself one of ``hosts``, and only when ``hosts`` are the company's
    own list (``listed``), never the default suffixes."""
    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password:
        return False
    if parts.scheme == "http":
        return listed and is_loopback(host) and host in hosts
    return parts.scheme == "https" and any(host == allowed or host.endswith("." + allowed) for allowed in hosts)


# getQrCode / verifyComplete status of a drawer logged in to the tax bureau ("1": unconfirmed, see
# docs/providers/nuonuo.md; the simulator answers so)
LOGGED_IN = "1"


class NuonuoClient(Provider):
    """诺诺 for one company. Options: ``token_store`` (a :class:`.tokens.TokenStore` over the company's
    StateStore), ``blue_invoice`` (a callable
    invoice_number -> the blue documents.Invoice, for red-letter forms), ``session``,
    ``connect_timeout`` / ``read_timeout``, ``clock``, ``sleep``, ``rate_limiter`` (see
    :mod:`fapiao.ratelimit`: every request to 诺诺, tokens included, waits for it)."""

    capabilities = CAPABILITIES

    def __init__(self, settings, credentials, *, exchange_hook=None, token_store=None, blue_invoice=None,
                 session=None, connect_timeout=5.0, read_timeout=30.0, clock=time.time, sleep=time.sleep,
                 rate_limiter=None):
        self.endpoint = settings["endpoint"]
        self.token_endpoint = settings.get("token_endpoint") or TOKEN_ENDPOINT
        self.app_key = settings["app_key"]
        self.seller_tax_id = settings["seller_tax_id"]
        self.extension_number = settings.get("extension_number") or ""
        hosts = [host.strip().lower() for host in (settings.get("download_hosts") or "").split(",") if host.strip()]
        self.download_hosts = tuple(hosts) or DOWNLOAD_HOSTS
        self._hosts_listed = bool(hosts)
        self.rate_limit = ratelimit.parse_rate(settings.get("rate_limit"), CAPABILITIES.rate_limit)
        self._rate_limiter = rate_limiter or ratelimit.PROCESS_LIMITER
        self._credentials = credentials
        self._tokens = token_store or tokens.TokenStore()
        self._blue_invoice = blue_invoice
        self._session = session or requests.Session()
        self._timeout = (connect_timeout, read_timeout)
        self._clock, self._sleep = clock, sleep
        self.exchange_hook = exchange_hook
        self._file_urls = {}   # invoice number -> {format: url}, from this client's results

    def close(self):
        self._session.close()

    # --- token ------------------------------------------------------------------------------

    def token(self):
        return tokens.current_token(self._tokens, self._renew_token, self._clock)

    def ensure_access(self):
        self.token()
        entry = self._tokens.get()
        return entry[1] if entry else 0

    def _renew_token(self):
        form = self._credentials.token_form()
        exchange = Exchange(service="accessToken", path=self.token_endpoint, started_at=self._clock(),
                            request={"client_id": form["client_id"], "grant_type": form["grant_type"],
                                     "client_secret": "***"})
        with self._recorded(exchange):
            self._wait_turn()
            try:
                response = self._session.post(self.token_endpoint, data=form, timeout=self._timeout,
                                              allow_redirects=False)
            except requests.RequestException as error:
                raise TransportError(f"诺诺 could not be reached for an access token; try again later "
                                     f"(accessToken: {type(error).__name__})",
                                     message_zh="无法连接诺诺开票平台，请稍后重试。") from None
            exchange.http_status = response.status_code
            if response.status_code in (429, 503):
                raise codes.http_error("accessToken", response.status_code, _retry_after(response))
            try:
                data = response.json()
            except ValueError:
                raise codes.unreadable("accessToken", response.status_code) from None
            token, detail = tokens.read_token_answer(data)
            exchange.response = _mask_token(self._credentials.mask(data), token)
            if token is None:
                code = str(data.get("error") or "") if isinstance(data, dict) else ""
                code = "070306" if "070306" in detail else code
                exchange.code, exchange.message = code, detail[:500]
                error = codes.error_for("accessToken", code, detail) if code in ("070306", "070101") else \
                    AuthenticationError(f"accessToken: 诺诺 gave no token ({detail[:200]}); check the App Key and "
                                        "App Secret", message_zh=f"accessToken：诺诺未返回令牌（{detail[:200]}），"
                                        "请检查 App Key 与 App Secret")
                raise error
            exchange.succeeded = True
            return token, detail

    # --- one exchange -----------------------------------------------------------------------

    def prepare(self, method, payload, token=None, **fixed):
        """The request for ``method`` (诺诺's short name) with the current token (or ``token``)."""
        return prepare(self.endpoint, self.app_key, self._credentials, method, payload, token=token or self.token(),
                       user_tax=self.seller_tax_id, **fixed)

    def _wait_turn(self):
        """Block until the app's rate allows one more request (the limiter is shared)."""
        self._rate_limiter.acquire(self.app_key, self.rate_limit)

    def call(self, method, payload, references=None):
        """Send one request -> (code, describe, result); raise on every refusal but E9106 / E9500 /
        E9613, which the caller reads itself. A token 诺诺 says expired (its clock ahead of ours) is
        renewed once, when this client asked for it, and the request sent again: 诺诺's gate refused
        it before acting."""
        token = self.token()
        try:
            return self._send(method, payload, references, token)
        except PlatformError as error:
            if error.platform_code != codes.TOKEN_EXPIRED:
                raise
            if self._tokens.given:
                raise codes.given_token_expired(method) from None
        token = tokens.renewed_token(self._tokens, token, self._renew_token, self._clock)
        return self._send(method, payload, references, token)

    def _send(self, method, payload, references, token):
        call = self.prepare(method, payload, token)
        exchange = Exchange(service=method, path=self.endpoint, references=dict(references or {}),
                            request=_mask_token(self._credentials.mask(payload), token), started_at=self._clock())
        with self._recorded(exchange):
            self._wait_turn()
            try:
                response = self._session.post(call.url, params=call.params, data=call.body, headers=call.headers,
                                              timeout=self._timeout, allow_redirects=False)
            except requests.Timeout as error:
                raise TransportError(f"诺诺 did not answer in time; try again later ({method}: {type(error).__name__})",
                                     message_zh="诺诺开票平台未及时响应，请稍后重试。") from None
            except requests.RequestException as error:
                raise TransportError(f"诺诺 could not be reached; try again later ({method}: {type(error).__name__})",
                                     message_zh="无法连接诺诺开票平台，请稍后重试。") from None
            exchange.http_status = response.status_code
            if response.status_code != 200:
                raise codes.http_error(method, response.status_code, _retry_after(response))
            try:
                answer = json.loads(response.content.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise codes.unreadable(method, response.status_code) from None
            if not isinstance(answer, dict):
                raise codes.unreadable(method, response.status_code)
            code, describe = str(answer.get("code") or ""), str(answer.get("describe") or "")
            exchange.code, exchange.message = code, describe[:500]
            exchange.response = _mask_token(self._credentials.mask(answer), token)
            exchange.succeeded = code == codes.SUCCESS
            if code in (codes.SUCCESS, codes.DUPLICATE_ORDER, codes.NOT_FOUND, codes.REINVOICE_LIMIT):
                return code, describe, answer.get("result")
            raise codes.error_for(method, code, describe, http_status=response.status_code)

    def _recorded(self, exchange):
        """Time the exchange, note the error it ends in (secret masked), and hand it to the log."""
        return recording(exchange, self.exchange_hook, _logger, self._credentials.mask, label="nuonuo")

    # --- blue invoices ------------------------------------------------------------------------

    def issue(self, invoice):
        errors = validate_invoice(invoice, limits=wire.LIMITS) + wire.problems(invoice)
        if invoice.seller.tax_id and invoice.seller.tax_id != self.seller_tax_id:
            errors.append(documents_error_seller(invoice.seller.tax_id, self.seller_tax_id))
        if errors:
            raise ValidationFailed(errors)
        payload = wire.order(invoice, seller_tax_id=self.seller_tax_id, extension_number=self.extension_number,
                             invoice_date=wire.china_time_text(self._clock()))
        references = {"serial_no": invoice.serial_no}
        try:
            code, _describe, _result = self.call(ISSUE, payload, references)
        except TransientError as error:
            if not error.ambiguous:
                raise
            found = self._query_batch([invoice.serial_no]).get(invoice.serial_no)
            if found is None:
                raise
            found.duplicate = True
            return found
        if code == codes.DUPLICATE_ORDER:
            found = self._query_batch([invoice.serial_no]).get(invoice.serial_no)
            result = found or documents.InvoiceResult(serial_no=invoice.serial_no, status="pending")
            result.duplicate = True
            return result
        if code != codes.SUCCESS:
            raise codes.error_for(ISSUE, code, "")
        return documents.InvoiceResult(serial_no=invoice.serial_no, status="pending")

    def query(self, serial_nos):
        serial_nos = list(dict.fromkeys(serial_nos))
        results = {}
        for start in range(0, len(serial_nos), QUERY_BATCH):
            results.update(self._query_batch(serial_nos[start:start + QUERY_BATCH]))
        return results

    def _query_batch(self, order_nos, by="orderNos"):
        code, _describe, result = self.call(QUERY, {by: list(order_nos), "isOfferInvoiceDetail": "0"},
                                            {"serial_nos": list(order_nos)})
        if code == codes.NOT_FOUND:
            return {}
        found = {}
        for item in result if isinstance(result, list) else []:
            outcome = wire.invoice_result(item)
            if outcome.status == "pending" and outcome.failure_code == wire.SEAL_FAILED:
                self._reinvoice(item, outcome)
            if outcome.invoice_number:
                self._file_urls[outcome.invoice_number] = wire.file_urls(item)
            if by == "orderNos" and outcome.serial_no not in order_nos:
                continue
            found[outcome.serial_no or wire.nuonuo_serial(item)] = outcome
        return found

    def _reinvoice(self, item, outcome):
        """Seal failed (24): ask 诺诺 to seal again, same order (at most 20 a day)."""
        code, describe, _result = self.call(REINVOICE, {"fpqqlsh": wire.nuonuo_serial(item),
                                                        "orderno": outcome.serial_no},
                                            {"serial_no": outcome.serial_no})
        if code == codes.REINVOICE_LIMIT:
            outcome.failure_code = codes.REINVOICE_LIMIT
            outcome.failure_message = describe or "today's 20 seal retries are used up; 诺诺 is asked again tomorrow"

    def download_document(self, invoice_number, file_format="pdf", serial_no=""):
        """The file of an issued invoice. 诺诺 gives file addresses per order: a client that has not
        seen them (in a query result) needs ``serial_no``, the InvoiceResult.serial_no the invoice
        was reported under (our orderNo), to query its order; for a red invoice 诺诺 issued by itself
        (under an order number of its own) the form holding the invoice is looked up instead."""
        if invoice_number not in self._file_urls and serial_no:
            self._query_batch([serial_no])
            if invoice_number not in self._file_urls:
                self._red_invoice_files(invoice_number)
        url = self._file_urls.get(invoice_number, {}).get(file_format)
        if not url:
            asked = f" nor for the order {serial_no}" if serial_no else ": give its serial number"
            raise NotFound(f"诺诺 gave no {file_format} address for {invoice_number} to this client{asked}",
                           message_zh=f"诺诺未提供发票 {invoice_number} 的 {file_format} 文件地址"
                           + (f"（订单 {serial_no}）" if serial_no else "：请提供其流水号"))
        if not host_allowed(url, self.download_hosts, listed=self._hosts_listed):
            raise PlatformError(f"the {file_format} of {invoice_number} is at a host the company does not allow",
                                message_zh=f"发票 {invoice_number} 的 {file_format} 文件地址不在允许的主机内")
        # recorded like every provider's download (provider.DOWNLOAD_SERVICE): the file's SM3 in the
        # log is what the Odoo layer checks a stored file against before handing it out
        exchange = Exchange(service=DOWNLOAD_SERVICE, path=url, started_at=self._clock(),
                            references={"invoice_number": invoice_number},
                            request={"invoiceNumber": invoice_number, "format": file_format})
        with self._recorded(exchange):
            try:
                response = self._session.get(url, timeout=self._timeout, allow_redirects=False, stream=True)
                exchange.http_status = response.status_code
                if response.status_code != 200:
                    raise TransportError(f"download of {invoice_number}.{file_format}: HTTP {response.status_code}")
                content = bytearray()
                for chunk in response.iter_content(65536):
                    content += chunk
                    if len(content) > DOWNLOAD_MAX_BYTES:
                        raise PlatformError(f"{invoice_number}.{file_format} is larger than {DOWNLOAD_MAX_BYTES} "
                                            "bytes")
            except requests.RequestException as error:
                name = type(error).__name__
                raise TransportError(f"download of {invoice_number}.{file_format} failed ({name})") from None
            digest = crypto.sm3_hex(bytes(content))
            exchange.response = {"sm3": digest, "size": len(content)}
            exchange.succeeded = True
        return documents.DocumentFile(invoice_number=invoice_number, format=file_format,
                                      file_name=f"{invoice_number}.{file_format}", content=bytes(content), sm3=digest)

    def _red_invoice_files(self, invoice_number):
        """Learn the files of a red invoice 诺诺 issued by itself from its own serial number, shown on
        the form that holds the invoice."""
        for item in self._all_forms({}):
            if str(item.get("redInvoiceNumber") or "") == invoice_number and item.get("invoiceSerialNum"):
                self._query_batch([str(item["invoiceSerialNum"])], by="serialNos")
                return

    # --- red-letter forms ---------------------------------------------------------------------

    def _all_forms(self, payload):
        """Every form where we are the seller (``payload``: filters), page after page."""
        for page in range(1, MAX_FORM_PAGES + 1):
            items = self._forms({**payload, "pageNo": str(page), "pageSize": str(self.capabilities.list_page)})
            yield from items
            if len(items) < self.capabilities.list_page:
                return

    def _forms(self, payload, references=None):
        _code, _describe, result = self.call(QUERY_FORM, {"identity": wire.SELLER, **payload}, references)
        items = result.get("list") if isinstance(result, dict) else None
        return [item for item in items or [] if isinstance(item, dict)]

    def _form_by(self, key, value):
        items = self._forms({key: value}, {"form_number" if key == "billNo" else "serial_no": value})
        return items[0] if items else None

    def _form_outcome(self, item):
        phase = wire.red_form_phase(item)
        if phase == "applying":
            error = TransientError("诺诺 is still applying for the form at the tax bureau; ask again later",
                                   message_zh="诺诺正在向税局申请红字确认单，请稍后再查")
            error.ambiguous = True
            raise error
        if phase == "application_failed":
            message = str(item.get("billMessage") or "")
            raise SerialRejected(f"the tax bureau refused the form: {message}",
                                 message_zh=f"税局拒绝了红字确认单：{message}",
                                 platform_code=wire.RED_FORM_APPLICATION_FAILED)
        return wire.red_form_result(item)

    def apply_red_form(self, form):
        blue = self._blue_invoice(form.blue_invoice_number) if self._blue_invoice else None
        if blue is None:
            raise NotFound(f"the blue invoice {form.blue_invoice_number} is needed to apply for its form at 诺诺",
                           message_zh=f"向诺诺申请红字确认单需要蓝字发票 {form.blue_invoice_number} 的内容")
        problems = wire.red_form_problems(form, blue)
        if problems:
            raise ValidationFailed(problems)
        existing = self._form_by("billId", form.serial_no)
        if existing is None:
            payload = wire.red_form(form, blue, seller_tax_id=self.seller_tax_id,
                                    extension_number=self.extension_number)
            self.call(SAVE_FORM, payload, {"serial_no": form.serial_no})
            existing = self._form_by("billId", form.serial_no)
        if existing is None:
            error = TransientError("诺诺 accepted the form but does not list it yet; ask again later",
                                   message_zh="诺诺已受理红字确认单但尚未查到，请稍后再查")
            error.ambiguous = True
            raise error
        return self._form_outcome(existing)

    def query_red_forms(self, form_numbers=(), serial_nos=()):
        items = [self._form_by("billNo", number) for number in form_numbers]
        items += [self._form_by("billId", serial) for serial in serial_nos]
        return [wire.red_form_result(item) for item in items if item and not wire.red_form_phase(item)]

    def list_red_forms(self, direction="inbound", status=None, since=None):
        """Inbound forms (the buyer's) reach 诺诺 from the bureau when it is asked to download them
        (refreshInvoiceRedConfirm): asked first, then listed."""
        wanted = wire.BUYER if direction == "inbound" else wire.SELLER
        if direction == "inbound":
            self._session_call(REFRESH_FORMS, identity=wire.SELLER)
        items = self._all_forms({"billStatus": status} if status else {})
        return documents.Listing(wire.red_form_result(item) for item in items
                                 if str(item.get("applySource")) == wanted and not wire.red_form_phase(item))

    def _form_action(self, method, form_number, **extra):
        self.call(method, {"billNo": form_number, "identity": wire.SELLER,
                           "extensionNumber": self.extension_number, **extra}, {"form_number": form_number})
        item = self._form_by("billNo", form_number)
        if item is None:
            raise NotFound(f"诺诺 does not list the form {form_number}",
                           message_zh=f"诺诺查不到红字确认单 {form_number}")
        return wire.red_form_result(item)

    def confirm_red_form(self, form_number):
        return self._form_action(CONFIRM_FORM, form_number, confirmAgreement="1")

    def reject_red_form(self, form_number, reason=""):
        return self._form_action(CONFIRM_FORM, form_number, confirmAgreement="0", confirmReason=reason)

    def revoke_red_form(self, form_number):
        return self._form_action(CANCEL_FORM, form_number)

    def issue_red_invoice(self, serial_no, form_number):
        item = self._form_by("billNo", form_number)
        if item is None:
            raise NotFound(f"诺诺 does not list the form {form_number}",
                           message_zh=f"诺诺查不到红字确认单 {form_number}")
        nuonuo_serial = str(item.get("invoiceSerialNum") or "")
        if nuonuo_serial:
            # 诺诺 issued it itself: read it by its own serial number, report it under ours
            found = self._query_batch([nuonuo_serial], by="serialNos")
            result = next(iter(found.values()), None)
            if result is None or result.status != "issued":
                raise TransientError("诺诺 is issuing the red invoice; ask again later",
                                     message_zh="诺诺正在开具红字发票，请稍后再查")
            result.serial_no, result.red_form_number, result.duplicate = serial_no, form_number, True
            return result
        payload = {"orderNo": serial_no, "taxNum": self.seller_tax_id, "billNo": form_number,
                   "elecInvoiceNumber": str(item.get("blueElecInvoiceNumber") or item.get("blueInvoiceNumber") or ""),
                   "invoiceLine": str(item.get("blueInvoiceLine") or ""), "extensionNumber": self.extension_number}
        code, _describe, _result = self.call(FAST_RED, {k: v for k, v in payload.items() if v},
                                             {"serial_no": serial_no, "form_number": form_number})
        if code == codes.DUPLICATE_ORDER:
            found = self._query_batch([serial_no]).get(serial_no)
            if found is not None:
                found.duplicate = True
                return found
        return documents.InvoiceResult(serial_no=serial_no, status="pending", red_form_number=form_number)

    # --- quota, login, connection -----------------------------------------------------------------

    def _session_call(self, method, **values):
        _code, _describe, result = self.call(method, {"extensionNumber": self.extension_number, **values})
        return result if isinstance(result, dict) else {}

    def query_quota(self):
        quota = wire.quota_result(self._session_call(CREDIT_LINE, queryType="1"))
        if quota is None:
            self._session_call(CREDIT_LINE, queryType="0")   # 诺诺 fetches it from the bureau
            raise TransientError("诺诺 is fetching the credit quota from the tax bureau; ask again in a minute",
                                 message_zh="诺诺正在从税局获取授信额度，请一分钟后再查")
        return quota

    def test_connection(self):
        return self.query_quota()

    def login_status(self):
        result = self._session_call(CERTIFICATION, queryType="2")
        logged_in = str(result.get("certificationStatus") or "") == "1"
        return LoginStatus(logged_in=logged_in, message="" if logged_in else "the drawer must log in to the tax bureau")

    def login_start(self):
        result = self._session_call(QR_CODE, queryType="3")
        if str(result.get("status") or "") == LOGGED_IN:      # nothing to scan (docs/providers/nuonuo.md)
            return LoginStatus(logged_in=True, message=str(result.get("message") or ""))
        if not result.get("qrCode"):
            self._session_call(QR_CODE, queryType="2")   # a new one from the bureau: at most 1 a minute
            for wait in (2, 3):
                self._sleep(wait)
                result = self._session_call(QR_CODE, queryType="3")
                if result.get("qrCode") or str(result.get("status")) == "2":
                    break
        if not result.get("qrCode"):
            raise TransientError(str(result.get("message") or "诺诺 has no QR code yet; ask again in a minute"),
                                 message_zh="诺诺尚未取得登录二维码，请一分钟后再试")
        return LoginStatus(logged_in=False, message=str(result.get("message") or ""), qr_content=str(result["qrCode"]),
                           qr_expires_at=self._clock() + QR_VALIDITY)

    def login_complete(self):
        self._session_call(VERIFY, queryType="0")
        result = self._session_call(VERIFY, queryType="1")
        return LoginStatus(logged_in=str(result.get("status") or "") == LOGGED_IN,
                           message=str(result.get("message") or ""))

    # --- callbacks: a nudge to query ------------------------------------------------------------------

    def open_callback(self, path, headers, body, claim_nonce):
        return open_callback(body)

    def callback_answer(self, path, headers, outcome=CALLBACK_OK, message="", retry_after=None):
        return callback_answer(path, headers, outcome, message, retry_after)


def documents_error_seller(given, configured):
    from ...errors import FieldError  # noqa: PLC0415
    return FieldError.at("seller.taxId", "NUONUO_SELLER", f"{given} is not the company's 诺诺 taxpayer ({configured})",
                         f"{given} 不是本公司在诺诺的纳税人（{configured}）", value=given)


def open_callback(body):
    """诺诺's form post (operater=callback, orderno, content): unsigned, so only the order number is
    taken from it, as a reason to query that order at once; its content is never believed."""
    from urllib.parse import parse_qs  # noqa: PLC0415
    try:
        form = parse_qs((body or b"").decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise CallbackRefused(CALLBACK_MALFORMED, "not a form post") from None
    operation = (form.get("operater") or [""])[0]
    order_no = (form.get("orderno") or [""])[0].strip()
    if operation != "callback" or not order_no or len(order_no) > 64 or not order_no.isprintable():
        raise CallbackRefused(CALLBACK_INVALID, "no invoice callback with an order number")
    return CallbackEvent(event_id=f"nuonuo:{order_no}:{time.time_ns()}", name="invoice.nudge", kind=CALLBACK_INVOICE,
                         result=None, payload={"operater": operation, "orderno": order_no},
                         references={"serial_no": order_no})


def callback_answer(path, headers, outcome=CALLBACK_OK, message="", retry_after=None):
    """What integrators answer 诺诺: ``{"status":"0000","message":"同步成功"}`` (unconfirmed for refusals)."""
    ok = outcome == CALLBACK_OK
    body = {"status": "0000" if ok else "9999", "message": "同步成功" if ok else (message or outcome)}
    return 200, {"Content-Type": "application/json; charset=UTF-8"}, sign.body_text(body).encode("utf-8")
