/**
 * Steps of a shopper on the e-invoice request page (扫码开票 / 申请开票), for every tour that reaches
 * it: from a sale order's link, from a POS receipt's QR code (l10n_cn_einvoice_pos).
 */

export function isInChinese() {
    return {
        content: "The page is in Chinese",
        trigger: "h1:contains('申请开票')",
    };
}

export function fitsAPhone() {
    return {
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
    };
}

export function setTaxId(taxId, content = "The taxpayer id") {
    return {
        content,
        trigger: "input[name='tax_id']",
        run: `edit ${taxId}`,
    };
}

/** A company title: its name, taxpayer id and the e-mail the e-invoice goes to. */
export function fillCompanyTitle({ name, taxId, email }) {
    return [
        {
            content: "A company title",
            trigger: "label[for='l10n_cn_einv_type_company']",
            run: "click",
        },
        {
            content: "Its name",
            trigger: "input[name='name']",
            run: `edit ${name}`,
        },
        setTaxId(taxId),
        {
            content: "The e-mail",
            trigger: "input[name='email']",
            run: `edit ${email}`,
        },
    ];
}

export function submit() {
    return {
        content: "Submit",
        trigger: "button.o_l10n_cn_einv_request_submit",
        run: "click",
    };
}

/** The problem with ``field`` is told, in Chinese, with ``text`` in it. */
export function problemIsTold(field, text) {
    return {
        content: "The problem is told in Chinese",
        trigger: `.o_l10n_cn_einv_request_problems li[data-field='${field}']:contains('${text}')`,
    };
}

export function isIssued() {
    return {
        content: "The e-invoice is issued: its 20-digit number is shown",
        trigger: ".o_l10n_cn_einv_request_status .o_l10n_cn_einv_request_number",
        run() {
            const number = document.querySelector(".o_l10n_cn_einv_request_number").textContent.trim();
            if (!/^\d{20}$/.test(number)) {
                throw new Error(`not an e-invoice number: ${number}`);
            }
        },
    };
}

/** Issued, its files not yet fetched (the poll cron fetches them): the page says they follow. */
export function filesFollow() {
    return {
        content: "The PDF follows: the page says so and refreshes by itself",
        trigger: ".o_l10n_cn_einv_request_status .fa-spinner",
    };
}
