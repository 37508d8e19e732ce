"""Text normalisation, language guess and segmentation shared by extraction and duplicate matching.

Normalisation is strictly one character in, one character out, so every span found in the
normalised text is also the span of the same words in the original text (reasons quote it).
Chinese segmentation is jieba's; it is initialised once, lazily, because its dictionary load
takes about a second.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence

import jieba

_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20  # ideographic space
# Traditional characters (Hong Kong written Cantonese, some ASR engines) to the simplified ones the
# rules are written in: one character for one, so offsets still hold. Only the characters that the
# incident vocabulary and Futian place names use (the second half of each string was generated with
# OpenCC t2s, one character at a time; 著 -> 着 as in 著火); an unlisted one simply stays as it is.
_TRAD = (
    "鎗槍斬劍搶劫傷殺樓燒煙報車電單錢銀門竊騙詐係暈醫護災彈綁質婦兒個這裡裏後來們發開動應氣體無沒見麼說話時現還過邊緊對幫會聽鄰亂鐵錘鋼頭腳擊毆鬥爭鬧癲飲駕駛禍輛險難聯蹤務證記錄區問請幾點嗎從間樣聲響滅撲陽臺簾鎖賊盜帶針藥農輕極認識擄媽爺親員監視頻號碼轉帳賬戶額騷擾廁殘斷傳訊遺購買賣貨價錯隨據處場歲為給讓進當經嘔燙腦癡跡屍衝撞墜窗嚇脅搵攞揸倆樁橋塊灣華東廣漢圍繞"
    "蓮崗廈園嶺滙龍鳳寶興韋陳黃劉張楊趙鄧葉謝羅鄭馬貝漁濱灘廳館鋪舖樂藝書長島術學習輪軌錶鏈鎮閉閃關闖隊階際陰雙雜雞離雲靜韓頁項順須預領頸題顏願類顯風飛飯養餓驗騎驚髮魚鳥鹽麥齊齒龜麽倫側僅兩內劃創勞勢勵協廠厲參變舊嚴圖團壞壯壺夢奪奮奬妝孫實審寧寵將專尋導層屬嶼巖幣帥師幹廢廟彎強歸徑徹恆悶惡愛態慘慣憑憤懷戰戲挾捨掃掛採揀損搖擔擁擋擠擺攜擴敗敵數斃於晝暫曆條標樹機檔檢權歐歷決況涼淚淨淺減測湯溝滯滲滿漲潔潛澤濕灑煉煩熱營燈燭爛牆狀獄獨獲獵猶獻環產畫異療癮皺盞盤眾睜瞞矯確礙禮種稱穩窮竇竅筆築簽簡籃籠紀約紅級紙紛紮細組終結絕統絲綜網線編練縣總績繩繳織縮職肅腫膽臉臘臟舉艙艦艱蘇蟲蠻補裝製複襲規觀觸計訂討訓訪設許訴診詢試詳誌誤誰課調談諸諾謀講謊謹譯議讀貓負財販貴費賓賠賭賽趕踐躍軍軟較載輔輩轄辦辭連週遊運達違遠適遲遷選遼醜釋釘鈔鈴鉛銅鍵鍋鏡鐘閱闊陣陸隻雖霧靈頂頓顧飽餘骯鬆魯鮮鳴鴨麗黨齡著",
    "枪枪斩剑抢劫伤杀楼烧烟报车电单钱银门窃骗诈系晕医护灾弹绑质妇儿个这里里后来们发开动应气体无没见么说话时现还过边紧对帮会听邻乱铁锤钢头脚击殴斗争闹癫饮驾驶祸辆险难联踪务证记录区问请几点吗从间样声响灭扑阳台帘锁贼盗带针药农轻极认识掳妈爷亲员监视频号码转帐账户额骚扰厕残断传讯遗购买卖货价错随据处场岁为给让进当经呕烫脑痴迹尸冲撞坠窗吓胁搵攞揸俩桩桥块湾华东广汉围绕"
    "莲岗厦园岭汇龙凤宝兴韦陈黄刘张杨赵邓叶谢罗郑马贝渔滨滩厅馆铺铺乐艺书长岛术学习轮轨表链镇闭闪关闯队阶际阴双杂鸡离云静韩页项顺须预领颈题颜愿类显风飞饭养饿验骑惊发鱼鸟盐麦齐齿龟么伦侧仅两内划创劳势励协厂厉参变旧严图团坏壮壶梦夺奋奖妆孙实审宁宠将专寻导层属屿岩币帅师干废庙弯强归径彻恒闷恶爱态惨惯凭愤怀战戏挟舍扫挂采拣损摇担拥挡挤摆携扩败敌数毙于昼暂历条标树机档检权欧历决况凉泪净浅减测汤沟滞渗满涨洁潜泽湿洒炼烦热营灯烛烂墙状狱独获猎犹献环产画异疗瘾皱盏盘众睁瞒矫确碍礼种称稳穷窦窍笔筑签简篮笼纪约红级纸纷扎细组终结绝统丝综网线编练县总绩绳缴织缩职肃肿胆脸腊脏举舱舰艰苏虫蛮补装制复袭规观触计订讨训访设许诉诊询试详志误谁课调谈诸诺谋讲谎谨译议读猫负财贩贵费宾赔赌赛赶践跃军软较载辅辈辖办辞连周游运达违远适迟迁选辽丑释钉钞铃铅铜键锅镜钟阅阔阵陆只虽雾灵顶顿顾饱余肮松鲁鲜鸣鸭丽党龄着",
)
assert len(_TRAD[0]) == len(_TRAD[1])
_TABLE = str.maketrans({**_FULLWIDTH, **{ord(a): ord(b) for a, b in zip(_TRAD[0], _TRAD[1], strict=True) if a != b}})

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Characters that occur in written Cantonese and almost never in Mandarin prose.
_YUE_MARKERS = re.compile(r"[咗喺嘢冇佢哋嚟揸啲嘅唔噉嗰乜咩攞俾]")
_EN_TOKEN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+(?:[.:]\d+)?")

_jieba_lock = threading.Lock()
_jieba_ready = False

Token = tuple[str, int, int]


def normalize(text: str) -> str:
    """Full-width ASCII to half-width and traditional to simplified; the result has exactly the length of ``text``."""
    return text.translate(_TABLE)


def detect_lang(text: str) -> str:
    """Guess ``zh``, ``yue`` or ``en`` from the script and Cantonese-only characters."""
    cjk = len(_CJK.findall(text))
    if cjk == 0:
        return "en"
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if cjk * 2 < latin:
        return "en"
    return "yue" if _YUE_MARKERS.search(text) else "zh"


def _ensure_jieba() -> None:
    global _jieba_ready
    if _jieba_ready:
        return
    with _jieba_lock:
        if not _jieba_ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba_ready = True


def add_words(words: Sequence[str]) -> None:
    """Teach the segmenter place names and other domain words so they stay whole tokens."""
    _ensure_jieba()
    for word in words:
        if word and _CJK.search(word):
            jieba.add_word(word, freq=20000)


def tokenize(text: str, lang: str) -> list[Token]:
    """Word tokens with character offsets: jieba for Chinese, a word regex for English."""
    if lang == "en":
        return [(m.group(0), m.start(), m.end()) for m in _EN_TOKEN.finditer(text)]
    _ensure_jieba()
    return [(w, s, e) for w, s, e in jieba.tokenize(text) if not w.isspace()]


def words(text: str, lang: str | None = None) -> list[str]:
    """Lower-cased content tokens (no punctuation), for similarity measures."""
    lang = lang or detect_lang(text)
    out = []
    for w, _s, _e in tokenize(normalize(text), lang):
        w = w.lower()
        if any(ch.isalnum() for ch in w):
            out.append(w)
    return out
