"""Issue 7: a user who is not a system administrator gets no platform secret
through an export or an RPC call; an administrator sees that each is set.

Issue 11, rule 8: nobody reads a secret back, in any context. The database
holds them sealed with a master key kept outside it, so that neither the ORM
(sudo included) nor SQL returns the plaintext, and the platform client keeps
them in closures: a template editor's expressions, which may call ``.sudo()``,
private methods and ``env.cr.execute``, find them nowhere."""

import base64
import csv
import html
import io
import itertools
import json
import os
import secrets
import stat

from odoo import http
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, JsonRpcException, new_test_user, tagged
from odoo.tools import config, mute_logger

from ..fapiao import provider
from ..models import l10n_cn_einv_platform as platform
from ..models import l10n_cn_einv_vault as vault
from ..models.res_config_settings import SECRET_FIELDS as SETTINGS_INPUTS
from .common import L10nCnEinvCase, secret_values

SECRETS = list(vault.SEALED_FIELDS)   # every provider's: the reference protocol's and 诺诺's
SEALED = [f"{name}_sealed" for name in SECRETS]
IS_SET = [f"{name}_set" for name in SECRETS]


def secret_forms(values):
    """Every spelling a secret could leak in: as is, in both cases, and in base64 (of its bytes when
    it is hex, of its text otherwise; standard and URL-safe)."""
    forms = set()
    for value in filter(None, values):
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = value.encode()
        for encoded in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()):
            forms |= {encoded, encoded.rstrip("=")}
        forms |= {value, value.lower(), value.upper()}
    return sorted(forms, key=len, reverse=True)
# Odoo reports each refusal: the access log, the request's warning, the export's traceback.
REFUSAL_LOGGERS = ("odoo.models", "odoo.http", "odoo.addons.web.controllers.export")
# Everything but base.group_system: runs e-invoicing and accounting, and may export.
MANAGER_GROUPS = "l10n_cn_einvoice.group_l10n_cn_einv_manager,account.group_account_manager,base.group_allow_export"


@tagged("post_install", "-at_install", "post_install_l10n")
class TestSecretsStayWithAdministrators(HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.sudo().write({"l10n_cn_einv_sm2_private_key": secrets.token_hex(32),
                                  "l10n_cn_einv_nuonuo_app_secret": secrets.token_hex(16),
                                  "l10n_cn_einv_nuonuo_access_token": secrets.token_hex(20)})
        cls.secret_values = [value for code in ("reference", "nuonuo")
                             for value in secret_values(provider.get(code), cls.company)]
        cls.secret_forms = secret_forms(cls.secret_values)
        company = {"company_id": cls.company.id, "company_ids": cls.company.ids}
        cls.manager = new_test_user(cls.env, "einv_sec_manager", groups=MANAGER_GROUPS, **company)
        cls.admin = new_test_user(cls.env, "einv_sec_admin", groups=f"{MANAGER_GROUPS},base.group_system", **company)

    def setUp(self):
        super().setUp()
        self.assertEqual(len(self.secret_values), len(SECRETS), "every secret is set, so that a leak would show")
        self.assertFalse(self.manager.has_group("base.group_system") or self.manager._is_admin())
        self.assertTrue(self.manager.has_group("base.group_allow_export"))

    def assertNoSecret(self, text):
        for value in self.secret_forms:
            self.assertNotIn(value, text)

    def _call_kw(self, method, args, kwargs=None, model="res.company"):
        return self.make_jsonrpc_request(f"/web/dataset/call_kw/{model}/{method}", {
            "model": model, "method": method, "args": args, "kwargs": kwargs or {}})

    def _export(self, fmt, fields, model, ids):
        data = {"model": model, "fields": [{"name": name, "label": name} for name in fields],
                "ids": ids, "domain": [], "import_compat": True, "context": {}}
        return self.url_open(f"/web/export/{fmt}",
                             data={"data": json.dumps(data), "csrf_token": http.Request.csrf_token(self)})

    # Exports ---------------------------------------------------------------

    def test_orm_export_refuses_the_secrets_to_a_manager(self):
        company = self.company.with_user(self.manager)
        user = self.manager.with_user(self.manager)  # their own user, whose company it is
        self.assertEqual(company.export_data(["name"])["datas"], [[self.company.name]])
        self.assertEqual(user.export_data(["company_id/name"])["datas"], [[self.company.name]])
        for name, cached in itertools.product(SECRETS, (False, True)):
            for records, path in ((company, name), (user, f"company_id/{name}")):
                self.env.invalidate_all()
                if cached:  # as after the platform client's sudo read in the same transaction
                    self.company.sudo()[name]
                with self.subTest(path, cached=cached), mute_logger("odoo.models"), self.assertRaises(AccessError):
                    records.export_data([path])
        # Issue 11: an administrator exports them too, and gets no value (was: the plaintext)
        [exported] = self.company.with_user(self.admin).export_data(SECRETS)["datas"]
        self.assertFalse(any(exported))
        self.assertNoSecret(json.dumps(exported))

    def test_export_dialog_lists_no_secret_to_a_manager(self):
        params = {"model": "res.company", "domain": [], "import_compat": False}
        self.authenticate("einv_sec_admin", "einv_sec_admin")
        listed = {field["id"] for field in self.make_jsonrpc_request("/web/export/get_fields", params)}
        self.assertLessEqual(set(SECRETS), listed)
        self.authenticate("einv_sec_manager", "einv_sec_manager")
        listed = {field["id"] for field in self.make_jsonrpc_request("/web/export/get_fields", params)}
        self.assertIn("l10n_cn_einv_app_id", listed)
        self.assertFalse(set(SECRETS) & listed)
        settings = self.make_jsonrpc_request("/web/export/get_fields", dict(params, model="res.config.settings"))
        self.assertFalse(set(SETTINGS_INPUTS) & {field["id"] for field in settings})

    def test_web_client_export_refuses_the_secrets_to_a_manager(self):
        self.authenticate("einv_sec_admin", "einv_sec_admin")
        response = self._export("csv", ["name", *SECRETS], "res.company", self.company.ids)
        self.assertEqual(response.status_code, 200)
        # Issue 11: no value for the administrator either (was: the plaintext)
        self.assertEqual(list(csv.reader(io.StringIO(response.text))),
                         [["name", *SECRETS], [self.company.name, *[""] * len(SECRETS)]])
        self.authenticate("einv_sec_manager", "einv_sec_manager")
        # the company itself, and the company of their own user
        exports = [(fmt, "res.company", self.company.ids, "") for fmt in ("csv", "xlsx")]
        exports.append(("csv", "res.users", self.manager.ids, "company_id/"))
        for (fmt, model, ids, prefix), name in itertools.product(exports, SECRETS):
            self.assertEqual(self._export(fmt, [f"{prefix}name"], model, ids).status_code, 200)
            with self.subTest(fmt=fmt, field=prefix + name), mute_logger(*REFUSAL_LOGGERS):
                response = self._export(fmt, [f"{prefix}name", prefix + name], model, ids)
                self.assertEqual(response.status_code, 500)
                self.assertIn("AccessError", response.text)
                self.assertNoSecret(response.text)

    def test_template_rendering_refuses_the_secrets_to_a_template_editor(self):
        # every employee is one when the "restrict template rendering" setting is off
        self.manager.groups_id |= self.env.ref("mail.group_mail_template_editor")
        render = self.env["mail.render.mixin"].with_user(self.manager)._render_template
        self.assertEqual(render("{{ object.company_id.name }}", "res.users", self.manager.ids),
                         {self.manager.id: self.company.name})
        for name in SECRETS:
            self.env.invalidate_all()
            with self.subTest(name), mute_logger("odoo.models", "odoo.addons.mail.models.mail_render_mixin"):
                with self.assertRaises(UserError) as refused:
                    render(f"{{{{ object.company_id.{name} }}}}", "res.users", self.manager.ids)
                self.assertIsInstance(refused.exception.__cause__, AccessError)
                self.assertNoSecret(str(refused.exception))

    # RPC -------------------------------------------------------------------

    def test_rpc_refuses_the_secrets_to_a_manager(self):
        # Issue 11: the administrator reads that each secret is set, and no value (was: the plaintext)
        self.authenticate("einv_sec_admin", "einv_sec_admin")
        [values] = self._call_kw("read", [self.company.ids, SECRETS + IS_SET])
        self.assertEqual([values[name] for name in SECRETS], [False] * len(SECRETS))
        self.assertEqual([values[name] for name in IS_SET], [True] * len(SECRETS))

        self.authenticate("einv_sec_manager", "einv_sec_manager")
        ids, domain = self.company.ids, [("id", "=", self.company.id)]
        # asked for all fields, the manager gets every field but the secrets
        for method, args in (("read", [ids]), ("search_read", [domain])):
            [values] = self._call_kw(method, args)
            self.assertIn("l10n_cn_einv_app_id", values)
            self.assertFalse(set(SECRETS + SEALED + IS_SET) & set(values), method)
            self.assertNoSecret(json.dumps(values))
        # asked for a secret (or its sealed form) by name, to read it, search or group by it: refused
        for name in SECRETS + SEALED:
            prefix = self.secret_values[SECRETS.index(name)][:1] if name in SECRETS else "v1$"
            for method, args, kwargs in (
                ("read", [ids, ["name", name]], {}),
                ("search_read", [domain], {"fields": ["name", name]}),
                ("web_read", [ids], {"specification": {"name": {}, name: {}}}),
                ("web_search_read", [domain], {"specification": {name: {}}}),
                ("search_count", [[(name, "=like", f"{prefix}%")]], {}),
                ("web_read_group", [[], ["__count"], [name]], {}),
                ("export_data", [ids, [name]], {}),
            ):
                with self.subTest(method=method, field=name), mute_logger(*REFUSAL_LOGGERS):
                    with self.assertRaisesRegex(JsonRpcException, "odoo.exceptions.AccessError"):
                        self._call_kw(method, args, kwargs)
            with self.subTest(method="res.users export_data", field=name), mute_logger(*REFUSAL_LOGGERS):
                with self.assertRaisesRegex(JsonRpcException, "odoo.exceptions.AccessError"):
                    self._call_kw("export_data", [self.manager.ids, [f"company_id/{name}"]], model="res.users")

    def test_xmlrpc_refuses_the_secrets_to_a_manager(self):
        db, login = self.env.cr.dbname, "einv_sec_manager"
        uid = self.xmlrpc_common.authenticate(db, login, login, {})
        self.assertEqual(uid, self.manager.id)
        [values] = self.xmlrpc_object.execute_kw(db, uid, login, "res.company", "read", [self.company.ids])
        self.assertIn("l10n_cn_einv_app_id", values)
        self.assertFalse(set(SECRETS + SEALED + IS_SET) & set(values))
        for name in SECRETS + SEALED:
            with self.subTest(name), mute_logger(*REFUSAL_LOGGERS):
                with self.assertRaisesRegex(Exception, "AccessError|access the fields") as refused:
                    self.xmlrpc_object.execute_kw(db, uid, login, "res.company", "read", [self.company.ids, [name]])
                self.assertNoSecret(str(refused.exception))

    # Issue 11, rule 8: nobody reads them back -----------------------------------------------------------

    def master_key_forms(self):
        """The master key in the spellings it could leak in (the key file's, unless one is configured)."""
        with open(vault.key_path()) as handle:
            text = handle.read().strip()
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return [text, raw.hex(), base64.b64encode(raw).decode(), repr(raw)[2:-1]]

    def render_as_editor(self, engine, expression):
        template = {"inline_template": "{{ object.company_id.name }}: {{ %s }}",
                    "qweb": '<p><t t-out="object.company_id.name"/>: <t t-out="%s"/></p>'}[engine]
        source = template % (expression.replace('"', "&quot;") if engine == "qweb" else expression)
        render = self.env["mail.render.mixin"].with_user(self.manager)._render_template
        return html.unescape(str(render(source, "res.users", self.manager.ids, engine=engine)[self.manager.id]))

    def test_a_template_editor_renders_no_secret_whatever_the_expression(self):
        """A template editor who is not an administrator may write expressions that call sudo(),
        private methods (names with a single underscore), any model and the cursor itself; and
        str.format walks attributes and items that safe_eval refuses by name (__closure__,
        __globals__)."""
        self.manager.groups_id |= self.env.ref("mail.group_mail_template_editor")
        self.assertFalse(self.manager._is_admin() or self.manager.has_group("base.group_system"))
        company = "object.company_id.sudo()"
        client = f"{company}._l10n_cn_einv_provider()"
        keyring = "object.env['l10n_cn_einv.callback'].sudo()._l10n_cn_einv_client_for(object.company_id)"
        # a method of a module that imports l10n_cn_einv_platform, for str.format to walk from
        module = "'{0.__func__.__globals__[platform]%s}'.format(" \
                 "object.env['l10n_cn_einv.callback']._l10n_cn_einv_client_for)"
        select = "SELECT * FROM res_company"
        rendered = [
            *(f"{company}.{name}" for name in SECRETS + SEALED + IS_SET),
            f"{company}.read({SECRETS + SEALED!r})",
            f"{company}.with_context(prefetch_fields=True).export_data({SECRETS!r})",
            f"object.env['res.company'].sudo().search_read([], {SECRETS + SEALED!r})",
            "object.env['res.company'].sudo().search_read([('id', '=', object.company_id.id)])",
            f"object.env.cr.execute({select!r}) or object.env.cr.dictfetchall()",
            "object.env.cr.execute('SELECT row_to_json(c)::text FROM res_company c') or object.env.cr.fetchall()",
            "object.env['ir.config_parameter'].sudo().search_read([], ['key', 'value'])",
            f"object.env['report.l10n_cn_einvoice.report_l10n_cn_einv_audit']._l10n_cn_einv_secrets({company})"
            if "report.l10n_cn_einvoice.report_l10n_cn_einv_audit" in self.env else "1",
            module % ".vault._CONFIGURED", module % ".vault._FILE_KEYS", module % ".vault.config.options",
            module % "._REGISTERED", module % ".vault",
        ]
        # the client and the callback's keyring hold the secrets in closures: none while a template renders
        refused = [client, f"{client}.config.keys.mask", keyring, f"{client}.config.secret",
                   f"'{{0.config.keys.seal.__closure__[0].cell_contents}}'.format({client})",
                   f"'{{0.request_headers.__closure__}}'.format({keyring})",
                   f"{client}.config.__dict__", f"{client}.config.keys.mask.__globals__"]
        master_key = self.master_key_forms() if not config.get(vault.MASTER_KEY_OPTION) else []
        for engine, expression in itertools.product(("inline_template", "qweb"), rendered):
            self.env.invalidate_all()
            with self.subTest(engine=engine, expression=expression):
                output = self.render_as_editor(engine, expression)
                self.assertIn(f"{self.company.name}: ", output, "the expression was rendered")
                self.assertNoSecret(output)
                for form in master_key:
                    self.assertNotIn(form, output)
        for engine, expression in itertools.product(("inline_template", "qweb"), refused):
            with self.subTest(engine=engine, expression=expression), self.assertRaises(Exception) as refusal, \
                    mute_logger("odoo.addons.mail.models.mail_render_mixin", "odoo.tools.safe_eval",
                                "odoo.addons.base.models.ir_qweb"):
                self.render_as_editor(engine, expression)
            self.assertNoSecret(str(refusal.exception))
            for form in master_key:
                self.assertNotIn(form, str(refusal.exception))
        # outside a template, the same client works
        with self.company.sudo()._l10n_cn_einv_provider() as working:
            self.assertTrue(working.config.keys.signature_matches)

    def test_the_configured_master_key_leaves_the_configuration(self):
        """odoo.conf's options are readable through str.format in a template: the key moves out of them."""
        self.manager.groups_id |= self.env.ref("mail.group_mail_template_editor")
        key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        self.addCleanup(vault.forget_configured_key)
        config[vault.MASTER_KEY_OPTION] = key
        identity = vault.master_key_id()
        self.assertNotIn(vault.MASTER_KEY_OPTION, config.options)
        options = "'{0.__func__.__globals__[platform].vault.config.options}'.format(" \
                  "object.env['l10n_cn_einv.callback']._l10n_cn_einv_client_for)"
        holders = options.replace(".config.options", "._CONFIGURED")
        raw = base64.urlsafe_b64decode(key)
        for engine, expression in itertools.product(("inline_template", "qweb"), (options, holders)):
            with self.subTest(engine=engine, expression=expression):
                output = self.render_as_editor(engine, expression)
                if expression == options:
                    self.assertIn("data_dir", output, "the configuration was rendered")
                for form in (key, raw.hex(), base64.b64encode(raw).decode(), repr(raw)[2:-1]):
                    self.assertNotIn(form, output)
        self.assertEqual(vault.master_key_id(), identity, "still in use")
        sealed = vault.seal(self.company.id, "l10n_cn_einv_app_secret", "sealed-under-the-configured-key")
        self.assertEqual(vault.unseal(self.company, "l10n_cn_einv_app_secret", sealed),
                         "sealed-under-the-configured-key")

    def test_the_database_holds_no_plaintext_and_the_key_is_elsewhere(self):
        self.env.flush_all()
        self.env.cr.execute("SELECT row_to_json(c)::text FROM res_company c")
        stored = " ".join(row[0] for row in self.env.cr.fetchall())
        self.assertIn(self.company.sudo().l10n_cn_einv_app_secret_sealed, stored)
        self.assertNoSecret(stored)
        self.env.cr.execute("SELECT string_agg(value, ' ') FROM ir_config_parameter")
        self.assertNoSecret(self.env.cr.fetchone()[0] or "")
        if not config.get(vault.MASTER_KEY_OPTION):
            path = os.path.realpath(vault.key_path())
            self.assertTrue(os.path.isfile(path))
            self.assertFalse(path.startswith(os.path.realpath(self.env["ir.attachment"]._filestore()) + os.sep))
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_another_master_key_is_a_clear_error(self):
        other = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
        sealed_with = vault.master_key_id()
        self.addCleanup(vault.forget_configured_key)
        config[vault.MASTER_KEY_OPTION] = other
        with self.assertRaises(vault.SecretUnreadable) as refused:
            self.company._l10n_cn_einv_provider()
        message = str(refused.exception)
        self.assertIn(vault.MASTER_KEY_OPTION, message)
        self.assertIn(sealed_with, message)
        self.assertIn(vault.master_key_id(), message)
        self.assertNoSecret(message)
        # entering the secrets again under the new key mends it
        self.company.sudo().write({"l10n_cn_einv_app_secret": "new-secret-0123456789",
                                   "l10n_cn_einv_sm4_key": secrets.token_hex(16),
                                   "l10n_cn_einv_sm2_private_key": False})
        self.assertEqual(platform.tooling_credentials(self.company)["app_secret"], "new-secret-0123456789")
        config[vault.MASTER_KEY_OPTION] = "too short"
        with self.assertRaisesRegex(UserError, "32 bytes"):
            self.company._l10n_cn_einv_provider()

    def test_plaintext_of_an_older_version_is_sealed_at_update(self):
        """Databases from before the secrets were sealed keep them in the columns of the fields:
        the update seals them and empties the columns."""
        self.env.flush_all()
        self.env.cr.execute("UPDATE res_company SET l10n_cn_einv_app_secret = %s, l10n_cn_einv_sm4_key = %s, "
                            "l10n_cn_einv_app_secret_sealed = NULL, l10n_cn_einv_sm4_key_sealed = NULL WHERE id = %s",
                            ["older-plain-secret", "00112233445566778899aabbccddeeff", self.company.id])
        self.env["res.company"].init()
        self.env.invalidate_all()
        self.env.cr.execute("SELECT l10n_cn_einv_app_secret, l10n_cn_einv_sm4_key, l10n_cn_einv_sm2_private_key "
                            "FROM res_company")
        self.assertEqual({value for row in self.env.cr.fetchall() for value in row}, {None})
        credentials = platform.tooling_credentials(self.company)
        self.assertEqual((credentials["app_secret"], credentials["sm4_key"], credentials["sm2_private_key"]),
                         ("older-plain-secret", "00112233445566778899aabbccddeeff", self.secret_values[2]))

    def test_the_administrator_sees_each_secret_is_set_and_the_connection_works(self):
        settings = self.env["res.config.settings"].with_user(self.admin).create({})
        self.assertEqual(settings.l10n_cn_einv_secrets_status, "App Secret ✓, SM4 Key ✓, SM2 Private Key ✓")
        self.assertFalse(any(settings[name] for name in SETTINGS_INPUTS))
        company = self.company.with_user(self.admin)
        self.assertEqual([company[name] for name in SECRETS + IS_SET], [False] * len(SECRETS) + [True] * len(SECRETS))
        self.company.sudo().l10n_cn_einv_sm2_private_key = False    # signs with HMAC-SM3, which the sandbox checks
        self.assertFalse(company.l10n_cn_einv_sm2_private_key_set)
        action = company.action_l10n_cn_einv_test_connection()
        self.assertEqual(action["params"]["type"], "success")


@tagged("post_install", "-at_install", "post_install_l10n")
class TestConnectionTestRights(L10nCnEinvCase, HttpCase):
    """Issue 11, rule 3: the connection test is the e-invoice managers' (of the company), whatever way
    it is called."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = {"company_id": cls.company.id, "company_ids": cls.company.ids}
        cls.users = {
            "portal": new_test_user(cls.env, "einv_ct_portal", groups="base.group_portal", **company),
            "billing": new_test_user(cls.env, "einv_ct_billing", groups="account.group_account_invoice", **company),
            "accountant": new_test_user(cls.env, "einv_ct_accountant", groups="account.group_account_user", **company),
            "einv_user": new_test_user(cls.env, "einv_ct_einv_user", groups="l10n_cn_einvoice.group_l10n_cn_einv_user",
                                       **company),
            "manager": new_test_user(cls.env, "einv_ct_manager", groups="l10n_cn_einvoice.group_l10n_cn_einv_manager",
                                     **company),
        }

    def observed(self):
        self.env.invalidate_all()
        return (self.platform_stats()["requests"],
                self.env["l10n_cn_einv.log"].sudo().search_count([("company_id", "=", self.company.id)]))

    def call(self, who, via):
        login = f"einv_ct_{who}"
        args = [self.company.ids]
        if via == "xmlrpc":
            uid = self.xmlrpc_common.authenticate(self.env.cr.dbname, login, login, {})
            return self.xmlrpc_object.execute_kw(self.env.cr.dbname, uid, login, "res.company",
                                                 "action_l10n_cn_einv_test_connection", args)
        self.authenticate(login, login)
        route = {"call_kw": "/web/dataset/call_kw/res.company/action_l10n_cn_einv_test_connection",
                 "call_button": "/web/dataset/call_button"}[via]
        return self.make_jsonrpc_request(route, {
            "model": "res.company", "method": "action_l10n_cn_einv_test_connection", "args": args, "kwargs": {}})

    def test_only_managers_test_the_connection(self):
        for who, via in itertools.product(("portal", "billing", "accountant", "einv_user"),
                                          ("call_kw", "call_button", "xmlrpc")):
            before = self.observed()
            with self.subTest(who=who, via=via), mute_logger(*REFUSAL_LOGGERS, "odoo.addons.base.models.ir_model"):
                with self.assertRaisesRegex(Exception, "AccessError|Only members of the group") as refused:
                    self.call(who, via)
                self.assertNotIn("Connected", str(refused.exception))
                self.assertEqual(self.observed(), before, "no platform call, no log line")
        for via in ("call_kw", "call_button", "xmlrpc"):
            before = self.observed()
            with self.subTest(who="manager", via=via):
                action = self.call("manager", via)
                self.assertEqual(action["params"]["type"], "success")
                self.assertEqual(self.observed(), (before[0] + 1, before[1] + 1))
