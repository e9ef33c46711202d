import { Component, useState } from "@odoo/owl";
import { Dialog } from "@web/core/dialog/dialog";
import { usePos } from "@point_of_sale/app/store/pos_hook";

/**
 * The invoice title (抬头) of a walk-in buyer: name, taxpayer id (checked by the server's
 * validation as soon as it is typed), e-mail. Apply asks the server for the customer carrying it;
 * every problem is shown here and nothing is created until there is none.
 */
export class WalkInTitlePopup extends Component {
    static template = "l10n_cn_einvoice_pos.WalkInTitlePopup";
    static components = { Dialog };
    static props = {
        orderUuid: { type: String, optional: true },
        getPayload: Function,
        close: Function,
    };

    setup() {
        this.pos = usePos();
        this.state = useState({ name: "", tax_id: "", email: "", taxIdError: "", errors: "", busy: false });
    }

    async checkTaxId() {
        const taxId = this.state.tax_id.trim();
        this.state.taxIdError = taxId
            ? await this.pos.data.call("res.partner", "l10n_cn_einv_pos_check_tax_id", [taxId])
            : "";
    }

    async confirm() {
        if (this.state.busy) {
            return;
        }
        this.state.busy = true;
        this.state.errors = "";
        try {
            const partnerId = await this.pos.data.call(
                "res.partner",
                "l10n_cn_einv_pos_walk_in_title",
                [{ name: this.state.name, tax_id: this.state.tax_id, email: this.state.email }],
                { order_uuid: this.props.orderUuid || null }
            );
            const [partner] = await this.pos.data.read("res.partner", [partnerId]);
            this.props.getPayload(partner);
            this.props.close();
        } catch (error) {
            this.state.errors = error.data?.message || error.message || String(error);
        } finally {
            this.state.busy = false;
        }
    }
}
