"""``ivr users add|list|passwd|disable|enable|unlock``: web accounts from the command line.

Passwords come from a prompt (typed twice) or, for scripts, one line on stdin with
``--password-stdin``; never from an argument (it would show in ``ps`` and shell history).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from ivr.audit import AuditEntry, AuditLog, cli_actor
from ivr.commands import HELP
from ivr.textsafe import printable
from ivr.web.users import ROLES, UserRepository, WebError, WebUser


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise WebError("web-password-mismatch", "the two passwords differ; nothing changed")
    return first


def _user_json(user: WebUser) -> dict[str, Any]:
    return {"name": user.name, "role": user.role, "disabled": user.disabled,
            "locked_until": user.locked_until.isoformat() if user.locked_until else None,
            "created": user.created_at.isoformat(),
            "last_login": user.last_login_at.isoformat() if user.last_login_at else None}


def _with_users(settings: Any, work: Callable[[UserRepository, AuditLog],
                                              Coroutine[Any, Any, int]]) -> int:
    from ivr.store.db import make_engine

    async def go() -> int:
        engine = make_engine(settings.database_url)
        try:
            return await work(UserRepository(engine), AuditLog(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def _audit(audit: AuditLog, action: str, name: str, **details: Any) -> None:
    await audit.append(AuditEntry(actor=cli_actor(), action=action, subject=name,
                                  channel="cli", outcome="ok", details=details))


def cmd_add(settings: Any, args: argparse.Namespace, out: Any) -> int:
    password = read_password(args.password_stdin)

    async def work(users: UserRepository, audit: AuditLog) -> int:
        user = await users.add(args.name, args.role, password)
        await _audit(audit, "user.add", user.name, role=user.role)
        out.result(_user_json(user))
        out.say(f"added {user.name} ({user.role}); they can sign in at /login")
        return 0

    return _with_users(settings, work)


def cmd_list(settings: Any, args: argparse.Namespace, out: Any) -> int:
    async def work(users: UserRepository, audit: AuditLog) -> int:
        found = await users.list()
        lines = [f"{printable(u.name):<24} {u.role:<11} "
                 + ("disabled" if u.disabled else f"locked until {u.locked_until:%H:%M} UTC"
                    if u.locked_until else "active") for u in found]
        out.result([_user_json(u) for u in found], "\n".join(lines) or
                   "no web users yet: add one with ivr users add NAME --role supervisor")
        return 0

    return _with_users(settings, work)


def cmd_passwd(settings: Any, args: argparse.Namespace, out: Any) -> int:
    password = read_password(args.password_stdin)

    async def work(users: UserRepository, audit: AuditLog) -> int:
        user = await users.set_password(args.name, password)
        await _audit(audit, "user.passwd", user.name)
        out.result(_user_json(user))
        out.say(f"password changed for {user.name}")
        return 0

    return _with_users(settings, work)


def _setter(action: str) -> Callable[[Any, argparse.Namespace, Any], int]:
    def handler(settings: Any, args: argparse.Namespace, out: Any) -> int:
        async def work(users: UserRepository, audit: AuditLog) -> int:
            if action == "unlock":
                user = await users.unlock(args.name)
            else:
                user = await users.set_disabled(args.name, action == "disable")
            await _audit(audit, f"user.{action}", user.name)
            out.result(_user_json(user))
            out.say(f"{action}d {user.name}" if action != "unlock" else f"unlocked {user.name}")
            return 0

        return _with_users(settings, work)

    return handler


def register(sub: Any, add_command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``ivr users ...`` to the command line."""
    users = sub.add_parser("users", help=HELP["users"])
    us = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = add_command(us, "add", cmd_add, "add a web user (asks for the password)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=ROLES,
                     help="supervisor: calls and replay; admin: users; auditor: audit log")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of stdin")
    add_command(us, "list", cmd_list, "every web user, their role and state")
    pw = add_command(us, "passwd", cmd_passwd, "set a new password (and clear a lockout)")
    pw.add_argument("name", metavar="NAME")
    pw.add_argument("--password-stdin", action="store_true",
                    help="read the password from the first line of stdin")
    for action, text in (("disable", "stop a user signing in (ends their sessions)"),
                         ("enable", "let a disabled user sign in again"),
                         ("unlock", "clear a lockout after failed logins")):
        p = add_command(us, action, _setter(action), text)
        p.add_argument("name", metavar="NAME")
