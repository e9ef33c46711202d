from . import tax_code_check, tax_code_import, tax_code_suggest
