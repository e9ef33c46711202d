"""An amount in Chinese capital numerals (大写金额), as 价税合计（大写） prints it.

``amount_in_words(Decimal("2260.00"))`` is ``贰仟贰佰陆拾圆整``; a red invoice's negative total
is ``（负数）贰仟贰佰陆拾圆整``. The rules are those of the People's Bank's 《支付结算办法》
(附件《正确填写票据和结算凭证的基本规定》), as the tax bureau's invoices apply them:

- digits 零壹贰叁肆伍陆柒捌玖, places 拾佰仟, sections 万 and 亿; 10 is 壹拾 (a capital amount
  never starts with a bare 拾), 100000000 is 壹亿 (an empty 万 section adds nothing);
- 圆 after the yuan (the spelling printed on 数电票; 元 is the same word), then 整 when there
  are no 角 and 分; nothing after 角 (allowed) and never anything after 分;
- one 零 for each run of zeros between two written digits of the yuan, across 万 and 亿 too
  (1000001 is 壹佰万零壹圆, 107000 壹拾万零柒仟圆: where the rules allow the 零 written or left
  out, it is written, which can never be misread);
- after 圆, 零 only where the 角 is 0 and the 分 is not, as the rules require (10.05 is
  壹拾圆零伍分); before a 角 it is left out, as the rules allow (1680.32 is 壹仟陆佰捌拾圆叁角贰分);
- nothing before the first written digit: 0.05 is 伍分, and 0 is 零圆整.

Why not a library: cn2an, the maintained PyPI package for Chinese numerals, was checked
(``an2cn(x, "rmb")``, 0.5.24). Its rules agree with these (compared on 16,000 random amounts, the
only differences are 零 that the rules allow either way, which it leaves out), but an invoice total
needs what it does not give: it writes 元 and a bare 负 (and ``-0.00`` becomes 负零元整), and it
rounds or cuts an amount with more than 2 decimals (1.005 becomes 壹元整) where a total that is not
whole cents is a bug to raise. A wrapper repairing three of its outputs, plus a second package
(proces) on every Odoo server, is more to trust than these forty lines of rules and their tests.
"""

from decimal import Decimal, InvalidOperation

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")
SECTIONS = ("", "万", "亿")
YUAN, JIAO, FEN, WHOLE, NEGATIVE = "圆", "角", "分", "整", "（负数）"
LIMIT = Decimal(10) ** 12  # up to 9999亿: beyond any invoice, and 万亿 would need its own sections


def _integer_words(digits):
    """The capital words of a non-negative integer given as its digits ("" for 0)."""
    words, zero = [], False
    count = len(digits)
    for index, char in enumerate(digits):
        place = count - 1 - index
        if char == "0":
            zero = bool(words)
        else:
            if zero:
                words.append(DIGITS[0])
            zero = False
            words.append(DIGITS[int(char)] + PLACES[place % 4])
        if place % 4 == 0 and place and int(digits[max(0, index - 3):index + 1]):
            words.append(SECTIONS[place // 4])
    return "".join(words)


def amount_in_words(amount):
    """``amount`` (a Decimal, an int or a numeric string; yuan, at most 2 decimals, under 1万亿) in
    capital numerals. Raises ValueError for anything else: a total is printed as it is or not at all."""
    try:
        value = Decimal(amount) if not isinstance(amount, float) else Decimal(repr(amount))
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount: {amount!r}")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"more than 2 decimals: {amount!r}")
    if abs(value) >= LIMIT:
        raise ValueError(f"too large for capital numerals: {amount!r}")
    yuan, fraction = divmod(int(abs(cents)), 100)
    jiao, fen = divmod(fraction, 10)
    words = _integer_words(str(yuan) if yuan else "")
    if words:
        words += YUAN
    if jiao:
        words += DIGITS[jiao] + JIAO
    if fen:
        words += (DIGITS[0] if words and not jiao else "") + DIGITS[fen] + FEN
    if not words:
        words = DIGITS[0] + YUAN
    if not fen and not jiao:
        words += WHOLE
    return (NEGATIVE if value < 0 and (yuan or fraction) else "") + words
