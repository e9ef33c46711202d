"""Issue 7: a user who is not a system administrator gets no platform secret
through an export or an RPC call, while an administrator does (the positive
controls, so that each refusal below is the secret's and can fail)."""

import csv
import io
import itertools
import json
import secrets

from odoo import http
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, JsonRpcException, new_test_user, tagged
from odoo.tools import mute_logger

from ..models.res_config_settings import SECRET_FIELDS as SETTINGS_INPUTS

SECRETS = ["l10n_cn_einv_app_secret", "l10n_cn_einv_sm4_key", "l10n_cn_einv_sm2_private_key"]
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
        cls.company.sudo().l10n_cn_einv_sm2_private_key = secrets.token_hex(32)
        cls.secret_values = [cls.company.sudo()[name] for name in SECRETS]
        company = {"company_id": cls.company.id, "company_ids": cls.company.ids}
        cls.manager = new_test_user(cls.env, "einv_sec_manager", groups=MANAGER_GROUPS, **company)
        cls.admin = new_test_user(cls.env, "einv_sec_admin", groups=f"{MANAGER_GROUPS},base.group_system", **company)

    def setUp(self):
        super().setUp()
        self.assertTrue(all(self.secret_values), "every secret is set, so that a leak would show")
        self.assertFalse(self.manager.has_group("base.group_system") or self.manager._is_admin())
        self.assertTrue(self.manager.has_group("base.group_allow_export"))

    def assertNoSecret(self, text):
        for value in self.secret_values:
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
        self.assertEqual(self.company.with_user(self.admin).export_data(SECRETS)["datas"], [self.secret_values])

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
        self.assertEqual(list(csv.reader(io.StringIO(response.text))),
                         [["name", *SECRETS], [self.company.name, *self.secret_values]])
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
        self.authenticate("einv_sec_admin", "einv_sec_admin")
        [values] = self._call_kw("read", [self.company.ids, SECRETS])
        self.assertEqual([values[name] for name in SECRETS], self.secret_values)

        self.authenticate("einv_sec_manager", "einv_sec_manager")
        ids, domain = self.company.ids, [("id", "=", self.company.id)]
        # asked for all fields, the manager gets every field but the secrets
        for method, args in (("read", [ids]), ("search_read", [domain])):
            [values] = self._call_kw(method, args)
            self.assertIn("l10n_cn_einv_app_id", values)
            self.assertFalse(set(SECRETS) & set(values), method)
            self.assertNoSecret(json.dumps(values))
        # asked for a secret by name, to read it, search or group by it, the call is refused
        for name in SECRETS:
            for method, args, kwargs in (
                ("read", [ids, ["name", name]], {}),
                ("search_read", [domain], {"fields": ["name", name]}),
                ("web_read", [ids], {"specification": {"name": {}, name: {}}}),
                ("web_search_read", [domain], {"specification": {name: {}}}),
                ("search_count", [[(name, "=like", f"{self.company.sudo()[name][:1]}%")]], {}),
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
        self.assertFalse(set(SECRETS) & set(values))
        for name in SECRETS:
            with self.subTest(name), mute_logger(*REFUSAL_LOGGERS):
                with self.assertRaisesRegex(Exception, "AccessError|access the fields") as refused:
                    self.xmlrpc_object.execute_kw(db, uid, login, "res.company", "read", [self.company.ids, [name]])
                self.assertNoSecret(str(refused.exception))
