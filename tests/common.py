import contextlib
import logging
import os
import shutil
import tempfile
import time

from odoo import Command, fields

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from ..fapiao import provider
from ..models import l10n_cn_einv_platform as platform

SELLER_TAX_ID = "91350100M000100Y43"
BUYER_TAX_ID = "91310000MA1FL0XL39"
PRINTER_CODE = "1090511030000000000"   # 计算机外部设备, 13 %
SERVICE_CODE = "3040201990000000000"   # 信息技术服务, 6 %
PENDING_SECONDS = 60   # how long (business clock) the platform keeps a submission pending when asked to
ADDON_LOGGER = __name__.rpartition(".tests.")[0]  # its models, controllers, fapiao and sandbox log below it
# The provider whose simulator plays the platform: the end-to-end tests run against any provider
# that has one (L10N_CN_EINV_TEST_PROVIDER=<code> make test).
TEST_PROVIDER = os.environ.get("L10N_CN_EINV_TEST_PROVIDER") or platform.DEFAULT_PROVIDER
# What each provider calls the exchanges the tests look for in the interaction log.
SERVICES = {
    "reference": {"issue": "invoice.issue", "query": "invoice.query", "red_apply": "redform.apply",
                  "red_issue": "redinvoice.issue", "red_revoke": "redform.revoke"},
    "nuonuo": {"issue": "requestBillingNew", "query": "queryInvoiceResult", "red_apply": "saveInvoiceRedConfirm",
               "red_issue": "queryInvoiceRedConfirm", "red_revoke": "confirmInfoCancel"},
}
# The providers whose issue answers a serial number only, so that the result is asked for at once.
ISSUE_ANSWERS_PENDING = ("nuonuo",)


def service(spec, operation):
    """The log's name of ``operation`` (a key of SERVICES; "download" for every provider) on ``spec``."""
    return provider.DOWNLOAD_SERVICE if operation == "download" else SERVICES[spec.code][operation]


def secret_values(spec, company):
    """The company's secrets for the provider, in plaintext (to look for them where they must not be)."""
    credentials = platform.tooling_credentials(company, spec)
    return [credentials[setting.name] for setting in spec.settings if setting.secret and credentials[setting.name]]


class _KeepRecords(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.records = []

    def emit(self, record):
        # format() adds the exception's traceback and the stack, if any, to the message
        self.records.append((record.levelno, record.name, self.format(record)))


@contextlib.contextmanager
def captured_log():
    """Every record logged meanwhile by any logger, as (level, logger name, text);
    the addon's own loggers log at DEBUG meanwhile, so that their debug lines count too."""
    keeper = _KeepRecords()
    loggers = [logging.getLogger(ADDON_LOGGER)] + [
        logger for name, logger in list(logging.root.manager.loggerDict.items())
        if name.startswith(f"{ADDON_LOGGER}.") and isinstance(logger, logging.Logger)]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    logging.root.addHandler(keeper)
    try:
        yield keeper.records
    finally:
        logging.root.removeHandler(keeper)
        for logger, level in levels:
            logger.setLevel(level)


def connect_company(simulator, spec, company, vat, **values):
    """Point ``company`` (with ``values``) at ``simulator``, the one of provider ``spec``, with an
    account of its own there: the credentials the simulator gives it where the company has none
    (a 诺诺 app key and secret). Returns the account's key."""
    where = simulator.service_settings()
    company.write({"vat": vat, "l10n_cn_einv_provider": spec.code, **values,
                   **{platform.setting_field(spec, setting): where[setting.name]
                      for setting in spec.settings if setting.name in where}})
    credentials = platform.tooling_credentials(company)   # the secrets are sealed: only tooling opens them
    key = simulator.account_key(credentials) or f"odoo-test-{company.id}"
    account = simulator.register(key, seller_tax_id=vat, seller_name=company.name,
                                 settings={name: value for name, value in credentials.items()
                                           if name not in where and value})
    company.write({platform.setting_field(spec, setting): account.settings[setting.name]
                   for setting in spec.settings
                   if setting.name not in where and not credentials.get(setting.name)
                   and account.settings.get(setting.name)})
    return key


class L10nCnEinvCase(AccountTestInvoicingCommon):
    """A Chinese company pointed at its provider's simulator served on a loopback port for the
    whole test class (a real HTTP server speaking the platform's wire format; no patching).

    Tests drive the platform through the simulator contract (``self.simulator``, fapiao.provider.
    Simulator); ``self.sandbox`` is the reference platform itself, for the tests of our own
    protocol only (None with another provider)."""

    provider_code = None   # the provider a class always runs against; None: TEST_PROVIDER

    @classmethod
    @AccountTestInvoicingCommon.setup_country("cn")
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox_dir = tempfile.mkdtemp(prefix="l10n_cn_einv_test_")
        cls.addClassCleanup(shutil.rmtree, cls.sandbox_dir, True)
        cls.provider_spec = provider.get(cls.provider_code or TEST_PROVIDER)
        cls.simulator = cls.provider_spec.simulator(cls.sandbox_dir, host="127.0.0.1", port=0)
        cls.addClassCleanup(cls.simulator.close)
        cls.sandbox = getattr(cls.simulator, "sandbox", None)
        cls.env["ir.config_parameter"].sudo().set_param("l10n_cn_einvoice.read_timeout", "0.5")

        cls.company = cls.company_data["company"]
        cls._connect_company(cls.company, SELLER_TAX_ID)
        cls.env.user.groups_id |= cls.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager")

        tax_codes = cls.env["l10n_cn_einv.tax.code"]
        cls.code_printer = tax_codes.search([("code", "=", PRINTER_CODE)])
        cls.code_service = tax_codes.search([("code", "=", SERVICE_CODE)])
        cls.tax_13 = cls._percent_tax(13.0, cls.company)
        cls.tax_6 = cls._percent_tax(6.0, cls.company)
        cls.product_printer = cls._create_product(
            name="激光打印机", lst_price=1000.0, default_code="LP-100",
            taxes_id=[Command.set(cls.tax_13.ids)], l10n_cn_einv_tax_code_id=cls.code_printer.id)
        cls.product_service = cls._create_product(
            name="软件维护服务", lst_price=300.0, type="service", invoice_policy="order",
            taxes_id=[Command.set(cls.tax_6.ids)], l10n_cn_einv_tax_code_id=cls.code_service.id)
        cls.buyer = cls.env["res.partner"].create({
            "name": "上海某某贸易有限公司", "is_company": True, "country_id": cls.env.ref("base.cn").id,
            "vat": BUYER_TAX_ID, "email": "finance@buyer.example.cn",
            "l10n_cn_einv_address_phone": "上海市浦东新区世纪大道 100 号 021-12345678",
        })

    @classmethod
    def _connect_company(cls, company, vat):
        connect_company(cls.simulator, cls.provider_spec, company, vat,
                        l10n_cn_einv_issuer="王会计", l10n_cn_einv_retry_schedule="10,30,60")

    @classmethod
    def account(cls, company=None):
        """The key of the company's account on the simulator."""
        return cls.simulator.account_key(platform.tooling_credentials(company or cls.company))

    @classmethod
    def _percent_tax(cls, amount, company):
        """A tax-excluded sales VAT (the chart's own may include the tax in the price)."""
        return cls.env["account.tax"].create({
            "name": f"VAT {amount:g}% (excluded)", "amount": amount, "amount_type": "percent",
            "type_tax_use": "sale", "price_include_override": "tax_excluded", "company_id": company.id})

    def make_invoice(self, lines=None, partner=None, post=True, **values):
        lines = lines or [(self.product_printer, 2, 1000.0)]
        move = self.env["account.move"].create({
            "move_type": "out_invoice", "partner_id": (partner or self.buyer).id,
            "invoice_date": "2026-11-20", "company_id": self.company.id,
            "invoice_line_ids": [Command.create({"product_id": product.id, "quantity": quantity,
                                                 "price_unit": price}) for product, quantity, price in lines],
            **values,
        })
        if post:
            move.action_post()
        return move

    def setUp(self):
        super().setUp()
        # The sandbox lives for the whole class while each test's records are rolled back.
        self.invoices_before = self.platform_stats()["invoices"]

    def service(self, operation):
        return service(self.provider_spec, operation)

    def file_formats(self):
        return self.provider_spec.capabilities.file_formats

    def issue_exchanges(self):
        """What an Issue click on a platform that has the result at once logs for the invoice, once
        the files came (receive_files): the issue (and, on a platform that answers a serial number
        only, the query), then a download per file format, by the cron worker (which, on such a
        platform, first asks for the result again: it holds the files' addresses)."""
        pending_first = self.provider_spec.code in ISSUE_ANSWERS_PENDING
        return [self.service("issue"), *([self.service("query")] if pending_first else []),
                *([self.service("query")] if pending_first else []),
                *[self.service("download")] * len(self.file_formats())]

    def platform_stats(self, company=None):
        return self.simulator.stats(self.account(company))

    def issued_on_platform(self):
        """Invoices the platform issued for the company during this test."""
        return self.platform_stats()["invoices"] - self.invoices_before

    def set_faults(self, company=None, **faults):
        """Faults of the simulator (fapiao.provider.STANDARD_FAULTS and the simulator's FAULT_OPTIONS)
        for the rest of the test: exactly these, the others off."""
        account = self.account(company)
        self.simulator.set_faults(account, **faults)
        self.addCleanup(self.simulator.reset, account)

    def wait_for_callback(self, matches):
        """The platform posts callbacks from its own thread to this Odoo's HTTP server: wait (bounded)
        until the one ``matches`` (a row of Simulator.callback_deliveries) accepts is answered, then
        read the records afresh -> that row."""
        delivery, deadline = None, time.monotonic() + 30
        while time.monotonic() < deadline:
            delivery = next((row for row in self.simulator.callback_deliveries(self.account()) if matches(row)), None)
            if delivery and delivery["status"] != "pending":
                break
            time.sleep(0.1)
        self.assertTrue(delivery, "the platform sent no callback")
        self.assertEqual(delivery["status"], "delivered", delivery["error"])
        self.env.invalidate_all()
        return delivery

    def pending_invoice(self):
        """An invoice the platform holds as pending for PENDING_SECONDS of its clock."""
        self.set_faults(pending=1.0, pending_seconds=PENDING_SECONDS)
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "pending")
        return move

    def issued_invoice(self, **values):
        """An invoice issued by its button, with the files the cron worker then brings."""
        move = self.make_invoice(**values)
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.receive_files()
        return move

    def receive_files(self):
        """What a cron worker does within seconds of an Issue click, which does not wait for the
        files: the poll cron the click triggered (files, and results still pending)."""
        cron = self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_poll_pending")
        triggers = self.env["ir.cron.trigger"].sudo().search([("cron_id", "=", cron.id),
                                                              ("call_at", "<=", fields.Datetime.now())])
        self.assertTrue(triggers, "the click asks the cron workers for the files at once")
        triggers.unlink()
        # the cron's code (data/l10n_cn_einv_cron.xml), for this test's company: other tests commit
        # companies whose platforms are gone
        moves = self.env["account.move"]
        moves._l10n_cn_einv_cron_poll_pending(company_ids=self.company.ids)
        moves._l10n_cn_einv_cron_fetch_missing_documents(company_ids=self.company.ids)
        self.env.invalidate_all()

    def make_due(self, moves):
        """Skip the retry wait, as if the cron ran once it had passed."""
        self.env.flush_all()
        self.env.cr.execute("UPDATE account_move SET l10n_cn_einv_next_attempt = NOW() AT TIME ZONE 'UTC' "
                            "- INTERVAL '1 second' WHERE id IN %s", [tuple(moves.ids)])
        moves.invalidate_recordset()

    def run_queue(self):
        return self.env["account.move"]._l10n_cn_einv_cron_process_queue(company_ids=self.company.ids)
