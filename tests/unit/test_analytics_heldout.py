"""Held-out check: cases written for this test suite (never in public.jsonl) in zh, yue and en.

They were written as new scenarios to probe whether the rules generalise; the scorer must keep
every P1 and stay above the issue's goals on them. Labels follow ../shared/incidents/RUBRIC.md."""

from __future__ import annotations

from typing import Any

from analytics.evaluate import evaluate

# (text, level, category, extra case fields: source, template, form fields)
CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("香蜜湖那边有人被车撞了，躺在马路中间一动不动", "P1", "traffic", {}),
    ("我老婆吃了一瓶安眠药，现在叫不醒", "P1", "suicide_risk", {}),
    ("有个小孩爬到阳台外面了，在12楼，家里好像没有大人", "P1", "other", {}),
    ("景田一栋楼煤气泄漏，味道很大，楼里的人已经疏散了", "P2", "hazard", {}),
    ("有人在梅林公园门口抢了一个老太太的金项链，把她推倒在地，老太太头流血了", "P1", "robbery", {}),
    ("刚才有个男的在地铁上偷了我的钱包，他现在还在这节车厢里", "P2", "theft", {}),
    ("福华路一家银行门口有个人拿着枪", "P1", "weapons", {}),
    ("我想咨询一下怎么办理居住证", "P4", "service_request", {}),
    ("楼下有人在烧垃圾，烟很大，没有人受伤", "P2", "fire", {}),
    ("我家的狗丢了，在皇岗公园附近", "P4", "lost_property", {}),
    ("前天我的车在停车场被人砸了玻璃，里面的包被偷了", "P3", "theft", {}),
    ("有个男的在我们小区门口露体，现在还在", "P2", "other", {}),
    ("我收到短信说中了大奖，交了两千块手续费，后来就联系不上了", "P3", "fraud", {}),
    ("隔壁邻居家里传出很大的打斗声，女的在喊救命", "P1", "domestic", {}),
    ("佢哋两个喺茶楼门口打交，有个拎住支铁通", "P1", "weapons", {}),
    ("我阿爷有脑退化，今朝出咗去到而家都未返", "P2", "missing_person", {}),
    ("琴晚有人喺楼下停车场刮花咗我架车", "P3", "public_order", {}),
    ("想问下喺边度可以办无犯罪记录证明", "P4", "service_request", {}),
    ("有个阿伯喺街度跌低咗，头流血，叫佢都冇反应", "P1", "medical", {}),
    (("A man is threatening people with a broken bottle outside the 7-Eleven on Fuqiang Road."), "P1", "weapons", {}),
    (
        ("My car was broken into overnight at Xiangmei North, the window is smashed and my laptop was taken."),
        "P3",
        "burglary",
        {},
    ),
    (
        (
            "There's smoke coming out of a flat on the 5th floor in "
            "Shawei and I can hear someone shouting for help inside."
        ),
        "P1",
        "fire",
        {},
    ),
    (("My elderly mother fell at home and can't get up, she's conscious, I'm not there."), "P2", "medical", {}),
    (("Someone is following me from the metro and he's still behind me right now."), "P2", "other", {}),
    (("I want to complain about the officer who handled my case last month."), "P4", "service_request", {}),
    (
        ("A taxi and a bus collided at the Civic Center junction, traffic is blocked, nobody seems hurt."),
        "P2",
        "traffic",
        {},
    ),
    (("My 3-year-old swallowed some pills and is vomiting and very drowsy."), "P1", "medical", {}),
    (("A group of teenagers smashed the bus stop glass last night, nobody is there now."), "P3", "public_order", {}),
    (
        (
            "Someone keeps calling my phone pretending to be from the "
            "bank asking for my PIN, I haven't given them anything."
        ),
        "P4",
        "fraud",
        {},
    ),
    (
        ("There's a man lying on the pavement at Huaqiangbei, not moving, I can't tell if he's breathing."),
        "P1",
        "medical",
        {},
    ),
    (
        ("Unit 6 to control, 10-10 at Gangxia village, about six males, one has a knife, requesting backup."),
        "P1",
        "weapons",
        {},
    ),
    (
        ("Control, Car 2, 10-97 at the Huanggang Port car park, minor fender bender, no injuries, exchanging details."),
        "P3",
        "traffic",
        {},
    ),
    ("指挥中心，巡08报告，福田村一出租屋内发现一名男子倒地，无生命体征，请求120", "P1", "medical", {}),
    ("福田巡11报告，车公庙地铁站一名男子酒后闹事，已被控制，无人受伤", "P3", "public_order", {}),
    ("总台，梅林所3号车报告，梅林一村有老人报称被电话诈骗，已转账五万元", "P3", "fraud", {}),
    ("喂那个我儿子不见了在公园里面找了半个钟头都没找到他才四岁", "P2", "missing_person", {}),
    ("快来人啊这边有人跳河了在福田河这里", "P1", "suicide_risk", {}),
    ("我家门口那个消防栓被人偷走了不是很急就是报一下", "P3", "theft", {}),
    (
        ("Someone let off fireworks in the street last night, it was very noisy, just reporting it."),
        "P3",
        "public_order",
        {},
    ),
    (("My son was bitten by a neighbour's dog, it's a small wound and we cleaned it."), "P3", "other", {}),
    ("我在华强北被人骗了，说是卖iPhone，我转了三千块钱他就把我拉黑了", "P3", "fraud", {}),
    ("有两个人骑摩托车抢了我的包，把我拖倒在地上，我的腿在流血，他们往滨河大道跑了", "P1", "robbery", {}),
    ("石厦北街有家饭店厨房起火了，里面的人都跑出来了，没有人被困", "P2", "fire", {}),
    ("我前男友一直给我发短信威胁说要弄死我，他现在就在我家楼下", "P2", "domestic", {}),
    ("一个老太太在公交站晕倒了，现在醒过来了，说头晕", "P2", "medical", {}),
    ("我家孩子放学一直没到家，电话也打不通，已经两个小时了，他才八岁", "P2", "missing_person", {}),
    ("我的电动车电池在小区里被人偷了两次了，想报案", "P3", "theft", {}),
    ("有人在天桥上发传单还骂路人", "P3", "public_order", {}),
    ("办身份证需要带什么材料", "P4", "service_request", {}),
    ("楼上装修的电线乱拉，感觉很危险，想让人来检查", "P4", "hazard", {}),
    ("刚刚在车公庙地铁站有个男的拿刀划伤了一个女孩，现在人往C出口跑了", "P1", "violent_crime", {}),
    ("快点来，有个男的要跳楼，就站在福田村一栋楼的楼顶边上", "P1", "suicide_risk", {}),
    ("深南大道上一辆摩托车和小车相撞，骑摩托的人躺在地上，腿好像断了，还在流血", "P1", "traffic", {}),
    ("我捡到一个钱包，里面有身份证和银行卡，想交到派出所", "P4", "lost_property", {}),
    ("隔壁的狗每天晚上叫，吵得人睡不着", "P3", "public_order", {}),
    ("有人冒充我的名字在网上借钱", "P3", "fraud", {}),
    ("喺华强北有个男人揸住支枪，啲人周围走", "P1", "weapons", {}),
    ("我个女喺商场唔见咗，佢得五岁，着粉红色衫", "P2", "missing_person", {}),
    ("有架的士撞咗个阿婆，阿婆瞓喺地下唔郁", "P1", "traffic", {}),
    ("我部手机琴日喺地铁俾人扒咗，想报案", "P3", "theft", {}),
    ("唔该，想问下点样续签港澳通行证", "P4", "service_request", {}),
    ("隔篱屋两个后生仔喺度嗌交，仲开始郁手，好大声", "P2", "public_order", {}),
    (
        ("There's a guy with a machete at the entrance of the Futian Port, people are running away."),
        "P1",
        "weapons",
        {},
    ),
    (("My daughter is 15 and she didn't come home last night, her phone is off."), "P2", "missing_person", {}),
    (("Someone stole my backpack from the gym locker at Coco Park about an hour ago."), "P3", "theft", {}),
    (
        ("My husband is hitting me and he says he'll kill me, I'm locked in the bedroom, please come."),
        "P1",
        "domestic",
        {},
    ),
    (("There's a strong smell of gas in our building in Caitian, we've all gone outside."), "P2", "hazard", {}),
    (("A kid fell into the pond at Lianhuashan Park and isn't coming up."), "P1", "medical", {}),
    ("I'd like to know how to apply for a residence permit.", "P4", "service_request", {}),
    (
        ("My apartment was burgled while I was at work today, the door lock was broken, nobody is there now."),
        "P3",
        "burglary",
        {},
    ),
    (
        ("Two drivers are arguing loudly after a small crash on Fuhua Road, they're starting to push each other."),
        "P2",
        "public_order",
        {},
    ),
    (
        ("A woman is screaming in the flat next door and I heard glass breaking, it's been going on for ten minutes."),
        "P2",
        "domestic",
        {},
    ),
    (("Control, Unit 9, 10-33, officer down at Xinzhou Road, shots fired, need all units."), "P1", "weapons", {}),
    (
        ("Dispatch, Car 4, parking complaint at Shawei market, vehicle blocking a driveway, owner located, moving it."),
        "P4",
        "service_request",
        {},
    ),
    (
        (
            "Unit 3 to control, found an elderly man confused and "
            "wandering on Beihuan Avenue, he can't remember where he "
            "lives."
        ),
        "P2",
        "missing_person",
        {},
    ),
    ("福田巡06报告，会展中心南门有一可疑包裹，现场已疏散，请求排爆", "P2", "other", {}),
    ("沙头所报告，下沙村一商铺被盗，店主早上开门发现，嫌疑人不在现场", "P3", "burglary", {}),
    ("交警报告，皇岗路发生两车碰撞，一人受伤被困车内，请求消防和120", "P1", "traffic", {}),
    ("福田巡09报告，福田口岸一名旅客护照遗失，已指引其到出入境补办", "P4", "lost_property", {}),
    ("梅林所报告，梅林一村一住户家中老人独居，三天没有出门，邻居闻到异味", "P2", "medical", {}),
    ("华强北一个手机店老板被几个人围着打，头被打破了，流了很多血", "P1", "violent_crime", {}),
    ("我在网上投资理财，现在钱提不出来了，已经投了二十万", "P3", "fraud", {}),
    ("小区电梯里困了一个老人，按警铃没人应", "P2", "other", {}),
    ("车公庙有个男的在公交车上摸女生，现在还在车上", "P2", "other", {}),
    ("我的自行车昨天在学校门口被偷了", "P3", "theft", {}),
    ("皇岗路有辆大货车侧翻了，司机被压在里面出不来", "P1", "traffic", {}),
    ("有个人拿着铁棍在砸路边的车，已经砸了好几辆了", "P1", "weapons", {}),
    ("我妈妈突然说话不清楚，半边身子动不了", "P1", "medical", {}),
    ("请问暂住证在哪里办理", "P4", "service_request", {}),
    ("楼道里堆满了电动车在充电，很危险", "P4", "hazard", {}),
    ("我女朋友说要自杀，现在电话关机了，她住在景田", "P1", "suicide_risk", {}),
    ("地铁站里有人晕倒了，口吐白沫，全身抽搐", "P1", "medical", {}),
    ("两个外卖员因为撞车吵起来了，没有动手", "P3", "public_order", {}),
    ("刚才在福田口岸有人抢了我的手机，跑进人群里了，没有受伤", "P2", "robbery", {}),
    ("我的身份证被别人捡到了，想问怎么领回", "P4", "lost_property", {}),
    ("佢老公饮醉酒喺屋企打佢，佢而家抱住个仔匿埋喺厕所", "P1", "domestic", {}),
    ("我间铺头门口成日有人乱泊车，阻住我做生意", "P4", "service_request", {}),
    ("有个细路仔喺商场同屋企人行散咗，喊紧", "P2", "missing_person", {}),
    ("有人喺楼梯度烧嘢，好大烟，我哋出唔到去", "P1", "fire", {}),
    ("我琴日喺网上买咗部二手手机，俾咗钱之后对方就冇晒消息", "P3", "fraud", {}),
    (
        ("A delivery scooter caught fire outside our building, the fire is small and nobody is near it."),
        "P2",
        "fire",
        {},
    ),
    (("My grandfather has been missing since this morning, he has dementia and no phone."), "P2", "missing_person", {}),
    (("A man just exposed himself to my daughter in the park, he's still sitting on the bench."), "P2", "other", {}),
    (("My bike was stolen last week from the metro station, I need a report for insurance."), "P3", "theft", {}),
    (("There's a man on the roof of the Civic Center car park threatening to jump."), "P1", "suicide_risk", {}),
    (("A child has been left alone in a locked car in the sun at Coco Park, she's crying."), "P1", "other", {}),
    ("Where do I report a lost driving licence?", "P4", "lost_property", {}),
    (("My neighbour's music has been blasting since midnight, it's 2am."), "P3", "public_order", {}),
    ("Someone slashed my tyres last night in the Shuiwei car park.", "P3", "public_order", {}),
    (("A man collapsed in the gym and isn't breathing, someone is doing CPR."), "P1", "medical", {}),
    (
        ("I was punched by a stranger outside a bar on Saturday night, my nose is still sore, I want to report it."),
        "P3",
        "violent_crime",
        {},
    ),
    (
        ("Two cars crashed at the Shennan and Caitian junction, one driver is bleeding and can't get out."),
        "P1",
        "traffic",
        {},
    ),
    (
        (
            "Control, Unit 14, 10-16 at Shangsha, male suspect left "
            "before arrival, female has a minor cut, declines EMS."
        ),
        "P3",
        "domestic",
        {},
    ),
    (
        ("Dispatch, Car 7, shoplifter detained by security at the Huaqiang Plaza supermarket, requesting a unit."),
        "P3",
        "theft",
        {},
    ),
    (
        ("Unit 12, we have a house fire on Fumin Road, flames from second floor windows, unknown if occupants inside."),
        "P1",
        "fire",
        {},
    ),
    ("福田巡02报告，上沙村一出租屋发现一名女子被锁在屋内，称被男友限制人身自由", "P1", "domestic", {}),
    ("交警福田大队报告，北环大道一辆车逆行，速度很快", "P2", "traffic", {}),
    ("园岭所报告，一名老人在银行被骗取现金，嫌疑人已离开，老人情绪稳定", "P3", "fraud", {}),
    ("福田巡12报告，水围村一出租屋有人聚众赌博", "P3", "other", {}),
    ("指挥中心，华富所报告，华富路一名男子持刀在超市内挟持店员", "P1", "violent_crime", {}),
    (
        "指挥中心，福田巡10报告，福华一路一名男子手持菜刀在街上追砍路人，已有一人受伤倒地",
        "P1",
        "weapons",
        {"source": "radio"},
    ),
    (
        "指挥中心，香蜜湖所报告，侨香路一小区发生入室盗窃，失主外出回来发现，嫌疑人已逃离",
        "P3",
        "burglary",
        {"source": "radio"},
    ),
    (
        "福田巡15报告，彩田路与红荔路口一辆电动车与行人相撞，行人头部流血，意识清醒，请求120",
        "P1",
        "traffic",
        {"source": "radio"},
    ),
    ("沙头所报告，沙嘴村一名七岁男童走失约一小时，家属正在寻找", "P2", "missing_person", {"source": "radio"}),
    ("梅林所报告，梅林市场两名摊主因摊位发生口角，已调解，双方离开", "P4", "public_order", {"source": "radio"}),
    ("福田巡03报告，皇岗村一出租屋内有人割腕，流血不止，请求120", "P1", "suicide_risk", {"source": "radio"}),
    (
        "华强北所报告，华强北路一名男子当街抢夺女子挎包，已被群众控制，女子手臂擦伤",
        "P2",
        "robbery",
        {"source": "radio"},
    ),
    (
        ("Control, Unit 8, 10-50 at Fuzhong Road, two vehicles, no injuries, lane one blocked, requesting tow."),
        "P2",
        "traffic",
        {"source": "radio"},
    ),
    (
        ("Dispatch, Car 12, welfare check at Lianhua Beicun complete, resident is fine, clearing."),
        "P4",
        "other",
        {"source": "radio"},
    ),
    (
        ("Control, Futian 6, male brandishing a knife outside Gangxia metro exit D, no injuries yet, crowd gathering."),
        "P1",
        "weapons",
        {"source": "radio"},
    ),
    (
        (
            "Unit 4 to dispatch, report of a burglary at a villa in "
            "Xiangmihu, discovered this morning, owner on holiday, no "
            "suspects."
        ),
        "P3",
        "burglary",
        {"source": "radio"},
    ),
    (
        ("Control, Patrol 2, female found unconscious in the stairwell at Shixia Village block 3, possible overdose."),
        "P1",
        "medical",
        {"source": "radio"},
    ),
    ("我刚才在福田口岸排队的时候被人踩到摔倒了，手腕好像骨折了，很疼", "P2", "medical", {"source": "call"}),
    ("有人在我们小区门口卖假烟假酒", "P3", "fraud", {"source": "call"}),
    ("我老婆被人打了，现在在医院，打她的人我认识，想报警", "P3", "violent_crime", {"source": "call"}),
    ("有个老人在路边摔倒了，起不来，旁边没有人管", "P2", "medical", {"source": "call"}),
    ("我们楼下有人在打架，有一个人拿着砖头砸另一个人的头", "P1", "violent_crime", {"source": "call"}),
    ("我在网上买的东西一直没收到，商家也不退款", "P4", "service_request", {"source": "call"}),
    ("我想问一下我上个月报的案件现在怎么样了", "P4", "service_request", {"source": "call"}),
    ("有个女的站在红荔路天桥上哭，看着想往下跳", "P1", "suicide_risk", {"source": "call"}),
    ("有个醉酒佬喺地铁站瞓喺地下，叫极都唔醒", "P1", "medical", {"source": "call"}),
    ("我喺皇岗口岸过关嘅时候部相机唔见咗，唔知系咪俾人偷咗", "P3", "lost_property", {"source": "call"}),
    ("我老公喺屋企同我嗌交，仲掟烂晒啲碗，我好惊", "P2", "domestic", {"source": "call"}),
    ("喺新洲村有架车撞咗电线杆，司机好似晕咗", "P1", "traffic", {"source": "call"}),
    ("唔该，我想问下点样登记临时住宿", "P4", "service_request", {"source": "call"}),
    (
        ("Hi, someone hit my parked car and drove off, there's a dent in the door, it happened this morning."),
        "P3",
        "traffic",
        {"source": "call"},
    ),
    (
        (
            "There's an old man sitting on the ground outside Futian "
            "Station, he looks confused and says he can't find his way "
            "home."
        ),
        "P2",
        "missing_person",
        {"source": "call"},
    ),
    (
        ("My friend took a lot of pills and now she's not waking up, please send an ambulance."),
        "P1",
        "suicide_risk",
        {"source": "call"},
    ),
    (
        ("I can see flames coming from a car in the underground car park at Coco Park, no one is in it."),
        "P2",
        "fire",
        {"source": "call"},
    ),
    (
        ("Someone keeps ringing my doorbell and running away, it's kids I think, very annoying."),
        "P3",
        "public_order",
        {"source": "call"},
    ),
    (
        ("I was robbed at knifepoint ten minutes ago on Xinzhou Road, he took my phone and ran towards the park."),
        "P1",
        "robbery",
        {"source": "call"},
    ),
    (
        ("There's a man shouting at people and throwing bottles outside the bar on Fuhua Road, nobody hurt yet."),
        "P2",
        "public_order",
        {"source": "call"},
    ),
    (
        "收到银行短信，我的信用卡在境外被刷了两笔，卡在我手上",
        "P3",
        "fraud",
        {
            "source": "kiosk",
            "template": "bank_card_fraud",
            "fields": {"time": "今天凌晨", "place": "境外", "item": "中国银行信用卡", "amount": "3000美元"},
        },
    ),
    (
        "在公交车上把钱包落下了，下车才发现",
        "P4",
        "lost_property",
        {
            "source": "kiosk",
            "template": "lost_property",
            "fields": {"time": "今天中午", "place": "公交车上", "item": "钱包", "amount": "300元"},
        },
    ),
    (
        "在酒吧被一个陌生人用酒瓶砸了头，缝了三针，已经包扎好了",
        "P3",
        "violent_crime",
        {
            "source": "kiosk",
            "template": "injury",
            "fields": {"time": "上周六晚上", "place": "酒吧街", "injury": "头部缝针", "treated": "已处理"},
        },
    ),
    (
        ("My e-bike was taken from the rack outside my building overnight."),
        "P3",
        "theft",
        {
            "source": "kiosk",
            "template": "ebike_theft",
            "fields": {"time": "overnight", "place": "Shuiwei Village", "item": "blue e-bike", "amount": "2500 RMB"},
        },
    ),
    (
        "钱包在地铁上被偷了，小偷现在还在站台上，我一直盯着他",
        "P2",
        "theft",
        {
            "source": "kiosk",
            "template": "pickpocketing",
            "fields": {"time": "刚才", "place": "会展中心站", "item": "钱包", "amount": "500元"},
        },
    ),
    (
        "Lost my phone in a taxi, I think I left it on the seat.",
        "P4",
        "lost_property",
        {
            "source": "kiosk",
            "template": "lost_property",
            "fields": {"time": "last night", "place": "taxi", "item": "phone", "amount": "4000 RMB"},
        },
    ),
    (
        "有人在我面前拿刀威胁我，现在他还在外面等我",
        "P1",
        "weapons",
        {
            "source": "kiosk",
            "template": "injury",
            "fields": {"time": "刚才", "place": "派出所门口", "injury": "没有受伤", "treated": "未处理"},
        },
    ),
    (
        ("Someone called pretending to be customs and I transferred 15000 to a safe account."),
        "P3",
        "fraud",
        {
            "source": "kiosk",
            "template": "bank_card_fraud",
            "fields": {"time": "yesterday", "place": "phone", "item": "bank transfer", "amount": "15000 RMB"},
        },
    ),
]


def test_held_out_goals() -> None:
    result = evaluate(
        {"id": f"h{i}", "text": t, "priority": p, "category": c, **extra} for i, (t, p, c, extra) in enumerate(CASES)
    )
    s = result["summary"]
    missed_p1 = [e["text"] for e in result["errors"] if e["truth"] == "P1" and e["got"] != "P1"]
    assert missed_p1 == [], missed_p1
    assert s["p1_recall"] >= 0.98
    assert s["macro_f1"] >= 0.85, result["errors"]
    assert s["over_triage_p1"] <= 0.05
    assert s["category_accuracy"] >= 0.85, result["errors"]


def test_held_out_covers_three_languages_and_all_levels() -> None:
    from analytics.textnorm import detect_lang

    assert {detect_lang(t) for t, _p, _c, _e in CASES} == {"zh", "yue", "en"}
    assert {p for _t, p, _c, _e in CASES} == {"P1", "P2", "P3", "P4"}
