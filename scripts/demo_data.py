"""Demo data for `make demo`, run inside `odoo shell` (env is Odoo's).

A Chinese company as a Chinese accountant would see it: Simplified Chinese,
Asia/Shanghai, the Chinese chart of accounts with its own 13 %, 9 % and 6 % VAT
taxes (each in its tax group, so totals read 增值税13% / 增值税9% / 增值税6%),
products coded as an accountant would code them in the classification table,
customers who read Chinese, and orders in several states, one of them already
e-invoiced on the embedded sandbox platform. Prints how each product is coded.
A second company issues through 诺诺, on the 诺诺 simulator embedded in Odoo.
With the Point of Sale bridge, two shops of the demo company, each with paid
orders, some e-invoiced at the till, and a store manager who sees one of them.
Idempotent: what exists already is left as it is, nothing is made twice.
"""

import uuid

from odoo import Command, fields

from odoo.addons.l10n_cn_einvoice.fapiao.rules import format_line_name

COMPANY = "示例科技有限公司"
NUONUO_COMPANY = "诺诺示例商贸有限公司"
LANG = "zh_CN"
TZ = "Asia/Shanghai"

# The shops (POS configs) of the demo company: name, code of its own cash journal, the store
# manager restricted to it (login = password) or None, its orders: [(customer key or None, to invoice at
# the till, [(product code, quantity)])]; a customer is the title on the e-invoice.
SHOPS = [
    ("北京王府井店", "BJCS", ("wangfujing", "王府井店店长 王芳"), [
        ("shanghai", True, [("LP-100", 1), ("RICE-5", 2)]),
        ("zhangsan", True, [("RICE-5", 3)]),
        (None, False, [("RICE-5", 1)]),
    ]),
    ("上海南京路店", "SHCS", None, [
        ("hangzhou", True, [("LP-100", 2)]),
        (None, False, [("RICE-5", 2)]),
        (None, False, [("LP-100", 1)]),
    ]),
]
BUYERS = {  # customer key: how the demo finds the customer it created
    "shanghai": [("vat", "=", "91310000MA1FL0XL39")],
    "hangzhou": [("vat", "=", "91330100MA27XF6T0L")],
    "zhangsan": [("email", "=", "zhangsan@example.cn")],
}

# name, classification code (data/tax_classification_codes_v32.csv), the chart's sales tax, price incl. VAT, extra
PRODUCTS = [
    # 输出设备及装置 (计算机外部设备), whose keywords name 打印机: 13 %
    ("激光打印机 LP-100", "1090511030000000000", "l10n_cn_sales_excluded_13", 1999.0,
     {"default_code": "LP-100", "type": "consu"}),
    # 大米 (谷物加工品): milled rice, not 稻谷 (paddy, a farm product); 9 %
    ("东北大米 5kg", "1030102010100000000", "l10n_cn_sales_excluded_9", 68.0,
     {"default_code": "RICE-5", "type": "consu"}),
    # 软件维护服务 (信息技术服务): 6 %
    ("软件维护服务（年度）", "3040201030000000000", "l10n_cn_sales_excluded_6", 12000.0,
     {"default_code": "SVC-MNT", "type": "service"}),
]


def chinese_language(env):
    """zh_CN active with the translations of every installed module (make demo creates the
    database with --load-language=zh_CN; this catches a database made without it)."""
    lang = env["res.lang"].with_context(active_test=False).search([("code", "=", LANG)])
    if not lang.active:
        print("loading Simplified Chinese (zh_CN) ...")
        env["res.lang"]._activate_lang(LANG)
        env["ir.module.module"].search([("state", "=", "installed")])._update_translations([LANG])


def main(env):
    chinese_language(env)
    admin = env.ref("base.user_admin")
    admin.write({"lang": LANG, "tz": TZ})
    env.ref("base.partner_admin").write({"lang": LANG, "tz": TZ})
    first = env["res.company"].search([("name", "=", COMPANY)])
    if first:
        if not env["res.company"].search([("name", "=", NUONUO_COMPANY)]):
            buyer = env["res.partner"].search([("vat", "=", "91310000MA1FL0XL39")], limit=1)
            nuonuo_company(env, admin, first, buyer)
        print("demo data already there")
        pos_shops(env, admin, first)
        return
    company = env["res.company"].create({
        "name": COMPANY, "country_id": env.ref("base.cn").id, "currency_id": env.ref("base.CNY").id,
        "vat": "91350100M000100Y43", "street": "鼓楼区五四路 100 号", "city": "福州", "phone": "0591-87654321",
        "l10n_cn_einv_seller_address_phone": "福州市鼓楼区五四路 100 号 0591-87654321",
        "l10n_cn_einv_seller_bank_account": "中国工商银行福州分行 1402020109000012345",
        "l10n_cn_einv_issuer": "王会计",
    })
    company.partner_id.write({"lang": LANG, "tz": TZ})
    env["account.chart.template"].try_loading("cn", company=company, install_demo=False)
    # The chart leaves company settings to flush; they must land before any invoice exists.
    env.cr.commit()
    admin.write({"company_ids": [Command.link(company.id)], "company_id": company.id,
                 "groups_id": [Command.link(env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager").id)]})
    env = env(context=dict(env.context, allowed_company_ids=[company.id], lang="en_US"))
    chart = env["account.chart.template"].with_company(company)
    warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1) or \
        env["stock.warehouse"].create({"name": "福州仓", "code": "FZ", "company_id": company.id})
    codes = env["l10n_cn_einv.tax.code"]

    products = []
    print("demo products, coded as a Chinese accountant would code them:")
    for name, code, tax_xmlid, price, extra in PRODUCTS:
        tax_code = codes.search([("code", "=", code)])
        tax = chart.ref(tax_xmlid)
        product = env["product.product"].create({
            "name": name, "list_price": price, "company_id": company.id, "invoice_policy": "order",
            "taxes_id": [Command.set(tax.ids)], "l10n_cn_einv_tax_code_id": tax_code.id, **extra})
        products.append(product)
        print(f"  {name}: {code} {tax_code.name} ({tax_code.short_name}), "
              f"{tax.with_context(lang=LANG).tax_group_id.name}, printed {format_line_name(tax_code.short_name, name)}")
    printer, rice, support = products

    china = env.ref("base.cn").id
    buyers = env["res.partner"].create([
        {"name": "上海某某贸易有限公司", "is_company": True, "country_id": china, "vat": "91310000MA1FL0XL39",
         "email": "finance@shanghai-trading.example.cn", "lang": LANG, "tz": TZ,
         "l10n_cn_einv_address_phone": "上海市浦东新区世纪大道 100 号 021-12345678",
         "l10n_cn_einv_bank_account": "招商银行上海分行 121900000010101"},
        {"name": "杭州某某网络科技有限公司", "is_company": True, "country_id": china, "vat": "91330100MA27XF6T0L",
         "email": "ap@hangzhou-tech.example.cn", "lang": LANG, "tz": TZ},
        {"name": "张三", "country_id": china, "email": "zhangsan@example.cn", "lang": LANG, "tz": TZ,
         "l10n_cn_einv_is_natural_person": True},
    ])
    orders = env["sale.order"].with_company(company).create([
        {"partner_id": buyers[0].id, "company_id": company.id, "warehouse_id": warehouse.id, "order_line": [
            Command.create({"product_id": printer.id, "product_uom_qty": 2}),
            Command.create({"product_id": support.id, "product_uom_qty": 1})]},
        {"partner_id": buyers[1].id, "company_id": company.id, "warehouse_id": warehouse.id,
         "l10n_cn_einv_invoice_type": "01",
         "order_line": [Command.create({"product_id": support.id, "product_uom_qty": 1})]},
        {"partner_id": buyers[2].id, "company_id": company.id, "warehouse_id": warehouse.id,
         "order_line": [Command.create({"product_id": rice.id, "product_uom_qty": 3})]},
        {"partner_id": buyers[0].id, "company_id": company.id, "warehouse_id": warehouse.id,
         "order_line": [Command.create({"product_id": printer.id, "product_uom_qty": 1}),
                        Command.create({"product_id": rice.id, "product_uom_qty": 10})]},
    ])
    orders[1:].action_confirm()              # orders[0] stays a quotation
    invoices = orders[2:]._create_invoices()  # orders[1] waits to be invoiced
    invoices.action_post()
    orders[3].action_l10n_cn_einv_issue()    # one already e-invoiced on the embedded sandbox
    env.cr.commit()
    issued = orders[3].invoice_ids
    groups = ", ".join(group.with_context(lang=LANG).name for group in issued.line_ids.tax_ids.tax_group_id)
    print(f"demo data created: company {company.name}, orders {', '.join(orders.mapped('name'))}; "
          f"e-invoice {issued.l10n_cn_einv_number} issued for {issued.name} ({groups})")
    nuonuo_company(env, admin, company, buyers[0])
    pos_shops(env, admin, company)


def pos_shops(env, admin, company):
    """Two shops of the demo company selling the demo products at the till, each with a few paid
    orders, the ones with a customer invoiced (开票) and e-invoiced at the till on the embedded
    sandbox, as a cashier's till sends them; a store manager restricted to the first shop. The head
    office (admin, an e-invoice manager) sees both on the dashboard and in the analysis per store.
    Each part is made once: a shop, its orders (fixed uuids) and the user are looked up first."""
    if "l10n_cn_einv_pos_config_ids" not in env["res.users"]._fields:
        return    # the Point of Sale bridge is not installed
    env = env(user=admin.id, context=dict(env.context, allowed_company_ids=[company.id], lang="en_US"))
    company = company.with_env(env)
    # the receipt's QR code leads to the 数电票 request page (the bridge sets it on install, for the
    # companies in China that exist then)
    company.point_of_sale_use_ticket_qr_code = True
    products = {product.default_code: product for product in env["product.product"].search(
        [("company_id", "=", company.id), ("default_code", "in", ["LP-100", "RICE-5"])])}
    products_to_sell = env["product.product"].union(*products.values())
    products_to_sell.filtered(lambda product: not product.available_in_pos).available_in_pos = True
    buyers = {key: env["res.partner"].search(domain, limit=1) for key, domain in BUYERS.items()}
    bank_journal = env["account.journal"].search([("company_id", "=", company.id), ("type", "=", "bank")], limit=1)
    wechat = env["pos.payment.method"].search([("company_id", "=", company.id), ("name", "=", "微信支付")], limit=1) \
        or env["pos.payment.method"].create({
            "name": "微信支付", "journal_id": bank_journal.id, "company_id": company.id})
    for shop_name, cash_code, manager, order_specs in SHOPS:
        shop = env["pos.config"].search([("company_id", "=", company.id), ("name", "=", shop_name)])
        if not shop:
            # a shop counts its own cash: a cash journal and method of its own (point_of_sale's rule)
            cash_journal = env["account.journal"].create({
                "name": f"{shop_name}现金", "type": "cash", "code": cash_code, "company_id": company.id})
            cash = env["pos.payment.method"].create({
                "name": "现金", "journal_id": cash_journal.id, "company_id": company.id})
            shop = env["pos.config"].create({
                "name": shop_name, "company_id": company.id,
                "payment_method_ids": [Command.set((cash | wechat).ids)],
            })
        if manager:
            store_manager(env, company, shop, *manager)
        shop_orders(env, shop, products, buyers, order_specs)
    print(f"demo shops: {', '.join(shop_name for shop_name, *_rest in SHOPS)} (销售点 / Point of Sale)")


def store_manager(env, company, shop, login, name):
    """A store manager (login = password) who sees this shop only."""
    users = env["res.users"].sudo().with_context(active_test=False)
    user = users.search([("login", "=", login)])
    if not user:
        user = users.with_context(no_reset_password=True).create({
            "name": name, "login": login, "password": login, "lang": LANG, "tz": TZ,
            "company_id": company.id, "company_ids": [Command.set(company.ids)],
            "groups_id": [Command.set([env.ref("base.group_user").id,
                                       env.ref("l10n_cn_einvoice_pos.group_l10n_cn_einv_store_manager").id])],
        })
    if shop not in user.l10n_cn_einv_pos_config_ids:
        user.l10n_cn_einv_pos_config_ids = [Command.link(shop.id)]
    print(f"store manager of {shop.name}: login {login}, password {login}")


def shop_orders(env, shop, products, buyers, order_specs):
    """The shop's paid orders, sent as its till sends them (pos.order.sync_from_ui): invoiced at the
    till when asked, which issues their e-invoices at once. Fixed uuids: an order sent again is the
    same order to Odoo, so a second run makes none."""
    uuids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"l10n_cn_einvoice-demo/{shop.name}/{index}"))
             for index in range(len(order_specs))]
    if env["pos.order"].search_count([("uuid", "in", uuids)]) == len(uuids):
        return
    session = shop.current_session_id
    if not session:
        shop.open_ui()
        session = shop.current_session_id
        session.set_opening_control(0, None)
    cash = shop.payment_method_ids.filtered("is_cash_count")[:1]
    company = shop.company_id
    orders = []
    for index, (buyer_key, to_invoice, lines) in enumerate(order_specs):
        line_commands, total, untaxed = [], 0.0, 0.0
        for code, quantity in lines:
            product = products[code]
            taxes = product.taxes_id.filtered(lambda tax: tax.company_id == company)
            amounts = taxes.compute_all(product.lst_price, company.currency_id, quantity, product=product)
            total += amounts["total_included"]
            untaxed += amounts["total_excluded"]
            line_commands.append(Command.create({
                "product_id": product.id, "qty": quantity, "price_unit": product.lst_price, "discount": 0,
                "price_subtotal": amounts["total_excluded"], "price_subtotal_incl": amounts["total_included"],
                "tax_ids": [Command.set(taxes.ids)], "pack_lot_ids": [],
                "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{uuids[index]}/{code}")),
            }))
        total = company.currency_id.round(total)
        orders.append({
            "uuid": uuids[index], "name": f"Order {session.id:05d}-001-{index + 1:04d}",
            "session_id": session.id, "user_id": env.uid, "sequence_number": index + 1,
            "partner_id": buyers[buyer_key].id if buyer_key else False,
            "pricelist_id": shop.pricelist_id.id, "fiscal_position_id": False,
            "date_order": fields.Datetime.to_string(fields.Datetime.now()),
            "lines": line_commands, "amount_total": total, "amount_tax": total - untaxed,
            "amount_paid": total, "amount_return": 0, "to_invoice": to_invoice, "state": "paid",
            "last_order_preparation_change": "{}",
            "payment_ids": [Command.create({"amount": total, "name": fields.Datetime.now(),
                                            "payment_method_id": cash.id})],
        })
    result = env["pos.order"].sync_from_ui(orders)
    env.cr.commit()
    made = env["pos.order"].browse([row["id"] for row in result["pos.order"]])
    numbers = ", ".join(f"{order.pos_reference} {order.account_move.l10n_cn_einv_number or '-'}" for order in made)
    print(f"  {shop.name}: orders and e-invoices {numbers}")


def nuonuo_company(env, admin, first, buyer):
    """A second company that issues through 诺诺: in the sandbox without an endpoint, the 诺诺
    simulator embedded in Odoo opens an app for it (key and secret stored, sealed) and plays 诺诺."""
    company = env["res.company"].create({
        "name": NUONUO_COMPANY, "country_id": env.ref("base.cn").id, "currency_id": env.ref("base.CNY").id,
        "vat": "91330106MA2B1C3D45", "street": "西湖区文三路 200 号", "city": "杭州",
        "l10n_cn_einv_seller_address_phone": "杭州市西湖区文三路 200 号 0571-88886666",
        "l10n_cn_einv_issuer": "李会计", "l10n_cn_einv_provider": "nuonuo",
    })
    company.partner_id.write({"lang": LANG, "tz": TZ})
    env["account.chart.template"].try_loading("cn", company=company, install_demo=False)
    env.cr.commit()
    admin.write({"company_ids": [Command.link(company.id)]})
    env = env(context=dict(env.context, allowed_company_ids=[company.id, first.id], lang="en_US"))
    name, code, tax_xmlid, price, extra = PRODUCTS[0]
    product = env["product.product"].create({
        "name": name, "list_price": price, "company_id": company.id, "invoice_policy": "order",
        "taxes_id": [Command.set(env["account.chart.template"].with_company(company).ref(tax_xmlid).ids)],
        "l10n_cn_einv_tax_code_id": env["l10n_cn_einv.tax.code"].search([("code", "=", code)]).id, **extra})
    invoice = env["account.move"].with_company(company).create({
        "move_type": "out_invoice", "partner_id": buyer.id, "company_id": company.id,
        "invoice_line_ids": [Command.create({"product_id": product.id, "quantity": 1})]})
    invoice.action_post()
    invoice.action_l10n_cn_einv_issue()
    env.cr.commit()
    print(f"demo company {company.name} issues through 诺诺 (embedded simulator, app "
          f"{company.l10n_cn_einv_nuonuo_app_key}): {invoice.name} is e-invoice {invoice.l10n_cn_einv_number} "
          f"({invoice.l10n_cn_einv_state})")


main(env)  # noqa: F821 - odoo shell provides env
