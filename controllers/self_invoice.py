"""The customer's own e-invoice request page (扫码开票 / 申请开票): models/l10n_cn_einv_request.py decides,
this carries the HTTP request and answer. A link is /l10n_cn_einvoice/request/<id>/<secret>: the id
finds the request, the secret is compared in constant time."""

import logging

from odoo import SUPERUSER_ID, http
from odoo.http import request

from ..fapiao import selfinvoice
from ..models.l10n_cn_einv_request import SelfInvoiceRefused

_logger = logging.getLogger(__name__)

FORM_FIELDS = ("title_type", "invoice_type", "name", "tax_id", "address_phone", "bank_account", "email")
PAGE_LANG = "zh_CN"     # the page is Chinese wherever Chinese is installed


class L10nCnEinvSelfInvoice(http.Controller):

    @staticmethod
    def _l10n_cn_einv_env():
        """The superuser's environment in the page's language (also the one the page renders in)."""
        lang = PAGE_LANG if PAGE_LANG in dict(request.env["res.lang"].get_installed()) else request.env.lang
        if lang != request.env.lang:
            request.update_context(lang=lang)
        return request.env(user=SUPERUSER_ID, su=True)

    @staticmethod
    def _l10n_cn_einv_find(env, request_id, token):
        """The request the link names, when the link's secret is its own; else None."""
        found = env["l10n_cn_einv.request"].browse(request_id).exists()
        if found and found._l10n_cn_einv_token_matches(token):
            return found.with_company(found.company_id)
        if found or request_id:
            _logger.info("invoice request %s: wrong or forged link from %s", request_id,
                         request.httprequest.remote_addr)
        return None

    def _l10n_cn_einv_render(self, template, req=None, status=200, **values):
        if req:
            values.setdefault("company", req.company_id)
            values.setdefault("source_name", req.display_source)
            values.setdefault("email", req.email)
            values.setdefault("refresh_url", req._l10n_cn_einv_path())
        values.setdefault("company", None)
        return request.render(template, values, status=status)

    def _l10n_cn_einv_message(self, kind, message, req=None, status=200, **values):
        return self._l10n_cn_einv_render("l10n_cn_einvoice.l10n_cn_einv_request_message", req, status=status,
                                         kind=kind, message=message, **values)

    def _l10n_cn_einv_invalid(self, env):
        return self._l10n_cn_einv_message(
            "invalid", env._("This invoice request link is not valid. Please scan the code again or contact "
                             "the shop."), status=404)

    def _l10n_cn_einv_status(self, req, notice=None):
        moves = req._l10n_cn_einv_moves()
        return self._l10n_cn_einv_render(
            "l10n_cn_einvoice.l10n_cn_einv_request_status", req, moves=moves, notice=notice,
            refresh_seconds=5 if req._l10n_cn_einv_waiting() else None)

    def _l10n_cn_einv_form(self, req, values=None, problems=None, status=200):
        return self._l10n_cn_einv_render(
            "l10n_cn_einvoice.l10n_cn_einv_request_form", req, status=status, values=values or {},
            problems=problems or [], action=req._l10n_cn_einv_path(), last_day=req._l10n_cn_einv_last_day())

    def _l10n_cn_einv_refusal(self, env, req):
        """Why the form is not offered (a message page), or None."""
        if req.state == "submitted":
            return None
        if req._l10n_cn_einv_expired():
            return self._l10n_cn_einv_message("expired", env._(
                "This invoice request link has expired. Please contact the shop."), req, status=410)
        source = req._l10n_cn_einv_source()
        refusal = source and source.with_company(req.company_id)._l10n_cn_einv_request_refusal()
        if not source or refusal:
            return self._l10n_cn_einv_message("refused", refusal or env._("This invoice request link is not valid."),
                                              req, status=409)
        return None

    @http.route("/l10n_cn_einvoice/request/<int:request_id>/<string:token>", type="http", auth="public",
                methods=["GET"], sitemap=False)
    def l10n_cn_einv_request_page(self, request_id, token, **kwargs):
        env = self._l10n_cn_einv_env()
        req = self._l10n_cn_einv_find(env, request_id, token)
        if not req:
            return self._l10n_cn_einv_invalid(env)
        if req.state == "submitted":
            return self._l10n_cn_einv_status(req)
        return self._l10n_cn_einv_refusal(env, req) or self._l10n_cn_einv_form(req, values={"email": req.email})

    @http.route("/l10n_cn_einvoice/request/<int:request_id>/<string:token>", type="http", auth="public",
                methods=["POST"], csrf=True, sitemap=False)
    def l10n_cn_einv_request_submit(self, request_id, token, **post):
        env = self._l10n_cn_einv_env()
        req = self._l10n_cn_einv_find(env, request_id, token)
        if not req:
            return self._l10n_cn_einv_invalid(env)
        remote_addr = request.httprequest.remote_addr
        if env["l10n_cn_einv.request"]._l10n_cn_einv_rate_exceeded(remote_addr, req.id):
            return self._l10n_cn_einv_message("rate", env._(
                "Too many requests: please wait a few minutes before submitting again."), req, status=429)
        if req.state == "submitted":
            return self._l10n_cn_einv_message("replayed", env._(
                "This request was already submitted: the e-invoice is issued once only. Its status is shown below."),
                req, status=409, moves=req._l10n_cn_einv_moves())
        refusal = self._l10n_cn_einv_refusal(env, req)
        if refusal:
            return refusal
        values = {name: post.get(name, "") for name in FORM_FIELDS}
        title = selfinvoice.validate_title(values, limits=req.company_id._l10n_cn_einv_capabilities().limits,
                                           special_offered=req.company_id.l10n_cn_einv_request_special)
        if title.problems:
            chinese = (env.lang or "").startswith("zh")
            problems = [(problem.field, problem.message_zh if chinese else problem.message)
                        for problem in title.problems]
            return self._l10n_cn_einv_form(req, values, problems, status=422)
        try:
            req._l10n_cn_einv_submit(title, remote_addr=remote_addr)
        except SelfInvoiceRefused as refused:
            refreshing = refused.kind == "busy"
            return self._l10n_cn_einv_message(
                refused.kind, refused.message, req, status=409,
                moves=req._l10n_cn_einv_moves() if refused.kind == "replayed" else None,
                refresh_seconds=3 if refreshing else None)
        return request.redirect(req._l10n_cn_einv_path(), code=303)
