"""诺诺's answer codes as the contract's outcomes (fapiao.errors).

Every answer is ``{code, describe, result}``; ``E0000`` is success. What each other code means
for the caller, and which of them public sources confirm, is in docs/providers/nuonuo.md §Codes.
:func:`error_for` builds the exception of a refusal; the few codes a caller acts on itself
(E9106, E9500, E9613) are named here and handled by the client before any exception is made.
"""

from ...errors import (
    AuthenticationError,
    LoginRequired,
    NotFound,
    NotSupported,
    ParameterError,
    PlatformError,
    PlatformInternalError,
    QuotaExceeded,
    SerialRejected,
    SystemBusy,
    TransportError,
)

SUCCESS = "E0000"
DUPLICATE_ORDER = "E9106"     # 订单编号或流水号不能重复: the order exists: query it, never a new order
NOT_FOUND = "E9500"           # queryInvoiceResult: no such order (yet)
REINVOICE_LIMIT = "E9613"     # reInvoice: at most 20 a day for one order
# The token expired at 诺诺 (its clock ahead of ours): chosen by the simulator, no public code. The
# client renews a token it asked for itself and sends again; a token given by hand is refused.
TOKEN_EXPIRED = "070302"  # noqa: S105 (a code, not a token)

# Gateway codes (诺诺 open platform, before any business logic): (class, English, Chinese).
_GATEWAY = {
    "070101": (AuthenticationError, "the app key is unknown to 诺诺 (or its secret could not be read): check the "
               "App Key in the settings", "诺诺无法识别该 App Key：请检查设置中的 App Key"),
    "070201": (SystemBusy, "today's call quota of this API is used up at 诺诺: it resumes tomorrow",
               "诺诺当日该接口调用次数已用完，次日恢复"),
    "070204": (QuotaExceeded, "the paid call quota of the app is used up at 诺诺: a person must renew it",
               "诺诺应用的付费调用额度已用完，请联系诺诺续费"),
    "070301": (AuthenticationError, "the access token does not belong to this App Key: get a new token for this "
               "app (the token and the key must come from the same 诺诺 application)",
               "访问令牌（accessToken）与 App Key 不匹配：请为该应用重新获取令牌"),
    TOKEN_EXPIRED: (AuthenticationError, "the access token has expired at 诺诺 (whose clock may be ahead of this "
                    "server's)", "访问令牌（accessToken）在诺诺已过期（诺诺的时间可能快于本服务器）"),
    "070304": (AuthenticationError, "诺诺 refused the app credentials: check the App Key and App Secret",
               "诺诺拒绝了应用凭据：请检查 App Key 与 App Secret"),
    "070305": (AuthenticationError, "诺诺 refused the app credentials: check the App Key and App Secret",
               "诺诺拒绝了应用凭据：请检查 App Key 与 App Secret"),
    "070306": (QuotaExceeded, "诺诺 allows 50 token requests per 30 days and this app has used them: keep the "
               "current token, or ask 诺诺 (or set the app's token to never expire)",
               "诺诺每 30 天最多允许获取 50 次访问令牌，本应用已用完："
               "请沿用现有令牌，或联系诺诺（或将应用令牌设为永久有效）"),
    "070307": (AuthenticationError, "the 诺诺 application is of the wrong type for this call (自用型 / 第三方)",
               "诺诺应用类型与该接口不符（自用型／第三方）"),
    "070401": (AuthenticationError, "the seller tax id (userTax) is not the one the access token was issued for: "
               "check the company's tax id, or get a token for this taxpayer",
               "销方税号（userTax）与访问令牌所属企业不一致：请检查公司税号，或为该纳税人获取令牌"),
    "070501": (NotSupported, None, None),
    "070601": (AuthenticationError, "诺诺 says the signature does not match: check the App Secret, and that this "
               "server's clock is right (诺诺 compares it with Beijing time)",
               "诺诺签名校验失败：请检查 App Secret，并确认服务器时间准确（诺诺以北京时间校验）"),
}
CONFIRMED_CODES = frozenset({SUCCESS, DUPLICATE_ORDER, "070201", "070204", "070301", "070401", "070501", "070601"})

# Codes after which this serial number (orderNo / billId) can never succeed: none is documented
# publicly; a failed issue (status 22) is read from the query instead (see wire.invoice_result).
SERIAL_DEAD_CODES = frozenset()

# Words 诺诺 uses when the drawer's tax-bureau session lapsed (unconfirmed: no public code).
_LOGIN_WORDS = ("重新登录", "请先登录", "未登录", "登录失效", "登录已失效", "扫码登录", "实人认证", "人脸识别",
                "身份认证")


def is_login_lapse(text):
    """Whether 诺诺's words (``describe``, ``failCause``) say that the drawer must log in again."""
    return any(word in (text or "") for word in _LOGIN_WORDS)


def error_for(method, code, describe, http_status=None):
    """The exception for a refusal ``code`` of ``method`` (诺诺's method name)."""
    code, describe = str(code or ""), str(describe or "")[:500]
    shown = f"{method}: 诺诺 answered {code or 'no code'}" + (f": {describe}" if describe else "")
    shown_zh = f"{method}：诺诺返回 {code or '（无代码）'}" + (f"：{describe}" if describe else "")
    if code in _GATEWAY:
        cls, english, chinese = _GATEWAY[code]
        if cls is NotSupported:
            error = NotSupported(f"{method} (诺诺 070501: unknown API or not granted to this app)")
            error.platform_code = code
            return error
        return cls(f"{shown}; {english}", message_zh=f"{shown_zh}；{chinese}", platform_code=code,
                   http_status=http_status)
    if is_login_lapse(describe):
        return LoginRequired(f"{shown}; the drawer must log in to the tax bureau again, then it resumes",
                             message_zh=f"{shown_zh}；开票员需重新登录电子税局，登录后自动继续", platform_code=code,
                             http_status=http_status)
    if code in SERIAL_DEAD_CODES:
        return SerialRejected(shown, message_zh=shown_zh, platform_code=code, http_status=http_status)
    if code == NOT_FOUND:
        return NotFound(shown, message_zh=shown_zh, platform_code=code, http_status=http_status)
    if code.startswith("E9"):
        # 诺诺's business refusals (E9105 discount line name, ...): the document must change
        return ParameterError(shown, message_zh=shown_zh, platform_code=code, http_status=http_status)
    return PlatformError(shown, message_zh=shown_zh, platform_code=code, http_status=http_status)


def given_token_expired(method):
    """诺诺 says the access token of the ``access_token`` setting expired: a person must act."""
    return AuthenticationError(
        f"{method}: 诺诺 answered {TOKEN_EXPIRED}: the access token given in the settings has expired at 诺诺; "
        "enter a new one, or leave the setting empty so that tokens are asked for and renewed by themselves",
        message_zh=f"{method}：诺诺返回 {TOKEN_EXPIRED}：设置中填写的访问令牌（accessToken）已过期；"
        "请填写新令牌，或留空以便自动获取并续期", platform_code=TOKEN_EXPIRED)


def http_error(method, status, retry_after=None):
    """An HTTP status that is not 200. Only a refusal before any processing (429: over the app's
    rate, 503) is a plain retry, after ``retry_after`` seconds when 诺诺 says; another 5xx may
    have been processed (query first); another 4xx is a request 诺诺 refused."""
    # plain words first; the method and status, for whoever reads the log, in parentheses
    if status in (429, 503):
        return SystemBusy(f"诺诺 is busy; try again later ({method}: HTTP {status})",
                          message_zh="诺诺开票平台繁忙，请稍后重试。", http_status=status, retry_after=retry_after)
    if status >= 500:
        error = PlatformInternalError(f"诺诺 failed; it is asked before anything is sent again "
                                      f"({method}: HTTP {status})",
                                      message_zh="诺诺开票平台出错，将先查询结果再重试。", http_status=status)
        error.ambiguous = True
        return error
    return PlatformError(f"诺诺 refused the request; check the endpoint setting ({method}: HTTP {status})",
                         message_zh="诺诺开票平台拒绝了请求，请检查接口地址设置。", http_status=status)


def unreadable(method, status):
    """A 200 whose body is not 诺诺's JSON envelope: the request may have been processed."""
    return TransportError(f"诺诺 gave an answer that cannot be read; try again later ({method}: HTTP {status})",
                          message_zh="诺诺开票平台返回的内容无法识别，请稍后重试。", http_status=status)
