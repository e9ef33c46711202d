"""Which classification codes fit a product, from its name, best first.

The table names goods by their formal kind (电子计算机整机, 输出设备及装置,
移动通信手持机), a shop by what customers call them (笔记本电脑, 联想笔记本,
激光打印机, Laptop). So the name is first read in the table's words
(:data:`EVERYDAY_WORDS`, :data:`ENGLISH_WORDS`), then every term of every code
(its name, short name, keywords) is scored against it as an accountant reads a
Chinese name: the last word is what the thing is (激光**打印机**), what comes
before only says which one; a code for *parts of* or *machines for making* a
thing (计算机数字式处理部件, 皂类自动打印机, 计算机用弹簧绳) is not the thing.
"""

import re
import unicodedata

from .taxpolicy import split_special

TEXT_LENGTH = 40    # enough for a product name; bounds the work per call

# Everyday Chinese words -> the words the table uses for the same goods. Longer
# words are read first, so 笔记本电脑 is a laptop before 电脑 is a computer.
EVERYDAY_WORDS = {
    "笔记本电脑": "便携式计算机 微型计算机 计算机",
    "手提电脑": "便携式计算机 微型计算机 计算机",
    "平板电脑": "平板计算机 便携式计算机 计算机",
    "台式电脑": "台式计算机 微型计算机 计算机",
    "台式机": "台式计算机 微型计算机 计算机",
    "一体机电脑": "微型计算机 计算机",
    "电脑主机": "微型计算机 计算机",
    "电脑": "微型计算机 计算机",
    "服务器": "服务器 计算机",
    "显示屏": "显示器",
    "打印机": "打印机 输出设备",
    "复印机": "复印设备",
    "扫描仪": "扫描仪 输入设备",
    "智能手机": "手机",
    "鼠标": "鼠标器",
    "键盘": "键盘",
    "硒鼓": "硒鼓",
    "墨盒": "墨盒",
    "u盘": "半导体存储器",
    "移动硬盘": "硬盘存储器",
    "固态硬盘": "硬盘存储器",
    "内存条": "内存条",
    "交换机": "交换机",
    "路由器": "路由器",
    "空调": "空气调节器",
    "冰箱": "电冰箱",
    "洗衣机": "洗衣机",
    "电视机": "彩色电视机",
    "电视": "彩色电视机",
    "打印纸": "静电复印纸 转印纸",
    "复印纸": "静电复印纸 转印纸",
    "a4纸": "静电复印纸 转印纸",
    "牛奶": "液体乳 纯牛乳",
    "纯奶": "液体乳 纯牛乳",
    "酸奶": "发酵乳 乳制品",
    "白酒": "白酒",
    "茅台": "白酒",
    "五粮液": "白酒",
    "办公椅": "坐具 家具",
    "办公桌": "桌 家具",
    "电脑桌": "桌 家具",
    "电脑椅": "电脑椅 家具",
    "沙发": "沙发 家具",
    "书柜": "柜 家具",
    "文件柜": "柜 家具",
    "租金": "不动产经营租赁服务 经营租赁服务",
    "房租": "不动产经营租赁服务 经营租赁服务",
    "矿泉水": "饮用天然矿泉水 包装饮用水",
    "纯净水": "饮用纯净水 包装饮用水",
    "稻米": "大米",
    "香米": "大米",
    "粳米": "大米",
    "籼米": "大米",
    "咨询费": "咨询服务",
    "运费": "道路货物运输服务 货物运输服务",
    "物流费": "道路货物运输服务 货物运输服务",
    "快递费": "收派服务",
    "软件开发": "软件开发服务",
}

# A computer brand makes 笔记本 (a notebook) a laptop: 联想笔记本, ThinkPad 笔记本.
COMPUTER_BRANDS = ("联想", "戴尔", "惠普", "华硕", "宏碁", "神舟", "机械革命", "外星人", "thinkpad", "lenovo", "dell",
                   "hp", "asus", "acer", "macbook", "matebook", "surface", "xps", "yoga", "小新", "拯救者")

# English names -> the table's words (whole words; two-word names first).
ENGLISH_WORDS = {
    "laptop": "便携式计算机 微型计算机 计算机",
    "notebook computer": "便携式计算机 微型计算机 计算机",
    "notebook pc": "便携式计算机 微型计算机 计算机",
    "desktop": "台式计算机 微型计算机 计算机",
    "computer": "微型计算机 计算机",
    "pc": "微型计算机 计算机",
    "tablet": "平板计算机 计算机",
    "server": "服务器 计算机",
    "workstation": "计算机工作站",
    "monitor": "显示器",
    "printer": "打印机 输出设备",
    "scanner": "扫描仪",
    "keyboard": "键盘",
    "mouse": "鼠标器",
    "router": "路由器",
    "switch": "交换机",
    "smartphone": "手机",
    "phone": "手机",
    "mobile phone": "手机",
    "iphone": "手机",
    "toner": "硒鼓",
    "ink cartridge": "墨盒",
    "hard disk": "硬盘存储器",
    "ssd": "硬盘存储器",
    "usb drive": "半导体存储器",
    "rice": "大米",
    "flour": "小麦粉",
    "apple": "苹果",
    "apples": "苹果",
    "tea": "茶",
    "coffee": "咖啡",
    "milk": "液体乳 纯牛乳",
    "beer": "啤酒",
    "wine": "葡萄酒",
    "mineral water": "饮用天然矿泉水 包装饮用水",
    "water": "包装饮用水",
    "paper": "静电复印纸 转印纸",
    "copy paper": "静电复印纸 转印纸",
    "chair": "坐具 家具",
    "desk": "桌 家具",
    "table": "桌 家具",
    "sofa": "沙发 家具",
    "cabinet": "柜 家具",
    "consulting": "咨询服务",
    "consultancy": "咨询服务",
    "software development": "软件开发服务",
    "software": "软件",
    "freight": "道路货物运输服务 货物运输服务",
    "shipping": "道路货物运输服务 货物运输服务",
    "catering": "餐饮服务",
    "training": "培训服务",
    "rent": "不动产经营租赁服务 经营租赁服务",
}

# A code for parts, supplies or machines *for* a thing, unless the name asks for one.
_ANCILLARY = ("部件", "零件", "配件", "附件", "耗材", "专用设备", "专用机械", "用机械", "用设备", "原料")
_WORD_SPLIT = re.compile(r"[\s,，、;；/()（）*\-+]+")
_LATIN_WORD = re.compile(r"[a-z][a-z0-9]*")
_DIGITS = re.compile(r"[0-9.]+")


def fold(text):
    return unicodedata.normalize("NFKC", text or "").lower()


def read_name(name):
    """The words of a product name as the table would write them, most telling first.

    Returns the folded name's own words followed by the table's words for
    what it names (笔记本电脑 -> 便携式计算机, 微型计算机, 计算机)."""
    text = fold(name)[:TEXT_LENGTH]
    words = [word for word in _WORD_SPLIT.split(text) if word]
    added = []
    rest = text
    for everyday in sorted(EVERYDAY_WORDS, key=len, reverse=True):
        if everyday in rest:
            added.extend(EVERYDAY_WORDS[everyday].split())
            rest = rest.replace(everyday, " ")
    computer_brand = any(_has_word(text, brand) for brand in COMPUTER_BRANDS)
    if "笔记本" in rest:    # a laptop when a computer brand or word says so, else a notebook to write in
        added[:0] = EVERYDAY_WORDS["笔记本电脑"].split() if computer_brand or added else ["笔记簿"]
    latin = " ".join(_LATIN_WORD.findall(text))
    for english in sorted(ENGLISH_WORDS, key=len, reverse=True):
        if _has_word(latin, english):
            added.extend(ENGLISH_WORDS[english].split())
            latin = re.sub(rf"\b{re.escape(english)}\b", " ", latin)
    if computer_brand and not added:    # Lenovo ThinkPad X1 Carbon
        added = EVERYDAY_WORDS["笔记本电脑"].split()
    return list(dict.fromkeys(added + words))


def _has_word(text, word):
    if not word.isascii():
        return word in text
    return re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text) is not None


def _meaningful(piece):
    """Two Chinese characters say something; Latin letters and digits need three, and bare digits nothing."""
    return (len(piece) >= 3 or not piece.isascii()) and not _DIGITS.fullmatch(piece)


def _longest_common(word, term):
    """(start in word, start in term, length) of the longest run of 2+ characters both share, else None."""
    for length in range(min(len(word), len(term)), 1, -1):
        for start in range(len(word) - length + 1):
            piece = word[start:start + length]
            if not _meaningful(piece):
                continue
            at = term.find(piece)
            if at >= 0:
                return start, at, length
    return None


def _word_score(word, term, weight):
    """How well one word of the name fits one term of a code; 0 when they share nothing."""
    found = _longest_common(word, term)
    if found is None:
        return 0
    start, at, length = found
    score = 2 * length + weight
    if length == len(term) and weight >= 0:
        score += 2 * length     # the whole term is in the name: 大米 in 有机东北大米
    if start + length == len(word):
        score += 3              # the name's last word: what the thing is (激光打印机 is a 打印机)
    if at + length == len(term):
        score += 2              # the term's last word: the code is *for* that (电子计算机)
    elif term[at + length:at + length + 1] == "用":
        score /= 2              # 计算机用弹簧绳 is a cord, for computers
    return score - (len(term) - length) / 100


def _terms(entry):
    """(weight, folded term) pairs of an entry: its name weighs more than its keywords, and its
    short name, the kind it shares with its siblings (运输服务, 家具), less."""
    yield 1, fold(entry.name)
    yield -1, fold(entry.short_name)
    for keyword in split_special(entry.keywords):
        yield 0, fold(keyword)


def _bigrams(words):
    return {word[i:i + 2] for word in words for i in range(len(word) - 1)}


def score(entry, words, bigrams=None):
    """How well ``entry`` fits a name read as ``words`` (:func:`read_name`); 0: not at all."""
    bigrams = _bigrams(words) if bigrams is None else bigrams
    terms = [(weight, term) for weight, term in _terms(entry)
             if any(term[i:i + 2] in bigrams for i in range(len(term) - 1))]
    best = 0
    for rank, word in enumerate(words):
        for weight, term in terms:
            best = max(best, _word_score(word, term, weight) - rank / 10)
    if best and any(mark in fold(entry.name) for mark in _ANCILLARY) \
            and not any(mark in word for word in words for mark in _ANCILLARY):
        best /= 2
    return best


def rank(entries, name, limit=5):
    """The leaf, usable entries that fit a product called ``name``, best first (ties: code order)."""
    words = read_name(name)
    if not any(_meaningful(word[i:i + 3] if word.isascii() else word[i:i + 2])
               for word in words for i in range(len(word) - 1)):
        return []
    bigrams = _bigrams(words)
    scored = []
    for entry in entries:
        if entry.is_summary or not entry.usable:
            continue
        value = score(entry, words, bigrams)
        if value > 0:
            scored.append((-value, entry.code, entry))
    scored.sort(key=lambda item: item[:2])
    return [entry for _value, _code, entry in scored[:limit]]
