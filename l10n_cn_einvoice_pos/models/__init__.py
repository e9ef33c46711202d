from . import account_move
from . import pos_order
from . import res_partner
