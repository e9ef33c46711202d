"""The admin endpoint: plain JSON (no envelope, no signature) for operators and tests.

Only loopback clients are served, and when the platform was started with
--admin-token they must send it in ``X-Admin-Token``. Every route calls the
Sandbox helper of the same name, so Python tests and HTTP clients get the
same behaviour; docs/sandbox.md lists the routes.
"""

import hmac
import ipaddress
from urllib.parse import parse_qs

from ....documents import RedForm
from .. import protocol
from ..wire import errors_to_wire, from_wire
from .faults import FaultSettings
from .gate import json_reply
from .refusal import Refusal

APP_FIELDS = {"secret": "secret", "sm4Key": "sm4_key_hex", "sellerTaxId": "seller_tax_id",
              "sellerName": "seller_name", "sm2PublicKey": "sm2_public_key", "callbackUrl": "callback_url",
              "quota": "quota", "enabled": "enabled", "rateLimit": "rate_limit"}


class AdminError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def app_view(app, sandbox):
    """An application without its secret and keys."""
    return {"appId": app.app_id, "sellerTaxId": app.seller_tax_id, "sellerName": app.seller_name,
            "callbackUrl": app.callback_url, "sm2": bool(app.sm2_public_key),
            "quota": str(sandbox.ledger.quota_total(app)), "enabled": app.enabled,
            "rateLimit": sandbox.gateway.rate_of(app),
            "faults": sandbox.faults.settings(app).to_wire()}


def _required(body, key):
    value = body.get(key)
    if value in (None, ""):
        raise AdminError(400, f"{key} is required")
    return value


# --- routes: (sandbox, body or query dict) -> JSON value ---------------------------------------

def _post_app(sandbox, body):
    changes = {name: body[wire] for wire, name in APP_FIELDS.items() if wire in body}
    return app_view(sandbox.add_app(_required(body, "appId"), **changes), sandbox)


def _get_apps(sandbox, _query):
    return {"apps": [app_view(app, sandbox) for app in sandbox.apps.all()]}


def _post_faults(sandbox, body):
    unknown = set(body) - set(FaultSettings.WIRE) - {"appId"}
    if unknown:
        raise AdminError(400, f"unknown fault settings: {', '.join(sorted(unknown))}")
    settings = {FaultSettings.WIRE[k]: v for k, v in body.items() if k != "appId"}
    return {"appId": body.get("appId"),
            "faults": sandbox.set_faults(_required(body, "appId"), **settings).to_wire()}


def _get_faults(sandbox, query):
    app = sandbox.get_app(_required(query, "appId"))
    return {"appId": app.app_id, "faults": sandbox.faults.settings(app).to_wire()}


def _post_clock(sandbox, body):
    seconds = body.get("advanceSeconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise AdminError(400, "advanceSeconds (a number of seconds >= 0) is required")
    sandbox.advance_clock(seconds)
    return sandbox.clock_state()


def _get_clock(sandbox, _query):
    return sandbox.clock_state()


def _post_latency(sandbox, body):
    return {"latency": sandbox.set_latency(body.get("latency"))}


def _get_latency(sandbox, _query):
    return {"latency": sandbox.latency}


def _confirm_use(sandbox, body):
    return {"invoice": sandbox.buyer_confirm_use(_required(body, "invoiceNumber"))}


def _buyer_apply(sandbox, body):
    number = _required(body, "blueInvoiceNumber")
    reason = body.get("reason") or "01"
    # Read the lines as a form's, for the same field errors (ValidationFailed: 400).
    lines = from_wire(RedForm, {"serialNo": "admin", "blueInvoiceNumber": number, "reason": reason,
                               "lines": body.get("lines") or []}).lines
    return {"form": sandbox.buyer_apply_red_form(number, reason, lines, app_id=body.get("appId"))}


def _buyer_confirm(sandbox, body):
    return {"form": sandbox.buyer_confirm(_required(body, "formNumber"))}


def _buyer_reject(sandbox, body):
    return {"form": sandbox.buyer_reject(_required(body, "formNumber"))}


def _scan_login_qr(sandbox, body):
    return {"qr": sandbox.scan_login_qr(_required(body, "appId"))}


def _post_catalogue(sandbox, body):
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise AdminError(400, "items (a list of catalogue entries) is required")
    return {"upserted": sandbox.upsert_catalogue(items), "version": sandbox.table.version}


def _get_stats(sandbox, query):
    return sandbox.stats(query.get("appId"))


def _get_invoices(sandbox, query):
    return {"invoices": sandbox.invoices(query.get("appId"))}


def _get_callbacks(sandbox, query):
    return {"callbacks": sandbox.callback_deliveries(query.get("appId"))}


ROUTES = {
    ("POST", "/admin/apps"): _post_app,
    ("GET", "/admin/apps"): _get_apps,
    ("POST", "/admin/faults"): _post_faults,
    ("GET", "/admin/faults"): _get_faults,
    ("POST", "/admin/clock"): _post_clock,
    ("GET", "/admin/clock"): _get_clock,
    ("POST", "/admin/latency"): _post_latency,
    ("GET", "/admin/latency"): _get_latency,
    ("POST", "/admin/invoices/confirm-use"): _confirm_use,
    ("GET", "/admin/invoices"): _get_invoices,
    ("POST", "/admin/red-forms/buyer-apply"): _buyer_apply,
    ("POST", "/admin/red-forms/buyer-confirm"): _buyer_confirm,
    ("POST", "/admin/red-forms/buyer-reject"): _buyer_reject,
    ("POST", "/admin/login/scan"): _scan_login_qr,
    ("POST", "/admin/catalogue"): _post_catalogue,
    ("GET", "/admin/stats"): _get_stats,
    ("GET", "/admin/callbacks"): _get_callbacks,
}


def _loopback(client_ip):
    try:
        return ipaddress.ip_address(client_ip).is_loopback
    except ValueError:
        return False


def handle(sandbox, request):
    method, path = request.method, request.path
    if not _loopback(request.client_ip):
        return json_reply(403, {"error": "the admin endpoint only answers loopback clients"})
    if sandbox.admin_token and not hmac.compare_digest(
            (request.headers.get("X-Admin-Token") or "").encode(), sandbox.admin_token.encode()):
        return json_reply(401, {"error": "X-Admin-Token missing or wrong"})
    route = ROUTES.get((method, path))
    if route is None:
        return json_reply(404, {"error": f"no admin route {method} {path}",
                           "routes": [f"{m} {p}" for m, p in ROUTES]})
    try:
        if method == "GET":
            arguments = {k: v[-1] for k, v in parse_qs(request.query).items()}
        else:
            arguments = protocol.parse_json_object(request.body or b"{}", parse_int=protocol.read_integer)
            # As on /v1: no integer the platform could not store, no text UTF-8 cannot carry.
            errors = protocol.payload_errors(arguments)
            if errors:
                raise Refusal("PARAMETER_ERROR", "; ".join(map(str, errors)),
                              errors=errors_to_wire(errors))
        return json_reply(200, route(sandbox, arguments))
    except protocol.EnvelopeError as error:
        return json_reply(400, {"error": str(error)})
    except AdminError as error:
        return json_reply(error.status, {"error": str(error)})
    except Refusal as refusal:
        code = protocol.CODE[refusal.code_name]
        return json_reply(protocol.RETURN_CODES[code].http_status,
                     {"error": refusal.message or protocol.RETURN_CODES[code].message_en, "code": code,
                      "errors": refusal.errors or []})
    except KeyError as error:
        return json_reply(404, {"error": str(error.args[0]) if error.args else "not found"})
    except ValueError as error:  # includes ValidationFailed of catalogue entries
        return json_reply(400, {"error": str(error)})
