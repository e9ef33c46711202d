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

// After a download (a report, a zip): the request done, the page still there, no error.
const downloaded = [
    { content: "The download is asked for", trigger: "body", async run() {
        await new Promise((resolve) => setTimeout(resolve, 500));
    } },
    { content: "The download is over", trigger: "body:not(:has(.o_blockUI))" },
    noError,
];

const closeDialog = [
    { content: "Close the dialog", trigger: ".modal .modal-footer button.btn-primary", run: "click" },
    { content: "Dialog closed", trigger: "body:not(:has(.modal))" },
];

// The login wizard of "Resume after login": its QR code, then the resume once logged in again.
const loginWizard = [
    ...click("Resume after login", ".o_form_statusbar button[name='action_l10n_cn_einv_resume_after_login']",
             ".modal button[name='action_show_qr_code']"),
    ...click("Show QR code", ".modal button[name='action_show_qr_code']",
             ".modal .o_field_widget[name='message'] span:not(:empty)"),
    ...click("Logged in: resume", ".modal button[name='action_resume']",
             ".o_notification:contains('Issuing resumes')"),
    { content: "No longer waiting for the login",
      trigger: ".o_form_view:not(:has(button[name='action_l10n_cn_einv_resume_after_login']))" },
    noError,
];

// A row of the invoice list by its e-invoice status (none: never issued), selected alone.
const badge = "[name='l10n_cn_einv_state'] .badge";
function selectOnly(status) {
    return [
        { content: "Unselect all", trigger: ".o_list_view", run() {
            for (const box of document.querySelectorAll(".o_data_row .o_list_record_selector input:checked")) {
                box.click();
            }
        } },
        { content: "Nothing selected", trigger: ".o_list_view:not(:has(.o_data_row .o_list_record_selector input:checked))" },
        { content: `Select an invoice ${status || "never issued"}`,
          trigger: `.o_data_row${status ? `:has(${badge}:contains('${status}'))` : `:not(:has(${badge}))`}:first .o_list_record_selector input`,
          run: "click" },
        { content: "Selected", trigger: ".o_list_selection_box" },
    ];
}

function actionMenu(entry, outcome) {
    return [
        { content: "Open the action menu", trigger: ".o_control_panel .o_cp_action_menus button:has(.fa-cog)", run: "click" },
        ...click(entry, `.o-dropdown--menu .o-dropdown-item:contains('${entry}')`, outcome),
    ];
}

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
        ...click("Issue e-invoices", ".o_list_view button[name='action_l10n_cn_einv_issue_batch']",
                 ".modal:contains('Issue e-invoices') .o_data_row"),
        ...closeDialog,
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

tours.add("l10n_cn_einvoice_resume_after_login_tour", { steps: () => loginWizard });

tours.add("l10n_cn_einvoice_red_form_refuse_tour", {
    steps: () => [
        ...click("Refuse", ".o_form_statusbar button[name='action_l10n_cn_einv_refuse']", ".modal .btn-primary"),
        ...click("Yes", ".modal .btn-primary", ".o_statusbar_status .o_arrow_button_current:contains('Refused')"),
    ],
});

tours.add("l10n_cn_einvoice_red_form_revoke_tour", {
    steps: () => [
        ...click("Refresh", ".o_form_statusbar button[name='action_l10n_cn_einv_refresh']",
                 ".o_form_statusbar button[name='action_l10n_cn_einv_revoke']"),
        ...click("Revoke", ".o_form_statusbar button[name='action_l10n_cn_einv_revoke']", ".modal .btn-primary"),
        ...click("Yes", ".modal .btn-primary", ".o_statusbar_status .o_arrow_button_current:contains('Revoked')"),
    ],
});

tours.add("l10n_cn_einvoice_red_form_retry_tour", {
    steps: () => [
        ...click("Retry", ".o_form_statusbar button[name='action_l10n_cn_einv_retry']",
                 ".o_statusbar_status .o_arrow_button_current:contains('Red Invoice Issued')"),
    ],
});

tours.add("l10n_cn_einvoice_invoice_list_actions_tour", {
    steps: () => [
        ...selectOnly("Failed"),
        ...actionMenu("Retry failed e-invoices", ".modal:contains('Retry e-invoices') .o_data_row:contains('Done')"),
        ...closeDialog,
        ...selectOnly("Issued"),
        ...actionMenu("Download E-Invoice Files (zip)", "body"),
        ...downloaded,
        { content: "Still on the list", trigger: ".o_list_view" },
        ...selectOnly("Issued"),
        ...actionMenu("Red-reverse selected", ".modal:contains('Red reversal') .o_data_row:contains('Done')"),
        ...closeDialog,
        ...selectOnly(),
        ...actionMenu("Issue e-invoices", ".modal:contains('Issue e-invoices') .o_data_row:contains('Done')"),
        ...closeDialog,
    ],
});

tours.add("l10n_cn_einvoice_nuonuo_settings_buttons_tour", {
    steps: () => [
        ...click("Get token", "button[name='action_l10n_cn_einv_get_access']",
                 ".o_notification:contains('Access token ready')"),
    ],
});

tours.add("l10n_cn_einvoice_product_buttons_tour", {
    steps: () => [
        { content: "Invoicing tab", trigger: ".o_notebook .nav-link[name='invoicing']", run: "click" },
        ...click("Suggest classification code", "button[name='action_l10n_cn_einv_suggest_tax_codes']",
                 ".modal .o_data_row button[name='action_use']"),
        ...click("Use", ".modal .o_data_row:first button[name='action_use']", "body:not(:has(.modal))"),
        { content: "The code is set",
          trigger: ".o_field_widget[name='l10n_cn_einv_tax_code_id'] input:not(:value(''))" },
        ...click("Suggest again", "button[name='action_l10n_cn_einv_suggest_tax_codes']",
                 ".modal button[name='action_apply']"),
        ...click("Use the best match", ".modal button[name='action_apply']", "body:not(:has(.modal))"),
    ],
});

tours.add("l10n_cn_einvoice_tax_code_buttons_tour", {
    steps: () => [
        ...click("Sync from tax platform", ".o_list_view button[name='action_l10n_cn_einv_sync_from_platform']",
                 ".o_notification:contains('synchronised')"),
    ],
});

tours.add("l10n_cn_einvoice_audit_wizard_buttons_tour", {
    steps: () => [
        ...click("Print", ".modal button[name='action_print']", "body"),
        ...downloaded,
    ],
});

tours.add("l10n_cn_einvoice_period_wizard_buttons_tour", {
    steps: () => [
        ...click("Download Files (zip)", ".modal button[name='action_download_zip']", "body"),
        ...downloaded,
        { content: "Still on the wizard", trigger: ".modal button[name='action_print']" },
        ...click("Print List", ".modal button[name='action_print']", "body"),
        ...downloaded,
    ],
});
