import { registry } from "@web/core/registry";
import * as RequestPage from "@l10n_cn_einvoice/../tests/tours/l10n_cn_einvoice_request_page_util";

// The shopper scans a walk-in receipt's QR code (l10n_cn_einvoice_pos_receipt_qr_tour) on their
// phone, without logging in: the 数电票 request page, their company title, the e-invoice issued,
// its PDF to follow. A file of its own: the page is a public one without the Point of Sale, where the
// POS's tour helpers (imported by the other tours) cannot load.
/**
 * Odoo's own form behind the QR code (/pos/ticket): the ticket number, date and unique code the
 * receipt prints. The test passes them in the address (?ticket=&date=&code=), as read off the receipt.
 */
function copyTheReceiptIntoTheTicketForm() {
    const fill = (name, key) => ({
        content: `the receipt's ${key} into ${name}`,
        trigger: `form input[name='${name}']`,
        run() {
            const input = document.querySelector(`form input[name='${name}']`);
            input.value = new URLSearchParams(window.location.search).get(key);
            input.dispatchEvent(new Event("input", { bubbles: true }));
            input.dispatchEvent(new Event("change", { bubbles: true }));
        },
    });
    return [
        fill("pos_reference", "ticket"),
        fill("date_order", "date"),
        fill("ticket_code", "code"),
        {
            content: "request the invoice: Odoo finds the purchase, the 数电票 request page opens",
            trigger: "form:has(input[name='ticket_code']) button.btn-primary",
            run: "click",
        },
    ];
}

registry.category("web_tour.tours").add("l10n_cn_einvoice_pos_request_on_a_phone_tour", {
    steps: () =>
        [
            copyTheReceiptIntoTheTicketForm(),
            RequestPage.isInChinese(),
            RequestPage.fitsAPhone(),
            RequestPage.fillCompanyTitle({
                name: "北京某某科技有限公司",
                taxId: "91110108MA01A7XW0E",
                email: "fin@example.cn",
            }),
            RequestPage.submit(),
            RequestPage.isIssued(),
            RequestPage.filesFollow(),
        ].flat(),
});
