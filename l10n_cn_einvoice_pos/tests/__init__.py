from . import test_pos_einvoice, test_pos_tour
