"""What 诺诺 offers (fapiao.provider.Capabilities) and what a company configures for it."""

from ...provider import CALLBACKS_NUDGE, Capabilities, Setting
from .wire import LIMITS

CODE = "nuonuo"
LABEL = "诺诺 (Nuonuo open platform, 诺税通 数电)"
PRODUCTION_ENDPOINT = "https://sdk.nuonuo.com/open/v1/services"
SANDBOX_ENDPOINT = "https://sandbox.nuonuocs.cn/open/v1/services"
TOKEN_ENDPOINT = "https://open.nuonuo.com/accessToken"  # noqa: S105 (an address, not a secret)
QUERY_BATCH = 50            # queryInvoiceResult: 1-50 orders
LIST_PAGE = 50              # queryInvoiceRedConfirm: pageSize at most 50
# Hosts 诺诺 serves invoice files from (suffixes), unless the company names its own: seen in 诺诺's
# documented samples (jss.com.cn, nntest.cn) and its own domains; unconfirmed for production.
DOWNLOAD_HOSTS = ("nuonuo.com", "jss.com.cn", "nntest.cn", "nuonuocs.cn")
DOWNLOAD_MAX_BYTES = 10 * 1024 * 1024

CAPABILITIES = Capabilities(
    asynchronous=True,              # requestBillingNew answers a serial number; the result is queried
    file_formats=("pdf", "ofd", "xml"),
    legal_original="ofd",           # 诺诺: with both, the OFD is the original voucher, not the PDF
    red_letter_forms=True,
    red_invoice_by_platform=True,   # 数电电票: issued by itself once the form allows it
    inbound_red_forms=True,
    callbacks=CALLBACKS_NUDGE,      # unsigned form posts: only a hint to query
    catalogue=False,
    quota=True,                     # getCreditLine
    login_session=True,             # getCertificationStatus, getQrCode, verifyComplete
    void=False,                     # 数电 invoices are reversed, never voided
    query_batch=QUERY_BATCH,
    list_page=LIST_PAGE,
    rate_limit=10.0,                # the sandbox's floor; production's figure is the app's, unpublished
    parallel_requests=4,            # at 10 a second and a few hundred ms each, four keep the rate busy
    limits=LIMITS,
    serial_max_length=LIMITS.serial_no,   # orderNo: 20 characters
)

SETTINGS = (
    Setting("endpoint", "Endpoint", help=f"{PRODUCTION_ENDPOINT} (production) or {SANDBOX_ENDPOINT} (诺诺's sandbox)"),
    Setting("token_endpoint", "Token endpoint", required=False, help=f"Where tokens are asked for: {TOKEN_ENDPOINT}"),
    Setting("app_key", "App Key", help="The appKey of the 诺诺 application (自用型)"),
    Setting("app_secret", "App Secret", secret=True, help="Signs every request (HMAC-SHA1) and asks for tokens"),
    Setting("access_token", "Access token", secret=True, required=False,
            help="Only for an app whose token never expires and was issued by hand; otherwise leave empty: the "
                 "token is asked for at the token endpoint and renewed before it expires"),
    Setting("seller_tax_id", "Seller tax ID", help="The company's 纳税人识别号: sent as userTax and salerTaxNum"),
    Setting("extension_number", "Extension number", required=False, help="分机号 of the 数电 account at 诺诺"),
    Setting("download_hosts", "File hosts", required=False,
            help="Hosts invoice files may be downloaded from (comma separated); default: " + ", ".join(DOWNLOAD_HOSTS)
                 + ". Plain http:// only from a loopback host (127.0.0.1, ::1, localhost) named here, for a simulator"),
    Setting("rate_limit", "Requests per second", required=False,
            help="The most requests per second sent to 诺诺 for this app. 诺诺's sandbox "
                 "allows a tenth of production, and at least 10 per second; 诺诺 bans addresses that load-test "
                 f"it. Default: {CAPABILITIES.rate_limit:g}"),
)
