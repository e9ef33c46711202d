import { registry } from "@web/core/registry";

// Issuing from a record created in the same form (its URL still says "new"): after the success
// toast the form must still show that record, with its number, never a blank new record.

function pick(field, text, content) {
    return [
        { content, trigger: `.o_field_widget[name='${field}'] input`, run: `edit ${text}` },
        { content: `${content}: choose it`, trigger: `.o-autocomplete--dropdown-item:contains('${text}')`, run: "click" },
    ];
}

function createConfirmAndIssue({ productField, product, confirmButton, confirmedState, nameShown }) {
    return [
        ...pick("partner_id", "上海某某贸易有限公司", "Customer"),
        { content: "Add a line", trigger: ".o_field_x2many_list_row_add a", run: "click" },
        ...pick(productField, product, `Product ${product}`),
        {
            content: "The line has its product",
            trigger: `.o_data_row.o_selected_row .o_field_widget[name='${productField}'] input:value(${product})`,
        },
        { content: "Confirm the new record", trigger: `.o_form_view button[name='${confirmButton}']:enabled`, run: "click" },
        { content: "Confirmed", trigger: `.o_statusbar_status .o_arrow_button_current:contains('${confirmedState}')` },
        {
            content: "Issue its e-invoice",
            trigger: ".o_form_view .o_form_statusbar button[name='action_l10n_cn_einv_issue']",
            run: "click",
        },
        { content: "The platform issued it", trigger: ".o_notification:contains('E-invoices issued')" },
        { content: "Still on the record issued (its name, not New)", trigger: nameShown },
        { content: "No error dialog", trigger: "body:not(:has(.o_error_dialog))" },
        { content: "Open the e-invoice tab", trigger: ".o_notebook .nav-link:contains('E-Invoice')", run: "click" },
        {
            content: "The e-invoice number is shown",
            trigger: ".o_field_widget[name='l10n_cn_einv_number']:contains('2')",
        },
    ];
}

registry.category("web_tour.tours").add("l10n_cn_einvoice_new_order_tour", {
    steps: () => createConfirmAndIssue({
        productField: "product_template_id", product: "软件维护服务", confirmButton: "action_confirm",
        confirmedState: "Sales Order", nameShown: ".o_breadcrumb .active:contains('S0')",
    }),
});

registry.category("web_tour.tours").add("l10n_cn_einvoice_new_invoice_tour", {
    steps: () => createConfirmAndIssue({
        productField: "product_id", product: "激光打印机", confirmButton: "action_post",
        confirmedState: "Posted", nameShown: ".o_field_widget[name='name']:contains('INV/')",
    }),
});
