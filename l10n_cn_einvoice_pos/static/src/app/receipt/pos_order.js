import { patch } from "@web/core/utils/patch";
import { PosOrder } from "@point_of_sale/app/models/pos_order";

patch(PosOrder.prototype, {
    /** Whether the order gets a 数电票: as pos.order's l10n_cn_einv_applicable on the server. */
    get l10nCnEinvApplicable() {
        return this.company.account_fiscal_country_id?.code === "CN";
    },
    export_for_printing(baseUrl, headerData) {
        const result = super.export_for_printing(...arguments);
        if (this.l10nCnEinvApplicable && this.is_to_invoice()) {
            // The server's answer to the order's sync carries its e-invoice (pos.order fields).
            result.l10n_cn_einv = {
                number: this.l10n_cn_einv_number || "",
                failed: this.l10n_cn_einv_state === "failed",
            };
            // Its e-invoice is issued from the till: the self-service QR code (扫码开票), its unique
            // code and URL would only lead to a refusal (the request page issues once).
            result.pos_qr_code = false;
        }
        return result;
    },
});
