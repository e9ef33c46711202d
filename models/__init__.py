from . import product, res_partner, tax_code
