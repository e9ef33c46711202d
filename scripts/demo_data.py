"""Demo data for `make demo`, run inside `odoo shell` (env is Odoo's).

A Chinese company on the embedded sandbox platform, products with
classification codes at 13 %, 9 % and 6 %, customers with valid invoice
titles, and orders in several states, one of them already e-invoiced.
Idempotent: does nothing when the demo company exists.
"""

from odoo import Command

COMPANY = "示例科技有限公司"


def tax(env, company, rate):
    return env["account.tax"].create({
        "name": f"增值税 {rate:g}%", "amount": rate, "amount_type": "percent", "type_tax_use": "sale",
        "price_include_override": "tax_excluded", "company_id": company.id})


def main(env):
    if env["res.company"].search([("name", "=", COMPANY)]):
        print("demo data already there")
        return
    company = env["res.company"].create({
        "name": COMPANY, "country_id": env.ref("base.cn").id, "currency_id": env.ref("base.CNY").id,
        "vat": "91350100M000100Y43", "street": "鼓楼区五四路 100 号", "city": "福州", "phone": "0591-87654321",
        "l10n_cn_einv_seller_address_phone": "福州市鼓楼区五四路 100 号 0591-87654321",
        "l10n_cn_einv_seller_bank_account": "中国工商银行福州分行 1402020109000012345",
        "l10n_cn_einv_issuer": "王会计",
    })
    env["account.chart.template"].try_loading("cn", company=company, install_demo=False)
    # The chart leaves company settings to flush; they must land before any invoice exists.
    env.cr.commit()
    admin = env.ref("base.user_admin")
    admin.write({"company_ids": [Command.link(company.id)], "company_id": company.id,
                 "groups_id": [Command.link(env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager").id)]})
    env = env(context=dict(env.context, allowed_company_ids=[company.id], lang="en_US"))
    warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1) or \
        env["stock.warehouse"].create({"name": "福州仓", "code": "FZ", "company_id": company.id})
    codes = env["l10n_cn_einv.tax.code"]

    def product(name, code, rate, price, **extra):
        return env["product.product"].create({
            "name": name, "list_price": price, "company_id": company.id,
            "taxes_id": [Command.set(tax(env, company, rate).ids)],
            "l10n_cn_einv_tax_code_id": codes.search([("code", "=", code)]).id, **extra})

    printer = product("激光打印机 LP-100", "1090511030000000000", 13.0, 1999.0, default_code="LP-100",
                      type="consu", invoice_policy="order")
    rice = product("东北大米 5kg", "1010101010000000000", 9.0, 68.0, type="consu", invoice_policy="order")
    support = product("软件维护服务（年度）", "3040201030000000000", 6.0, 12000.0, type="service",
                      invoice_policy="order")
    china = env.ref("base.cn").id
    buyers = env["res.partner"].create([
        {"name": "上海某某贸易有限公司", "is_company": True, "country_id": china, "vat": "91310000MA1FL0XL39",
         "email": "finance@shanghai-trading.example.cn",
         "l10n_cn_einv_address_phone": "上海市浦东新区世纪大道 100 号 021-12345678",
         "l10n_cn_einv_bank_account": "招商银行上海分行 121900000010101"},
        {"name": "杭州某某网络科技有限公司", "is_company": True, "country_id": china, "vat": "91330100MA27XF6T0L",
         "email": "ap@hangzhou-tech.example.cn"},
        {"name": "张三", "country_id": china, "email": "zhangsan@example.cn", "l10n_cn_einv_is_natural_person": True},
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
         "order_line": [Command.create({"product_id": printer.id, "product_uom_qty": 1})]},
    ])
    orders[1:].action_confirm()              # orders[0] stays a quotation
    invoices = orders[2:]._create_invoices()  # orders[1] waits to be invoiced
    invoices.action_post()
    orders[3].action_l10n_cn_einv_issue()    # one already e-invoiced on the embedded sandbox
    env.cr.commit()
    print(f"demo data created: company {company.name}, orders {', '.join(orders.mapped('name'))}; "
          f"e-invoice {orders[3].invoice_ids.l10n_cn_einv_number} issued")


main(env)  # noqa: F821 - odoo shell provides env
