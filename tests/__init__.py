from . import test_install, test_product_partner, test_tax_code
