import * as Chrome from "@point_of_sale/../tests/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/tours/utils/dialog_util";
import * as PaymentScreen from "@point_of_sale/../tests/tours/utils/payment_screen_util";
import * as ProductScreen from "@point_of_sale/../tests/tours/utils/product_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/tours/utils/receipt_screen_util";
import { registry } from "@web/core/registry";

/** Type ``value`` into the input ``selector`` as a person does, then leave it (change). */
function typeInto(selector, value) {
    return {
        content: `type ${value} into ${selector}`,
        trigger: selector,
        run() {
            const input = document.querySelector(selector);
            input.value = value;
            input.dispatchEvent(new Event("input", { bubbles: true }));
            input.dispatchEvent(new Event("change", { bubbles: true }));
        },
    };
}

/** The cashier opens the till and rings up a laser printer (激光打印机). */
function openTheTillWithAPrinter() {
    return [
        Chrome.startPoS(),
        Dialog.confirm("Open Register"),
        ProductScreen.searchProduct("激光打印机"),
        ProductScreen.clickDisplayedProduct("激光打印机"),
    ].flat();
}

// A walk-in buyer asks for an invoice at the till: their title, a wrong taxpayer id refused on
// the spot, then paid with invoice: the receipt prints the 数电票 number.
registry.category("web_tour.tours").add("l10n_cn_einvoice_pos_title_tour", {
    steps: () =>
        [
            openTheTillWithAPrinter(),
            ProductScreen.clickPayButton(),
            {
                content: "enter a walk-in buyer's invoice title",
                trigger: ".payment-buttons .o_l10n_cn_einv_walk_in_button",
                run: "click",
            },
            typeInto("#l10n_cn_einv_title_name", "北京某某科技有限公司"),
            typeInto("#l10n_cn_einv_title_tax_id", "91110108MA01A7XW0X"),
            {
                content: "the wrong taxpayer id is refused on the spot",
                trigger: ".o_l10n_cn_einv_tax_id_error",
            },
            typeInto("#l10n_cn_einv_title_tax_id", "91110108MA01A7XW0E"),
            {
                content: "the right one is accepted",
                trigger: ".modal:not(:has(.o_l10n_cn_einv_tax_id_error)) #l10n_cn_einv_title_tax_id",
            },
            typeInto("#l10n_cn_einv_title_email", "fin@example.cn"),
            {
                content: "apply the title",
                trigger: ".modal-footer .btn-primary",
                run: "click",
            },
            {
                content: "the payment screen shows the invoice title",
                trigger: ".o_l10n_cn_einv_title_name:contains(北京某某科技有限公司)",
            },
            {
                content: "the order is to invoice",
                trigger: ".payment-buttons .js_invoice.highlight",
            },
            PaymentScreen.clickPaymentMethod("现金"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.receiptIsThere(),
            {
                content: "the receipt prints the e-invoice number",
                trigger: ".pos-receipt .o_l10n_cn_einv_number",
                run() {
                    const number = document.querySelector(".pos-receipt .o_l10n_cn_einv_number");
                    if (!/^\d{20}$/.test(number.textContent.trim())) {
                        throw new Error(`not an e-invoice number: ${number.textContent}`);
                    }
                },
            },
            {
                content: "invoiced at the till: no self-service QR code on the receipt",
                trigger: ".pos-receipt:not(:has(#posqrcode)):not(:contains(Unique Code))",
            },
        ].flat(),
});

// A customer with an invoice title, while the platform is busy: the title shows at the payment
// screen, and the receipt says the e-invoice is being issued (开票中); the queue issues it later.
registry.category("web_tour.tours").add("l10n_cn_einvoice_pos_pending_tour", {
    steps: () =>
        [
            openTheTillWithAPrinter(),
            ProductScreen.clickPartnerButton(),
            ProductScreen.clickCustomer("上海某某贸易有限公司"),
            ProductScreen.clickPayButton(),
            {
                content: "the payment screen shows the customer's invoice title",
                trigger: ".o_l10n_cn_einv_title:contains(91310000MA1FL0XL39)",
            },
            PaymentScreen.clickInvoiceButton(),
            PaymentScreen.clickPaymentMethod("现金"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.receiptIsThere(),
            {
                content: "the receipt says the e-invoice is being issued",
                trigger: ".pos-receipt .o_l10n_cn_einv_pending",
            },
        ].flat(),
});

// A walk-in sale without invoice: the receipt carries the self-service QR code (扫码开票) and its
// unique code. The shopper's side: l10n_cn_einvoice_pos_request_tour.js.
registry.category("web_tour.tours").add("l10n_cn_einvoice_pos_receipt_qr_tour", {
    steps: () =>
        [
            openTheTillWithAPrinter(),
            ProductScreen.clickPayButton(),
            {
                content: "no customer, not to invoice",
                trigger: ".payment-buttons:not(:has(.js_invoice.highlight))",
            },
            PaymentScreen.clickPaymentMethod("现金"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.receiptIsThere(),
            {
                content: "the receipt carries the self-service QR code, to /pos/ticket",
                trigger: ".pos-receipt img#posqrcode[src*='%2Fpos%2Fticket']",
            },
            {
                content: "and the unique code the shopper may type instead",
                trigger: ".pos-receipt .pos-receipt-order-data:contains(Unique Code)",
                run() {
                    const code = [...document.querySelectorAll(".pos-receipt .pos-receipt-order-data")]
                        .find((element) => element.textContent.includes("Unique Code"));
                    if (!/Unique Code:\s*\w{5}\s*$/.test(code.textContent)) {
                        throw new Error(`no unique code: ${code.textContent}`);
                    }
                },
            },
            {
                content: "no e-invoice is issued at the till",
                trigger: ".pos-receipt:not(:has(.o_l10n_cn_einv_receipt))",
            },
        ].flat(),
});
