"""A large valid dialplan of a chosen size, for load tests and benchmarks."""

from __future__ import annotations

_HEAD = """\
id: {plan_id}
languages: [en-US, zh-CN]
start: menu0
nodes:
"""
_MENU = """\
  menu{i}:
    ask:
      prompt: {{en-US: "Menu {i}. Press 1 for the next menu, 2 for an agent.", zh-CN: "菜单{i}。"}}
      no_input: {{en-US: "Sorry, I did not hear a key.", zh-CN: "抱歉，没有听到按键。"}}
      dtmf: {{"1": info{i}, "2": agent}}
  info{i}:
    say: {{en-US: "Here is what you need to know about topic {i}.", zh-CN: "关于主题{i}的信息。"}}
    next: menu{j}
"""
_TAIL = """\
  agent:
    queue: {name: customer_service}
"""


def big_dialplan(size: int, plan_id: str = "big") -> str:
    """A valid dialplan of a little under ``size`` bytes (UTF-8): a ring of menus."""
    head = _HEAD.format(plan_id=plan_id)
    room = size - len(head.encode()) - len(_TAIL)
    count = max(1, room // len(_MENU.format(i=0, j=0).encode()))  # too many: numbers grow
    widest = 10 ** len(str(count)) - 1  # no menu number has more digits than this
    count = max(1, room // len(_MENU.format(i=widest, j=widest).encode()))
    menus = [_MENU.format(i=i, j=(i + 1) % count) for i in range(count)]
    return head + "".join(menus) + _TAIL
