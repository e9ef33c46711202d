import { patch } from "@web/core/utils/patch";
import { PosOrder } from "@point_of_sale/app/models/pos_order";

patch(PosOrder.prototype, {
    export_for_printing(baseUrl, headerData) {
        const result = super.export_for_printing(...arguments);
        // The server's answer to the order's sync carries its e-invoice (pos.order fields).
        if (this.is_to_invoice()) {
            result.l10n_cn_einv = {
                number: this.l10n_cn_einv_number || "",
                failed: this.l10n_cn_einv_state === "failed",
            };
        }
        return result;
    },
});
