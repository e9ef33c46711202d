import { patch } from "@web/core/utils/patch";
import { PaymentScreen } from "@point_of_sale/app/screens/payment_screen/payment_screen";
import { makeAwaitable } from "@point_of_sale/app/store/make_awaitable_dialog";
import { WalkInTitlePopup } from "@l10n_cn_einvoice_pos/app/walk_in_title_popup/walk_in_title_popup";

patch(PaymentScreen.prototype, {
    /** The invoice title (抬头) the e-invoice will print for the order's customer. */
    get l10nCnEinvTitle() {
        const partner = this.currentOrder.get_partner();
        if (!partner) {
            return null;
        }
        return {
            name: partner.l10n_cn_einv_title_name || partner.name,
            taxId: partner.vat || "",
            email: partner.l10n_cn_einv_email || partner.email || "",
        };
    },
    async l10nCnEinvEnterWalkInTitle() {
        const partner = await makeAwaitable(this.dialog, WalkInTitlePopup, {
            orderUuid: this.currentOrder.uuid,
        });
        if (partner) {
            this.currentOrder.set_partner(partner);
            this.currentOrder.set_to_invoice(true);
        }
    },
});
