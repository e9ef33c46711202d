"""What our platform offers (fapiao.provider.Capabilities) and what a company configures for it."""

from ...provider import CALLBACKS_SIGNED, Capabilities, Setting
from ...rules import PROTOCOL_LIMITS

CODE = "reference"
LABEL = "Reference protocol (built-in sandbox)"
QUERY_BATCH = 100   # serial numbers (or form numbers) one query takes (docs/protocol.md §6.2)

CAPABILITIES = Capabilities(
    asynchronous=True,              # an issue may answer "pending"
    file_formats=("pdf", "xml"),
    legal_original="xml",
    red_letter_forms=True,
    red_invoice_by_platform=False,  # the seller asks for it once the form allows it
    inbound_red_forms=True,
    callbacks=CALLBACKS_SIGNED,
    catalogue=True,
    quota=True,
    login_session=True,             # login/status, /qrcode, /verify (§6.9); 2007 says it lapsed
    void=True,                      # legacy types only: 数电票 answer 3004
    query_batch=QUERY_BATCH,
    list_page=0,                    # red-forms/list answers every form at once
    rate_limit=50.0,                # published per application (protocol.md §1); the sandbox enforces what it is told
    limits=PROTOCOL_LIMITS,
)

SETTINGS = (
    Setting("endpoint", "Endpoint", help="Base URL of the platform, e.g. https://fapiao.example.com"),
    Setting("app_id", "Application ID", help="X-App-Id: the application the platform registered (1-64 characters)"),
    Setting("app_secret", "App Secret", secret=True, help="Key of the HMAC-SM3 signatures of requests and answers"),
    Setting("sm4_key", "SM4 Key", secret=True, help="32 hex digits: the key that encrypts every payload"),
    Setting("sm2_private_key", "SM2 Private Key", secret=True, required=False,
            help="64 hex digits: sign requests with SM2 instead of HMAC-SM3 (the platform holds the public key)"),
    Setting("rate_limit", "Requests per second", required=False,
            help="Never more requests than this for the application, from every Odoo worker and server together. "
                 f"Empty: the platform's published limit ({CAPABILITIES.rate_limit:g})"),
)
