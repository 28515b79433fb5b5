"""The Mandarin DEV set: what callers say, per intent, written for tuning the Mandarin
recogniser and the intent step on recogniser output. None of these sentences is in
:mod:`bench.mandarin_set` (the before/after measurement) or in the intent training data
(``models/intents/phrases/zh-CN.txt``). Levers are tuned on this set only; rendered like the
bench set (:mod:`ivr.testing.mandarin`, same voices and perturbations) with other seeds
(``python -m bench.mandarin_dev``)."""

from __future__ import annotations

SENTENCES: dict[str, tuple[str, ...]] = {
    "payment_status": ("我昨天付的款怎么还是待处理", "给朋友打的钱到现在都没到",
                       "我想知道我的汇款进度", "那笔付款成功了没有", "我转给房东的钱对方说没看到"),
    "refund": ("我退了货钱还没退给我", "退的钱大概几天能回到卡上", "我想把这笔钱退回来",
               "订单取消了请给我退钱", "申请的退款一直没有消息"),
    "fees": ("给国外汇款要多少手续费", "你们的收费标准是什么", "提现手续费怎么算",
             "这笔转账收了我多少钱的费用", "为什么多扣了一块钱服务费"),
    "card_lost": ("我的银行卡不见了", "钱包丢了卡也在里面", "请帮我把卡挂失",
                  "我的卡可能掉在出租车上了", "卡被人拿走了赶紧帮我停掉"),
    "fraud_report": ("我收到一条扣款短信但我没买东西", "有人冒用我的账户付款",
                     "我怀疑我的卡被人盗用了", "刚才有一笔陌生消费", "有骗子骗走了我的钱"),
    "change_phone": ("我的手机号换了要更新", "绑定的号码不用了想换一个", "手机号码要改成新的",
                     "我想更换绑定手机", "原来的手机号停机了"),
    "account_access": ("我的账户登不上去", "登录密码输错太多次了", "我收不到登录验证码",
                       "忘了密码怎么找回", "账户被冻结了登不进去"),
    "balance": ("我账上还有多少钱", "帮我看看余额", "查询账户余额",
                "我的钱包里还剩多少", "告诉我现在的余额"),
    "complaint": ("我对你们的处理结果很不满", "我要投诉你们的客服人员", "你们的服务太让人失望了",
                  "我要反映一个问题你们的员工态度很差", "这件事我要正式投诉"),
    "agent": ("请帮我转人工", "我要跟客服人员说", "给我接一个人工", "让真人来接电话",
              "我不想跟机器说话"),
    "unknown": ("明天会不会下雨", "帮我订一张去北京的火车票", "你们公司在哪里"),
}
"""Intent → sentences (Simplified Chinese, as a caller would say them)."""

SEED_OFFSET = 1000
"""Noise seeds differ from the bench set's."""


def items() -> list[tuple[str, str]]:
    """(intent, sentence) for every sentence of the set."""
    return [(intent, text) for intent, texts in SENTENCES.items() for text in texts]
