from . import account_move, pos_order, res_partner
