import { registry } from "@web/core/registry";

// A sale order's "Issue e-invoice" button invoices the order and issues the
// e-invoice; the form then shows the 20-digit number the platform gave.
registry.category("web_tour.tours").add("l10n_cn_einvoice_issue_tour", {
    steps: () => [
        {
            content: "Issue the e-invoice of the confirmed order",
            trigger: ".o_form_view .o_form_statusbar button[name='action_l10n_cn_einv_issue']",
            run: "click",
        },
        {
            content: "The platform issued it",
            trigger: ".o_notification:contains('E-invoices issued')",
        },
        {
            content: "Open the e-invoice tab",
            trigger: ".o_notebook .nav-link:contains('E-Invoice')",
            run: "click",
        },
        {
            content: "The e-invoice number is shown on the order",
            trigger: ".o_field_widget[name='l10n_cn_einv_number'] span:contains('2635')",
        },
    ],
});
