from urllib.parse import urlencode

from odoo import SUPERUSER_ID, http
from odoo.http import request


class L10nCnEinvCallbackController(http.Controller):
    """Callbacks of the tax platform (docs/protocol.md §8; 诺诺's form posts): the checks and the events are handled by
    the ``l10n_cn_einv.callback`` model; this only carries the HTTP request and answer."""

    @http.route("/l10n_cn_einvoice/callback/<int:company_id>", type="http", auth="public", methods=["POST"],
                csrf=False, save_session=False)
    def l10n_cn_einv_callback(self, company_id, **kwargs):
        httprequest = request.httprequest
        # The platform is not a user: events are applied as the superuser (OdooBot in the chatter).
        env = request.env(user=SUPERUSER_ID, su=True)
        body = httprequest.get_data()
        if not body and httprequest.form:
            # a form post (诺诺's callbacks) was parsed, and its body consumed, before this route ran
            body = urlencode(list(httprequest.form.items(multi=True))).encode()
        status, headers, body = env["l10n_cn_einv.callback"]._l10n_cn_einv_receive(
            company_id, httprequest.path, httprequest.headers, body)
        return request.make_response(body, headers=list(headers.items()), status=status)
