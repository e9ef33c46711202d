"""Read-only e-invoice actions (the dashboard, the analyses, the audit report) are open to
auditors as well as to the group :func:`check_access` names; anything that reaches the tax
platform is not (auditors change nothing and cost no platform request)."""

from odoo.exceptions import AccessError

from .l10n_cn_einv_guard import check_access

AUDITOR_GROUP = "l10n_cn_einvoice.group_l10n_cn_einv_auditor"


def check_read_access(records, level="user"):
    """:func:`check_access` at ``level``, where e-invoice auditors pass too: AccessError unless
    the real user (also under sudo) is in that group or an auditor, and works in the company of
    every record. ``records`` may be companies."""
    try:
        check_access(records, level)
        return
    except AccessError:
        user = records.env.user
        if not user.has_group(AUDITOR_GROUP):
            raise
    companies = records.sudo() if records._name == "res.company" else records.sudo().company_id
    foreign = companies - user.company_ids
    if foreign:
        raise AccessError(records.env._("You are not allowed to act on e-invoices of %(companies)s.",
                            companies=", ".join(foreign.mapped("name"))))


def may_call_platform(company):
    """Whether the real user may make ``company`` send a request to the tax platform."""
    try:
        check_access(company, "user")
    except AccessError:
        return False
    return True
