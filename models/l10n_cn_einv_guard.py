"""Server-side guards of e-invoice integrity.

Odoo's RPC ignores ``readonly`` and hidden buttons, and a request's context
is the caller's to choose, so neither can protect anything. Two rules live
here, for every model of the addon:

- E-invoice facts (states, numbers, serial numbers, files, errors ...) are
  written only by the addon's own flow. The flow marks its writes with
  :func:`flow`, a context variable of the running thread that no RPC call,
  context key or record can set; any ``create``, ``write`` or ``copy`` that
  touches such a field outside it is refused (:func:`refuse_flow_fields`).
- Every action a user can call checks the real user's e-invoice group and the
  company of every record (:func:`check_access`), sudo or not, whatever the
  caller.
"""

import contextlib
import contextvars

from markupsafe import Markup

from odoo import SUPERUSER_ID, api, models
from odoo.exceptions import AccessError, UserError

_IN_FLOW = contextvars.ContextVar("l10n_cn_einv_in_flow", default=False)

GROUPS = {
    "user": "l10n_cn_einvoice.group_l10n_cn_einv_user",
    "manager": "l10n_cn_einvoice.group_l10n_cn_einv_manager",
}
AUDITOR_GROUP = "l10n_cn_einvoice.group_l10n_cn_einv_auditor"
# mail.thread and mail.activity.mixin keep their own bookkeeping on the records they extend
MAIL_FIELDS_PREFIXES = ("message_", "activity_", "website_message_")


@contextlib.contextmanager
def flow():
    """Writes made meanwhile by this thread are the e-invoice flow's own."""
    token = _IN_FLOW.set(True)
    try:
        yield
    finally:
        _IN_FLOW.reset(token)


def in_flow():
    return _IN_FLOW.get()


def field_labels(model, names):
    descriptions = model.fields_get(sorted(names), ["string"])
    return ", ".join(f"“{descriptions[name]['string']}”" for name in sorted(names) if name in descriptions)


def refuse_flow_fields(model, vals, flow_fields):
    """UserError when ``vals`` (about to be written) set e-invoice facts and the caller is not the
    flow. An empty list of x2many commands sets nothing (a form sends one for every list it shows)."""
    touched = {name for name in set(vals) & set(flow_fields)
               if not (model._fields[name].type in ("one2many", "many2many") and not vals[name])}
    if touched and not in_flow():
        raise UserError(model.env._(
            "%(fields)s can only be set by the e-invoicing process itself (issuing, the platform's answers, "
            "red reversal), never by hand or through the API.",
            fields=field_labels(model, touched)))


def refuse_flow_defaults(model, vals_list, flow_fields):
    """The same rule for ``create``: values given, and defaults taken from the context
    (``default_<field>``), which an RPC caller chooses freely. A value that is the field's own
    default, or empty, sets nothing (a form sends the defaults of the fields it shows)."""
    if in_flow():
        return
    defaults = {key[8:]: value for key, value in model.env.context.items() if key.startswith("default_")}
    for vals in vals_list or [{}]:
        given = {**defaults, **vals}
        for name in set(given) & set(flow_fields):
            default = model._fields[name].default     # Odoo wraps a declared value in a function
            if not given[name] or (default and given[name] == default(model)):
                given.pop(name)
        refuse_flow_fields(model, given, flow_fields)


def check_access(records, level="user", auditors=False):
    """AccessError unless the user behind the call (also under sudo) is an e-invoice user (or
    manager), or with ``auditors`` an e-invoice auditor (read-only actions), of the company of
    every record. ``records`` may be companies."""
    env = records.env
    if env.uid == SUPERUSER_ID:     # the system itself (crons, platform callbacks): nobody logs in as it
        return
    user = env.user
    if not (user.has_group(GROUPS[level]) or (auditors and user.has_group(AUDITOR_GROUP))):
        group = env.ref(GROUPS[level], raise_if_not_found=False)
        raise AccessError(env._("Only members of the group “%(group)s” may do this.",
                                group=group.sudo().name if group else GROUPS[level]))
    companies = records.sudo() if records._name == "res.company" else records.sudo().company_id
    foreign = companies - user.company_ids
    if foreign:
        raise AccessError(env._("You are not allowed to act on e-invoices of %(companies)s.",
                                companies=", ".join(foreign.mapped("name"))))


def may_call_platform(company):
    """Whether the real user may make ``company`` send a request to the tax platform."""
    try:
        check_access(company)
    except AccessError:
        return False
    return True


class L10nCnEinvFlowMixin(models.AbstractModel):
    """Models whose e-invoice facts only the flow writes. A field declared with
    ``l10n_cn_einv_flow=True`` is one; with ``_l10n_cn_einv_flow_only = True`` every field of the
    model is, but for the mail bookkeeping of mail.thread and mail.activity.mixin."""

    _name = "l10n_cn_einv.flow.mixin"
    _description = "E-Invoice Facts Written by the Flow Only"
    _l10n_cn_einv_flow_only = False

    def _valid_field_parameter(self, field, name):
        return name == "l10n_cn_einv_flow" or super()._valid_field_parameter(field, name)

    @api.model
    def _l10n_cn_einv_flow_fields(self):
        if self._l10n_cn_einv_flow_only:
            return {name for name in self._fields if not name.startswith(MAIL_FIELDS_PREFIXES)}
        return {name for name, field in self._fields.items() if getattr(field, "l10n_cn_einv_flow", False)}

    @api.model_create_multi
    def create(self, vals_list):
        if not in_flow():
            self.check_access("create")     # who may not create at all is told so first
            refuse_flow_defaults(self, vals_list, self._l10n_cn_einv_flow_fields())
        return super().create(vals_list)

    def write(self, vals):
        if not in_flow():
            self.check_access("write")
            refuse_flow_fields(self, vals, self._l10n_cn_einv_flow_fields())
        return super().write(vals)

    def _l10n_cn_einv_flow_write(self, vals):
        """The flow's own write of its facts."""
        with flow():
            return self.write(vals)


def text_as_html(text):
    """Plain text (names of products, lines, customers ...) as the HTML of a note: escaped, lines
    kept, and no link made of anything in it (Odoo's plaintext2html turns URLs into links)."""
    return Markup("<p>%s</p>") % Markup("<br/>").join((text or "").splitlines())
