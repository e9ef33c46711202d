"""The drawer's tax-bureau login on the sandbox (docs/protocol.md §6.9): status, QR codes and their
limits (one every 30 s, 20 a China day, valid 5 minutes on the business clock), verification."""

from datetime import timedelta

import pytest
import requests

from fapiao import provider
from fapiao.errors import LoginRateLimited, LoginRequired
from fapiao.providers.reference.protocol import LOGIN_QR_INTERVAL_SECONDS, LOGIN_QR_PER_DAY, LOGIN_QR_SECONDS
from fapiao.providers.reference.sandbox.clock import at
from fapiao.providers.reference.sandbox.refusal import Refusal
from fapiao.tests.test_reference_provider import FAST, settings_of


@pytest.fixture
def lapsed(sandbox, app):
    sandbox.set_faults(app.app_id, login_lapsed=True)
    return app


def qr_code(wire):
    data = wire.ok("login.qrcode", {})
    assert data["loggedIn"] is False and data["qrContent"] and isinstance(data["expiresAt"], int)
    return data


def scan(sandbox, app):
    return requests.post(sandbox.url + "/admin/login/scan", json={"appId": app.app_id}, timeout=5)


def test_status_follows_the_lapsed_login(wire, sandbox, app):
    status = wire.ok("login.status", {})
    assert status["loggedIn"] is True and status["message"] and set(status) == {"loggedIn", "message"}
    sandbox.set_faults(app.app_id, login_lapsed=True)
    status = wire.ok("login.status", {})
    assert status["loggedIn"] is False and "电子税局" in status["message"] and "tax bureau" in status["message"]


def test_a_logged_in_drawer_gets_no_qr_code_and_nothing_is_counted(wire, sandbox, app):
    for _ in range(3):
        assert "qrContent" not in wire.ok("login.qrcode", {})
    assert wire.ok("login.verify", {})["loggedIn"] is True
    sandbox.set_faults(app.app_id, login_lapsed=True)
    qr_code(wire)       # the three asked for before count neither for the 30 s nor for the day


def test_the_qr_code_scanned_then_verified_logs_the_drawer_in(wire, sandbox, lapsed, make_invoice):
    assert wire.call("invoice.issue", make_invoice("LOGIN-1")).code == "2007"
    assert wire.ok("login.verify", {})["loggedIn"] is False         # no QR code asked for
    shown = qr_code(wire)
    assert 0 < shown["expiresAt"] - sandbox.clock.now_ms() <= LOGIN_QR_SECONDS * 1000
    waiting = wire.ok("login.verify", {})
    assert waiting["loggedIn"] is False and "scan" in waiting["message"]
    answer = scan(sandbox, lapsed)
    assert answer.status_code == 200
    assert answer.json()["qr"]["qrContent"] == shown["qrContent"] and answer.json()["qr"]["status"] == "scanned"
    assert wire.ok("login.status", {})["loggedIn"] is False          # not until verified
    assert wire.ok("login.verify", {})["loggedIn"] is True
    assert wire.ok("login.status", {})["loggedIn"] is True
    assert sandbox.faults.settings(sandbox.get_app(lapsed.app_id)).login_lapsed is False
    assert wire.ok("invoice.issue", make_invoice("LOGIN-1"))["status"] == "issued"
    assert wire.ok("login.verify", {})["loggedIn"] is True          # again: the same


def test_asking_again_within_30_seconds_is_refused(wire, sandbox, lapsed):
    qr_code(wire)
    sandbox.advance_clock(LOGIN_QR_INTERVAL_SECONDS - 10)
    refused = wire.call("login.qrcode", {})
    assert (refused.code, refused.response.status_code, refused.signed) == ("2008", 429, True)
    assert refused.body["retryAfter"] == 10 and refused.data is None
    sandbox.advance_clock(10)
    qr_code(wire)


def test_twenty_qr_codes_a_china_day(wire, sandbox, lapsed):
    # start just after midnight (China time), so that the 20 codes fall on one day whenever the test runs
    now = at(sandbox.clock.now_ms())
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    sandbox.advance_clock((midnight - now).total_seconds() + 60)
    shown = []
    for _ in range(LOGIN_QR_PER_DAY):
        shown.append(qr_code(wire)["qrContent"])
        sandbox.advance_clock(LOGIN_QR_INTERVAL_SECONDS)
    assert len(set(shown)) == LOGIN_QR_PER_DAY
    refused = wire.call("login.qrcode", {})
    assert (refused.code, refused.response.status_code) == ("2009", 429)
    until_midnight = 24 * 3600 - 60 - LOGIN_QR_PER_DAY * LOGIN_QR_INTERVAL_SECONDS
    assert until_midnight - 2 <= refused.body["retryAfter"] <= until_midnight + 1
    sandbox.advance_clock(refused.body["retryAfter"])
    qr_code(wire)       # a new day


def test_an_expired_qr_code_cannot_be_scanned(wire, sandbox, lapsed):
    qr_code(wire)
    sandbox.advance_clock(LOGIN_QR_SECONDS)
    answer = scan(sandbox, lapsed)
    assert (answer.status_code, answer.json()["code"]) == (409, "3003")
    with pytest.raises(Refusal) as info:
        sandbox.scan_login_qr(lapsed.app_id)
    assert info.value.code_name == "STATE_CONFLICT"
    late = wire.ok("login.verify", {})
    assert late["loggedIn"] is False and "expired" in late["message"]
    qr_code(wire)
    assert scan(sandbox, lapsed).status_code == 200
    sandbox.advance_clock(LOGIN_QR_SECONDS)          # scanned in time: verified whenever
    assert wire.ok("login.verify", {})["loggedIn"] is True


def test_only_the_latest_qr_code_can_be_scanned(wire, sandbox, lapsed):
    first = qr_code(wire)
    sandbox.advance_clock(LOGIN_QR_INTERVAL_SECONDS)
    second = qr_code(wire)
    scanned = sandbox.scan_login_qr(lapsed.app_id)
    assert scanned["qrContent"] == second["qrContent"] != first["qrContent"]
    assert sandbox.scan_login_qr(lapsed.app_id) == scanned          # scanning again changes nothing


def test_an_operator_changing_the_login_voids_the_qr_codes_shown(wire, sandbox, lapsed):
    qr_code(wire)
    sandbox.scan_login_qr(lapsed.app_id)
    sandbox.set_faults(lapsed.app_id, login_lapsed=False)
    sandbox.set_faults(lapsed.app_id, login_lapsed=True)     # lapsed again: that scan logs nobody in
    assert wire.ok("login.verify", {})["loggedIn"] is False
    with pytest.raises(Refusal) as info:
        sandbox.scan_login_qr(lapsed.app_id)
    assert info.value.code_name == "NOT_FOUND"


def test_the_admin_scan_route_refuses_what_it_cannot_scan(sandbox, app):
    answer = scan(sandbox, app)
    assert (answer.status_code, answer.json()["code"]) == (404, "3002")
    unknown = requests.post(sandbox.url + "/admin/login/scan", json={"appId": "nobody"}, timeout=5)
    assert unknown.status_code == 404
    assert requests.post(sandbox.url + "/admin/login/scan", json={}, timeout=5).status_code == 400


def test_the_login_services_are_not_refused_with_2007_nor_are_they_bureau_services(wire, lapsed):
    for service in ("login.status", "login.qrcode", "login.verify"):
        assert wire.call(service, {}).code == "0000"


def test_the_qr_codes_outlive_a_restart(tmp_path, wire_for):
    from fapiao.providers.reference.sandbox import Sandbox

    with Sandbox(tmp_path / "kept.db") as first:
        first.set_faults(first.default_app.app_id, login_lapsed=True)
        shown = qr_code(wire_for(first.url, first.default_app))
    with Sandbox(tmp_path / "kept.db") as second:
        wire = wire_for(second.url, second.default_app)
        assert wire.call("login.qrcode", {}).code == "2008"
        assert second.scan_login_qr(second.default_app.app_id)["qrContent"] == shown["qrContent"]
        assert wire.ok("login.verify", {})["loggedIn"] is True


# --- through the reference client -------------------------------------------------------------------

def test_the_client_says_when_a_qr_code_can_be_had(sandbox, lapsed):
    with provider.get("reference").connect(settings_of(sandbox, lapsed), retry_schedule=FAST) as client:
        started = client.login_start()
        assert started.qr_content.startswith("fapiao-sandbox://") and not started.logged_in
        assert abs(started.qr_expires_at * 1000 - sandbox.clock.now_ms() - LOGIN_QR_SECONDS * 1000) < 5000
        with pytest.raises(LoginRateLimited) as info:
            client.login_start()
        assert info.value.platform_code == "2008" and 0 < info.value.retry_after <= LOGIN_QR_INTERVAL_SECONDS
        assert not info.value.retryable and "二维码" in info.value.message_zh
        with pytest.raises(LoginRequired):
            client.issue_red_invoice("LOGIN-RED", "1" * 24)
        sandbox.scan_login_qr(lapsed.app_id)
        assert client.login_complete().logged_in
    assert sandbox.stats(lapsed.app_id)["requests"]["byService"]["login.qrcode"] == 2
