"""Which language a text the addon writes is read in.

A person's action writes in that person's language (the request's context has it).
A cron runs as OdooBot with no language in its context: what it writes (chatter,
the error field, activity notes) is in the company's language, the language of
its partner, so that a Chinese company reads Chinese whoever clicked nothing.
Errors of :mod:`fapiao` carry an English ``message`` and a Chinese ``message_zh``:
a reader gets the one of their language only.
"""


def company_lang(company):
    """The company's language: its partner's, else English."""
    return company.sudo().partner_id.lang or "en_US"


def writer_lang(env, company):
    """The language of a text written now for ``company``: the context's (a person's action),
    else the company's (a cron)."""
    return env.context.get("lang") or company_lang(company[:1])


def in_writer_lang(records, company=None):
    """``records`` with the language of what they write in their context (see :func:`writer_lang`)."""
    company = company if company is not None else records.company_id[:1]
    lang = writer_lang(records.env, company)
    return records if records.env.context.get("lang") == lang else records.with_context(lang=lang)


def is_zh(lang):
    return (lang or "").lower().startswith("zh")


def error_message(error, lang):
    """A fapiao error's message in ``lang`` only: ``message_zh`` for Chinese, else ``message``;
    any other exception's first argument."""
    message = getattr(error, "message", None)
    if message is not None:
        return (getattr(error, "message_zh", None) or message) if is_zh(lang) else message
    return str(error.args[0] if getattr(error, "args", None) else error)
