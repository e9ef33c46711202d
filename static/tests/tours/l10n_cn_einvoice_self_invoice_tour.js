import { registry } from "@web/core/registry";
import * as RequestPage from "@l10n_cn_einvoice/../tests/tours/l10n_cn_einvoice_request_page_util";

// A shopper on a phone fills the request page (扫码开票 / 申请开票): a wrong taxpayer id is
// refused in Chinese with nothing created, the corrected title issues the e-invoice.
registry.category("web_tour.tours").add("l10n_cn_einvoice_self_invoice_tour", {
    steps: () =>
        [
            RequestPage.isInChinese(),
            RequestPage.fitsAPhone(),
            RequestPage.fillCompanyTitle({
                name: "上海某某贸易有限公司",
                taxId: "91310000MA1FL0XL38",
                email: "finance@buyer.example.cn",
            }),
            RequestPage.submit(),
            RequestPage.problemIsTold("tax_id", "纳税人识别号"),
            RequestPage.setTaxId("91310000MA1FL0XL39", "Correct the taxpayer id"),
            RequestPage.submit(),
            RequestPage.isIssued(),
        ].flat(),
});

// A customer signed in to the portal asks for the e-invoice of their online order: 申请开票 on the
// order's page leads to the request page, their title issues it.
registry.category("web_tour.tours").add("l10n_cn_einvoice_portal_request_tour", {
    steps: () =>
        [
            {
                content: "Request the e-invoice from the order's portal page (申请开票)",
                trigger: "a.o_l10n_cn_einv_request_link",
                run: "click",
            },
            RequestPage.fillCompanyTitle({
                name: "上海某某贸易有限公司",
                taxId: "91310000MA1FL0XL39",
                email: "finance@buyer.example.cn",
            }),
            RequestPage.submit(),
            RequestPage.isIssued(),
        ].flat(),
});
