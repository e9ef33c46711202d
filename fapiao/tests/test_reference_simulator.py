"""The reference provider's simulator (EmbeddedSandbox): how the neutral names reach the sandbox."""

import pytest

from fapiao import provider
from fapiao.errors import TransientError
from fapiao.providers.reference.simulator import EmbeddedSandbox
from fapiao.tests.test_client import make_invoice
from fapiao.tests.test_keyring import SM2_KEY
from fapiao.tests.test_simulators import OPTIONS, SELLER


@pytest.fixture
def sim(tmp_path):
    with provider.get("reference").simulator(tmp_path / "platform") as running:
        yield running


def connect(account):
    spec = provider.get("reference")
    return spec.connect(account.connect_settings(spec), **OPTIONS)


def register(sim, key="app-1", **options):
    return sim.register(key, seller_tax_id=SELLER.seller_tax_id, seller_name=SELLER.seller_name, **options)


def test_the_simulator_is_the_sandbox_without_its_demo_application(sim):
    assert isinstance(sim, EmbeddedSandbox) and sim.url == sim.sandbox.url
    assert sim.sandbox.default_app is None and sim.accounts() == []


def test_an_account_is_an_application_with_fresh_credentials(sim):
    account = register(sim)
    app = sim.sandbox.get_app("app-1")
    assert account.settings == {"endpoint": sim.url, "app_id": "app-1", "app_secret": app.secret,
                                "sm4_key": app.sm4_key_hex}
    assert register(sim, "app-2").settings["app_secret"] != app.secret
    with pytest.raises(ValueError, match="app-1"):
        register(sim, settings={"app_id": "app-9"})


def test_an_sm2_private_key_given_signs_the_requests(sim):
    account = register(sim, settings={"sm2_private_key": SM2_KEY})
    assert account.settings["sm2_private_key"] == SM2_KEY and sim.sandbox.get_app("app-1").sm2_public_key
    assert register(sim).settings["sm2_private_key"] == SM2_KEY     # kept when registered again
    with connect(account) as seller:
        assert seller.issue(make_invoice(SELLER, "SM2-1")).status == "issued"


def test_neutral_faults_become_the_sandboxs_settings(sim):
    register(sim)
    in_force = sim.set_faults("app-1", drop=0.5, disconnect=0.25, pending=1.0, pending_failure=0.5,
                              login_lapsed=True, retry_after=3, seed=7)
    settings = sim.sandbox.faults.settings(sim.sandbox.get_app("app-1"))
    assert (settings.lost, settings.drop, settings.pending_rate, settings.pending_fail_rate) == (0.5, 0.25, 1.0, 0.5)
    assert (settings.login_lapsed, settings.retry_after, settings.seed) == (True, 3, 7)
    assert in_force["drop"] == 0.5 and in_force["busy"] == 0.0 and set(in_force) == set(sim.FAULTS + sim.FAULT_OPTIONS)
    sim.reset()
    assert sim.sandbox.faults.settings(sim.sandbox.get_app("app-1")).lost == 0.0


def test_disconnect_closes_the_connection_before_anything_is_done(sim):
    account = register(sim)
    sim.set_faults("app-1", disconnect=1.0)
    with connect(account) as seller, pytest.raises(TransientError):
        seller.issue(make_invoice(SELLER, "DISC-1"))
    assert sim.stats("app-1")["invoices"] == 0 and sim.stats("app-1")["faults"] >= 1
