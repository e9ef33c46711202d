from . import test_pos_einvoice
