"""Classification codes suggested for real product names rank what an accountant would pick first."""

import pytest

from fapiao.catalogue import Catalogue
from fapiao.documents import CatalogueEntry
from fapiao.suggest import rank, read_name

COMPUTER = "1090509010000000000"       # 电子计算机整机
PRINTER = "1090511030000000000"        # 输出设备及装置 (打印机)
MONITOR = "1090511010000000000"        # 终端显示设备 (显示器)
RICE = "1030102010100000000"           # 大米
EXERCISE_BOOK = "1060202010000000000"  # 用于书写本册 (笔记簿)
PHONE = "1090505010000000000"          # 移动通信手持机（手机）
WATER = "1030307040000000000"          # 包装饮用水
MILK = "1030204010000000000"           # 液体乳
LIQUOR = "1030302000000000000"         # 白酒
ROAD_FREIGHT = "3010102020100000000"   # 国内道路货物运输服务
SOFTWARE_DEV = "3040201010000000000"   # 软件开发服务
ROUTER = "1090510030000000000"         # 网络连接设备 (路由器)
MOUSE = "1090512990000000000"          # 其他电子计算机配套产品及耗材 (鼠标器)
APPLE = "1010115010100000000"          # 苹果


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue.from_csv()


@pytest.mark.parametrize(("name", "code"), [
    ("笔记本电脑", COMPUTER),
    ("联想笔记本", COMPUTER),
    ("Laptop", COMPUTER),
    ("laptop 14 inch", COMPUTER),
    ("Lenovo ThinkPad X1 Carbon", COMPUTER),
    ("Dell Latitude 5440 笔记本电脑", COMPUTER),
    ("台式电脑", COMPUTER),
    ("iPad 平板电脑", COMPUTER),
    ("服务器", COMPUTER),
    ("激光打印机", PRINTER),
    ("惠普 LaserJet Pro M404dn 黑白激光打印机", PRINTER),
    ("HP LaserJet Printer", PRINTER),
    ("戴尔显示器", MONITOR),
    ("Dell monitor 27\"", MONITOR),
    ("东北大米", RICE),
    ("有机东北大米 5kg", RICE),
    ("五常大米 10kg", RICE),
    ("Rice", RICE),
    ("A5皮面笔记本", EXERCISE_BOOK),
    ("笔记本", EXERCISE_BOOK),
    ("华为 Mate 60 手机", PHONE),
    ("iPhone 15", PHONE),
    ("农夫山泉矿泉水 550ml", WATER),
    ("纯牛奶", MILK),
    ("茅台酒", LIQUOR),
    ("运费", ROAD_FREIGHT),
    ("软件开发服务费", SOFTWARE_DEV),
    ("TP-LINK 路由器", ROUTER),
    ("罗技无线鼠标", MOUSE),
    ("红富士苹果", APPLE),
])
def test_the_first_suggestion_is_what_an_accountant_picks(catalogue, name, code):
    first = catalogue.suggest(name, limit=5)[0]
    assert first.code == code, (name, first.name)


@pytest.mark.parametrize("name", ["笔记本电脑", "Laptop", "联想笔记本"])
def test_a_laptop_gets_no_furniture_nor_stationery(catalogue, name):
    assert not [entry.name for entry in catalogue.suggest(name, limit=5)
                if entry.short_name in ("家具", "印刷品")]


@pytest.mark.parametrize("name", ["办公椅", "办公桌", "Office chair", "电脑桌"])
def test_furniture_is_furniture(catalogue, name):
    assert all(entry.short_name == "家具" for entry in catalogue.suggest(name, limit=4))


def test_parts_and_machines_for_a_thing_come_after_the_thing(catalogue):
    names = [entry.name for entry in catalogue.suggest("激光打印机", limit=5)]
    assert names[0] == "输出设备及装置"
    assert catalogue.suggest("笔记本电脑", limit=1)[0].name != "计算机数字式处理部件"


def test_consulting_fees_get_consulting_codes(catalogue):
    assert all(entry.short_name.endswith("咨询服务") for entry in catalogue.suggest("咨询服务费", limit=4))


def test_reading_a_name_in_the_tables_words():
    assert read_name("联想笔记本")[:2] == ["便携式计算机", "微型计算机"]
    assert read_name("A5笔记本")[0] == "笔记簿"
    assert "打印机" in read_name("HP LaserJet Printer")
    assert read_name("rice cooker") != read_name("price")     # whole English words only
    assert "大米" not in read_name("price list")


def test_a_code_of_a_newer_table_named_as_the_product_wins():
    laptop = CatalogueEntry(code="1090509010100000000", name="便携式计算机", short_name="电子计算机",
                            vat_rates=(), keywords="笔记本计算机")
    desk = CatalogueEntry(code="1050201010000000000", name="木质家具", short_name="家具", keywords="电脑桌")
    assert rank([desk, laptop], "联想笔记本电脑")[0] == laptop


def test_nothing_to_read_suggests_nothing(catalogue):
    assert catalogue.suggest("  ") == []
    assert catalogue.suggest("12345") == []
