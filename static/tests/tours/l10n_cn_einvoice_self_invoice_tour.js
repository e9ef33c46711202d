import { registry } from "@web/core/registry";

// A shopper on a phone fills the request page (扫码开票 / 申请开票): a wrong taxpayer id is
// refused in Chinese with nothing created, the corrected title issues the e-invoice.
registry.category("web_tour.tours").add("l10n_cn_einvoice_self_invoice_tour", {
    steps: () => [
        {
            content: "The page is in Chinese",
            trigger: "h1:contains('申请开票')",
        },
        {
            content: "On a phone: the page fits the screen's width, nothing to scroll sideways",
            trigger: "form.o_l10n_cn_einv_request_form",
            run() {
                // the test asks for 375 px; headless Chrome makes no window narrower than 500 px
                if (window.innerWidth > 500) {
                    throw new Error(`not a phone-sized window: ${window.innerWidth}px wide`);
                }
                if (document.documentElement.scrollWidth > window.innerWidth) {
                    throw new Error(`the page is wider than the phone: ${document.documentElement.scrollWidth}px`);
                }
            },
        },
        {
            content: "A company title",
            trigger: "label[for='l10n_cn_einv_type_company']",
            run: "click",
        },
        {
            content: "Its name",
            trigger: "input[name='name']",
            run: "edit 上海某某贸易有限公司",
        },
        {
            content: "A taxpayer id with a wrong check character",
            trigger: "input[name='tax_id']",
            run: "edit 91310000MA1FL0XL38",
        },
        {
            content: "The e-mail",
            trigger: "input[name='email']",
            run: "edit finance@buyer.example.cn",
        },
        {
            content: "Submit",
            trigger: "button.o_l10n_cn_einv_request_submit",
            run: "click",
        },
        {
            content: "The problem is told in Chinese",
            trigger: ".o_l10n_cn_einv_request_problems li[data-field='tax_id']:contains('纳税人识别号')",
        },
        {
            content: "Correct the taxpayer id",
            trigger: "input[name='tax_id']",
            run: "edit 91310000MA1FL0XL39",
        },
        {
            content: "Submit again",
            trigger: "button.o_l10n_cn_einv_request_submit",
            run: "click",
        },
        {
            content: "The e-invoice is issued: its number is shown",
            trigger: ".o_l10n_cn_einv_request_status .o_l10n_cn_einv_request_number:contains('26')",
        },
    ],
});
