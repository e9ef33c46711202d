"""China time: the tax platform's clock.

The platform's days, months and printed times are those of Asia/Shanghai:
UTC+8 all year (China has kept no daylight saving time since 1991, long before
any e-invoice). "Issued today" means today in China, whatever the time zone of
the person looking, and the credit quota runs by calendar month in China.

Odoo stores datetimes as naive UTC; the platform writes ISO 8601 with +08:00.
These functions go between the two: a naive datetime passed in is UTC, an aware
one is converted, and what they give back as a moment is naive UTC again.
"""

from datetime import date, datetime, time, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
CHINA_TZ_NAME = "Asia/Shanghai"     # for SQL: AT TIME ZONE 'Asia/Shanghai'


def _aware(moment_utc):
    return moment_utc.replace(tzinfo=timezone.utc) if moment_utc.tzinfo is None else moment_utc


def _naive_utc(moment):
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def in_china(moment_utc):
    """``moment_utc`` (naive UTC, or aware) as an aware datetime in China time."""
    return _aware(moment_utc).astimezone(CHINA)


def china_today(moment_utc):
    """The day in China at ``moment_utc``: 2025-03-01 16:30 UTC is 2 March in China."""
    return in_china(moment_utc).date()


def china_midnight_utc(moment_utc, days=0):
    """Naive UTC datetime of midnight in China starting the day of ``moment_utc``, plus ``days``."""
    return china_day_start_utc(china_today(moment_utc) + timedelta(days=days))


def china_month_start_utc(moment_utc, months=0):
    """Naive UTC datetime of midnight in China starting the month of ``moment_utc``, plus ``months``."""
    today = china_today(moment_utc)
    years, month = divmod(today.month - 1 + months, 12)
    return china_day_start_utc(date(today.year + years, month + 1, 1))


def china_day_start_utc(day):
    """Naive UTC datetime of midnight in China starting ``day`` (a date): 16:00 UTC the day before."""
    return _naive_utc(datetime.combine(day, time.min, tzinfo=CHINA))


def china_days_utc(date_from, date_to):
    """(start, end) naive UTC datetimes of the China days ``date_from`` to ``date_to`` included:
    start <= moment < end."""
    return china_day_start_utc(date_from), china_day_start_utc(date_to + timedelta(days=1))


def format_china(moment_utc):
    """``moment_utc`` as a person in China reads it, 2025-03-02 00:30:00; "" for None or False."""
    return in_china(moment_utc).strftime("%Y-%m-%d %H:%M:%S") if moment_utc else ""


def platform_time_text(moment_utc):
    """``moment_utc`` in the platform's own form: ISO 8601 in China time, to the second, with +08:00."""
    return in_china(moment_utc).isoformat(timespec="seconds")


def from_epoch_ms(ms):
    """Milliseconds since 1970 as an aware datetime in China time."""
    return datetime.fromtimestamp(ms / 1000, CHINA)


def parse_platform_time(text):
    """A time the platform wrote (ISO 8601: ``2025-03-01T10:00:00+08:00``, ``...Z``, a space for the
    T) as a naive UTC datetime, as Odoo stores it; None for empty text (None, "", Odoo's False).
    Text without an offset is China time: the platform's clock. Raises ValueError for text that is
    no such time."""
    if text is None or text is False or not str(text).strip():
        return None
    value = str(text).strip()
    if value[-1:] in ("Z", "z"):
        value = f"{value[:-1]}+00:00"
    moment = datetime.fromisoformat(value)
    return _naive_utc(moment if moment.tzinfo else moment.replace(tzinfo=CHINA))
