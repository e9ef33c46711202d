"""China time: days, months and the platform's times around naive UTC datetimes."""

from datetime import date, datetime, timedelta, timezone

import pytest

from fapiao.chinatime import (
    CHINA,
    china_day_start_utc,
    china_days_utc,
    china_midnight_utc,
    china_month_start_utc,
    china_today,
    format_china,
    from_epoch_ms,
    in_china,
    parse_platform_time,
    platform_time_text,
)


def test_china_is_utc_plus_8_all_year():
    for month in range(1, 13):
        assert in_china(datetime(2025, month, 15, 12)).utcoffset() == timedelta(hours=8)
    assert datetime(2025, 7, 1, tzinfo=CHINA).tzname() == "Asia/Shanghai"


@pytest.mark.parametrize(("moment", "day"), [
    (datetime(2025, 3, 1, 15, 59, 59), date(2025, 3, 1)),
    (datetime(2025, 3, 1, 16, 0), date(2025, 3, 2)),
    (datetime(2024, 12, 31, 16, 0), date(2025, 1, 1)),
    (datetime(2025, 3, 1, 16, 0, tzinfo=timezone.utc), date(2025, 3, 2)),
    (datetime(2025, 3, 2, 0, 30, tzinfo=CHINA), date(2025, 3, 2)),
])
def test_china_today(moment, day):
    assert china_today(moment) == day


def test_midnights_and_month_starts_in_naive_utc():
    moment = datetime(2025, 3, 1, 16, 30)        # 2 March, 00:30 in China
    assert china_midnight_utc(moment) == datetime(2025, 3, 1, 16, 0)
    assert china_midnight_utc(moment, days=1) == datetime(2025, 3, 2, 16, 0)
    assert china_midnight_utc(moment, days=-2) == datetime(2025, 2, 27, 16, 0)
    assert china_month_start_utc(moment) == datetime(2025, 2, 28, 16, 0)
    assert china_month_start_utc(moment, months=1) == datetime(2025, 3, 31, 16, 0)
    assert china_month_start_utc(datetime(2025, 12, 20), months=1) == datetime(2025, 12, 31, 16, 0)
    assert china_month_start_utc(datetime(2025, 1, 20), months=-1) == datetime(2024, 11, 30, 16, 0)
    assert china_month_start_utc(datetime(2025, 1, 20), months=-13) == datetime(2023, 11, 30, 16, 0)
    assert china_day_start_utc(date(2025, 1, 1)) == datetime(2024, 12, 31, 16, 0)
    assert china_days_utc(date(2025, 3, 1), date(2025, 3, 31)) == (datetime(2025, 2, 28, 16, 0),
                                                                   datetime(2025, 3, 31, 16, 0))


def test_times_a_person_in_china_reads():
    assert format_china(datetime(2025, 3, 1, 16, 30, 5)) == "2025-03-02 00:30:05"
    assert format_china(None) == format_china(False) == ""


@pytest.mark.parametrize(("text", "moment"), [
    ("2025-03-02T00:30:05+08:00", datetime(2025, 3, 1, 16, 30, 5)),
    ("2025-03-01T16:30:05Z", datetime(2025, 3, 1, 16, 30, 5)),
    ("2025-03-01T16:30:05.250+00:00", datetime(2025, 3, 1, 16, 30, 5, 250000)),
    ("2025-03-02 00:30:05+08:00", datetime(2025, 3, 1, 16, 30, 5)),
    ("2025-03-02T00:30:05", datetime(2025, 3, 1, 16, 30, 5)),      # no offset: the platform's clock
    (" 2025-03-02T00:30:05+08:00 ", datetime(2025, 3, 1, 16, 30, 5)),
    ("", None), (None, None), (False, None), ("  ", None),
])
def test_parse_platform_time(text, moment):
    assert parse_platform_time(text) == moment


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01T00:00:00+08:00", "2025-03-02T00:30:05+25:00"])
def test_what_is_no_time_is_refused(text):
    with pytest.raises(ValueError):
        parse_platform_time(text)


def test_platform_time_text_round_trips():
    moment = datetime(2025, 3, 1, 16, 30, 5)
    assert platform_time_text(moment) == "2025-03-02T00:30:05+08:00"
    assert platform_time_text(moment.replace(microsecond=999999)) == "2025-03-02T00:30:05+08:00"
    assert parse_platform_time(platform_time_text(moment)) == moment


def test_epoch_milliseconds_in_china_time():
    assert from_epoch_ms(1740846605000) == datetime(2025, 3, 2, 0, 30, 5, tzinfo=CHINA)
    assert from_epoch_ms(1740846605000).isoformat() == "2025-03-02T00:30:05+08:00"
