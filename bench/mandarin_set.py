"""The Mandarin bench set: what callers say, per intent, written for the bench (none of these
sentences is in the intent training data: tests/nlu/test_training_data.py checks it; until
this was checked, seven short ones such as 转人工 were among the training phrases and were
replaced), rendered at bench time by
:mod:`ivr.testing.mandarin` in voices that are not the prompts' voice, perturbed in speed,
pitch and noise, and passed through a G.711 telephone line."""

from __future__ import annotations

SENTENCES: dict[str, tuple[str, ...]] = {
    "payment_status": ("我上周转的钱对方还没收到", "帮我查一下那笔汇款到哪儿了",
                       "付款显示处理中已经两天了", "转账到现在还没到账"),
    "refund": ("商品不要了钱能退吗", "退货的钱什么时候退回来", "商家答应退款了但是钱没到",
               "帮我申请退款"),
    "fees": ("转账手续费是多少", "怎么多扣了一笔服务费", "取现要收费吗", "跨境付款收多少费用"),
    "card_lost": ("我钱包连卡一起丢了", "银行卡被偷了帮我冻结", "卡找不到了要挂失", "我把卡弄丢了"),
    "fraud_report": ("有一笔消费不是我本人操作的", "卡上莫名其妙多了几笔消费", "我被骗了要举报",
                     "账户里有陌生的交易"),
    "change_phone": ("我换了手机号码", "帮我改一下绑定的手机号", "更换预留手机号",
                     "我想修改电话号码"),
    "account_access": ("我登录不了账户", "密码忘记了", "账号被锁住了", "我要重置登录密码"),
    "balance": ("查一下余额", "我的账户余额是多少", "卡里还剩多少钱", "我想查询余额"),
    "complaint": ("我要反映你们服务的问题", "你们的服务太差了我要投诉", "我对客服很不满意",
                  "我要投诉这个商家"),
    "agent": ("给我接个人工", "我要找人工客服", "帮我转接客服", "我想跟真人说话"),
    "unknown": ("周末有什么电影好看", "附近有什么好吃的饭店"),
}
"""Intent → sentences (Simplified Chinese, as a caller would say them)."""

PERTURBATIONS = (
    {"speed": 1.0, "pitch": 1.0, "snr_db": None},
    {"speed": 1.1, "pitch": 0.94, "snr_db": 25.0},
    {"speed": 0.92, "pitch": 1.06, "snr_db": 20.0},
)
"""Applied in turn: clean; faster, lower and noisy; slower, higher and noisier."""


def items() -> list[tuple[str, str]]:
    """(intent, sentence) for every sentence of the set."""
    return [(intent, text) for intent, texts in SENTENCES.items() for text in texts]
