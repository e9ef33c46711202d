import { registry } from "@web/core/registry";

// Every button the addon adds to lists and forms, clicked as an e-invoice manager: each must end
// in what it promises (a notification, a view, a dialog), never in a traceback or an error dialog.

const noError = { content: "No error dialog", trigger: "body:not(:has(.o_error_dialog))" };

function click(content, trigger, outcome) {
    return [{ content, trigger, run: "click" }, { content: `${content}: done`, trigger: outcome }, noError];
}

const back = [
    { content: "Back", trigger: ".o_breadcrumb .o_back_button a, .o_breadcrumb li.breadcrumb-item a", run: "click" },
];
const tours = registry.category("web_tour.tours");

tours.add("l10n_cn_einvoice_red_form_buttons_tour", {
    steps: () => [
        ...click("Fetch inbound red forms", ".o_list_view button[name='action_l10n_cn_einv_fetch_inbound']",
                 ".o_notification:contains('Inbound red-letter forms')"),
        ...click("Open the inbound form", ".o_data_row:contains('Inbound') .o_data_cell:first", ".o_form_view"),
        ...click("Confirm it", ".o_form_statusbar button[name='action_l10n_cn_einv_confirm']", ".modal .btn-primary"),
        ...click("Yes", ".modal .btn-primary", ".o_form_view:not(:has(button[name='action_l10n_cn_einv_confirm']))"),
        ...click("Its platform log", "button[name='action_open_logs']", ".o_list_view"),
    ],
});

tours.add("l10n_cn_einvoice_invoice_buttons_tour", {
    steps: () => [
        ...click("Send e-invoice", ".o_form_statusbar button[name='action_l10n_cn_einv_send']:visible",
                 ".o_notification:contains('queued for sending')"),
        ...click("Its platform log", "button[name='action_l10n_cn_einv_open_logs']", ".o_list_view"),
    ],
});

tours.add("l10n_cn_einvoice_failed_invoice_buttons_tour", {
    steps: () => [
        ...click("Retry e-invoice", ".o_form_statusbar button[name='action_l10n_cn_einv_retry']",
                 ".o_notification:contains('E-invoices issued')"),
    ],
});

tours.add("l10n_cn_einvoice_invoice_list_buttons_tour", {
    steps: () => [
        ...click("Select an invoice", ".o_data_row:first .o_list_record_selector input", ".o_list_selection_box"),
        // the batch result: a dialog with the counts and one line per invoice
        ...click("Issue e-invoices", ".o_list_view button[name='action_l10n_cn_einv_issue_batch']",
                 ".modal .o_field_one2many .o_data_row"),
        ...click("Close the result", ".modal .modal-footer button.btn-primary", ".o_list_view"),
    ],
});

tours.add("l10n_cn_einvoice_dashboard_buttons_tour", {
    steps: () => [
        ...click("Refresh", ".o_form_statusbar button[name='action_refresh']", ".o_form_view"),
        ...["action_open_pending", "action_open_failed"].flatMap((name) => [
            ...click(name, `button[name='${name}']`, ".o_list_view"), ...back,
            { content: "Dashboard again", trigger: "button[name='action_refresh']" },
        ]),
        ...["action_open_trend", "action_open_by_product", "action_open_by_tax_code", "action_open_by_company"]
            .flatMap((name) => [
                ...click(name, `button[name='${name}']`, ".o_graph_view, .o_pivot_view"), ...back,
                { content: "Dashboard again", trigger: "button[name='action_refresh']" },
            ]),
    ],
});

tours.add("l10n_cn_einvoice_settings_buttons_tour", {
    steps: () => [
        ...click("Test connection", "button[name='action_l10n_cn_einv_test_connection']",
                 ".o_notification:contains('Connected to the tax platform')"),
        ...click("Resume after login", "button[name='action_l10n_cn_einv_resume_after_login']", ".modal"),
    ],
});
