"""Addresses written as text that the gazetteer does not know: road + number, 村/栋/号/楼/室, landmarks.

The gazetteer resolves names it holds; callers also write places it has never heard of ("益田村23栋",
"No. 18 Tairan 9th Road", "人民医院门口"). This module finds such a phrase by its shape: a short name
followed by a place word (路, 大道, 村, 花园, 大厦, 医院 ... / Road, Street, Village, Plaza ...) and the
numbers that usually follow (号, 栋, 座, 楼, 层, 室, 单元 / exit B, Block 5). Pure regular expressions, no
I/O; :func:`analytics.extract.locate` decides which coordinates the phrase gets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Place words, longest first so that 新村 wins over 村 and 地铁站 over 站.
_ZH_KINDS = sorted([
    "路", "大道", "大街", "街", "巷", "坊", "村", "新村", "小区", "花园", "苑", "公寓", "大厦", "大楼", "广场",
    "中心", "公园", "医院", "学校", "小学", "中学", "大学", "幼儿园", "市场", "菜市场", "街市", "商场", "酒店",
    "宾馆", "地铁站", "公交站", "车站", "口岸", "工业区", "工业园", "科技园", "书城", "上城", "河", "山", "桥",
    "立交", "隧道", "停车场", "加油站", "超市", "网吧", "酒吧", "茶餐厅", "酒楼", "派出所", "社区", "城",
], key=len, reverse=True)
# Characters that end a name when reading leftwards from the place word: verbs, pronouns and
# particles that sit between a place and the rest of a sentence ("我在|益田村", "佢喺|皇岗公园").
_STOP = ("在喺到的是有我你他她佢们哋了这那嗰呢从去和跟与及同就也都还仲又被俾把给让对向往说话要想个家址于"
         "系係咗啲嘅吗呀啊啦喂条只辆位名已至自离经过爬")
# A name character: CJK, not a stop character.
_NAME_CHARS = rf"(?:(?![{_STOP}])[\u4e00-\u9fff])"
_NUM = r"[0-9一二三四五六七八九十百零两]"
_ZH_TAIL = (rf"(?:[东西南北中]?{_NUM}{{1,5}}(?:号楼|号|栋|座|幢|楼|层|单元|室|期|巷|弄|坊)"
            r"|[A-Za-z](?:座|栋|出口|口)|(?<=[栋座])[0-9]{3,4}|[东西南北]?(?:门口|出口|入口|路口|交叉口|十字路口|段))")
_ZH = re.compile(
    rf"{_NAME_CHARS}{{2,5}}?(?:{'|'.join(_ZH_KINDS)})(?:{_NUM}+号)?(?:{_ZH_TAIL})*"
    rf"|(?<![0-9A-Za-z]){_NUM}{{1,3}}(?:栋|号楼|座)(?:{_ZH_TAIL})*")
# Generic words that look like names to the pattern but name no place of their own.
_ZH_GENERIC = re.compile(r"^(?:楼下|楼上|附近|对面|门口|旁边|里面|外面|地下|隔壁|前面|后面"
                         r"|马|公|道|走|过马|一|单|条|整)")
# A position relative to something else ("公园后面山") is not itself a name.
_ZH_RELATIVE = re.compile(r"后面|前面|旁边|附近|对面|里面|外面|上面|下面|隔壁")
_ZH_NOT_PLACE = frozenset({"马路", "公路", "道路", "走路", "上山", "下山", "过桥", "山上", "过马路", "小路", "大路",
                           "网站", "城市", "中心", "市场", "社区", "车站", "医院", "学校", "公园", "停车场", "超市"})

_EN_KINDS = (r"Road|Rd|Street|St|Avenue|Ave|Boulevard|Blvd|Lane|Village|Park|Plaza|Square|Station|Metro|Market|"
             r"Mall|Hospital|School|Gardens?|Estate|Centre|Center|Building|Tower|Bridge|River|Port|Checkpoint|"
             r"Hotel|Industrial\s+(?:Zone|Park|Area)|Interchange|Overpass|Tunnel|Library|Stadium")
_EN_NAME = r"(?:[A-Z][a-z]+|[0-9]+(?:st|nd|rd|th))"
_EN = re.compile(
    rf"(?:\b(?:No\.?\s*)?[0-9]+[A-Za-z]?\s+)?(?:\b{_EN_NAME}\s+){{1,3}}(?:{_EN_KINDS})\b"
    r"(?:\s+(?:exit|gate|block|tower|building|entrance|unit|flat|room)\s+[0-9A-Z]+\b)?"
    rf"|\b(?:[Bb]lock|[Tt]ower|[Bb]uilding|[Ff]lat|[Rr]oom)\s+[0-9]+[A-Z]?,?\s+(?:{_EN_NAME}\s+){{1,3}}"
    rf"(?:{_EN_KINDS})\b")
# Capitalised words that start a sentence or a radio call, not a name.
_EN_LEADING = re.compile(r"^(?:(?:The|A|An|At|On|In|Near|By|Outside|Inside|Behind|Control|Dispatch|Unit|Car|"
                         r"Hello|Hi|Please|Help|Officer|Police|My|Our|This|That|There|Someone|Somebody|"
                         r"Just|Now|Yes|No|Hey)\s+)+")


@dataclass(frozen=True)
class Address:
    """A place phrase found by its shape: ``text[start:end]``; ``name`` without its numbers."""

    text: str
    start: int
    end: int
    name: str


def find(text: str, lang: str) -> list[Address]:
    """Address-shaped phrases in ``text`` (normalised), in text order."""
    out: list[Address] = []
    if lang != "en":
        for m in _ZH.finditer(text):
            s, e = m.start(), m.end()
            phrase = m.group(0)
            g = _ZH_GENERIC.match(phrase)
            if g and not phrase[g.end():g.end() + 1].isdigit():
                s += g.end()
                phrase = text[s:e]
            if len(phrase) < 2 or phrase in _ZH_NOT_PLACE or _ZH_RELATIVE.search(phrase):
                continue
            if not any(k in phrase for k in _ZH_KINDS) and not re.search(r"栋|号楼|座", phrase):
                continue
            name = re.split(rf"{_NUM}", phrase, maxsplit=1)[0] or phrase
            out.append(Address(phrase, s, e, name))
    for m in _EN.finditer(text):
        s, e = m.start(), m.end()
        lead = _EN_LEADING.match(m.group(0))
        if lead:
            s += lead.end()
        phrase = text[s:e]
        if not re.search(rf"\b(?:{_EN_KINDS})\b", phrase) or len(phrase.split()) < 2:
            continue
        out.append(Address(phrase, s, e, re.sub(r"^(?:No\.?\s*)?[0-9]+[A-Za-z]?,?\s+", "", phrase)))
    return out


def best(text: str, lang: str) -> Address | None:
    """The most specific address-shaped phrase: the longest, then the first."""
    found = find(text, lang)
    if not found:
        return None
    return max(found, key=lambda a: (len(a.text), -a.start))
