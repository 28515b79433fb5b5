"""The ``ivr`` command."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from ivr import __version__
from ivr.commands import HELP
from ivr.config import Settings, load_settings
from ivr.errors import IvrError
from ivr.logs import setup_logging
from ivr.textsafe import json_text, printable, printable_lines

EPILOG = """\
Everyday use:
  ivr serve                                   answer calls (FastAGI 127.0.0.1:4573, web :8080)
  ivr serve --ari-url http://127.0.0.1:8088   also drive calls over ARI with live audio
  ivr dialplan check dialplans/*.yaml         find every problem, as FILE:LINE: message
  ivr dialplan publish dialplans/hotline.yaml make it live; calls in progress keep their version
  ivr dialplan history hotline                every published version
  ivr dialplan rollback hotline [--to 3]      put an earlier version live again
  ivr prompts render                          pre-render every prompt for Asterisk
  ivr calls list / ivr calls show ID          what happened on recent calls
  ivr report --from 2026-12-01 --to 2026-12-07  containment, transfers, intents, survey…

State lives under --data-dir (default: the current directory): var/ holds the database,
keys, prompt cache and spool; recordings/ the encrypted recordings. Every command creates
what it needs. Settings: ivr.toml in the data dir, or IVR_* variables (IVR_AGI__BIND=...).
Exit codes: 0 success, 1 the thing asked for failed, 2 bad usage or missing setup.
"""


class Console:
    """Human text to stderr; with --json, one JSON document on stdout.

    Everything printed passes through :mod:`ivr.textsafe`, so a stored caller id or name
    can never send escape sequences to the operator's terminal."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def say(self, text: str) -> None:
        print(printable_lines(text), file=sys.stderr)

    def result(self, data: Any, human: str | None = None) -> None:
        if self.as_json:
            print(json_text(data, indent=2, default=str))
        elif human is not None:
            print(printable_lines(human))


def _progress(label: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A rich progress bar on stderr; returns (update, stop)."""
    from rich.console import Console as RichConsole
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                   console=RichConsole(stderr=True), transient=True)
    task = bar.add_task(label, total=None)
    started = False

    def update(done: int, total: int) -> None:
        nonlocal started
        if not started:
            bar.start()
            started = True
        bar.update(task, completed=done, total=total)

    return update, bar.stop


def _run(coro: Coroutine[Any, Any, int]) -> int:
    # asyncio's own loop, not uvloop: libuv accepts one connection per loop iteration, so
    # under load new FastAGI calls waited seconds in the listen queue (bench.scale).
    return asyncio.run(coro)


# Commands ---------------------------------------------------------------------
def cmd_serve(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    from ivr.app import serve
    from ivr.datadir import prepare

    for note in prepare(settings):
        out.say(note)
    update, stop = _progress("Rendering prompts")

    def progress(done: int, total: int) -> None:
        update(done, total)
        if done >= total:
            stop()

    try:
        return _run(serve(settings, announce=out.say, progress=progress))
    finally:
        stop()


def cmd_dialplan_check(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    from ivr.dialplans import check_files

    paths = [Path(p) for p in args.files]
    loaded, problems = check_files(paths, settings.dialplans.limits)
    for problem in problems:
        if not out.as_json:
            print(printable_lines(str(problem)))
    ok = not problems
    out.result({"ok": ok, "files": [str(p) for p in paths],
                "dialplans": [d.plan.id for d in loaded],
                "problems": [{"file": p.file, "line": p.line, "message": p.message}
                             for p in problems]})
    out.say(f"{len(paths)} file(s) checked: " + ("no problems" if ok else
                                                 f"{len(problems)} problem(s)"))
    return 0 if ok else 1


async def _with_repo(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, int]]) -> int:
    from ivr.store.db import make_engine
    from ivr.store.repo import DialplanRepository

    engine = make_engine(settings.database_url)
    try:
        return await work(DialplanRepository(engine))
    finally:
        await engine.dispose()


def _version_json(v: Any) -> dict[str, Any]:
    return {"id": v.dialplan_id, "version": v.version, "sha256": v.sha256,
            "published_at": v.published_at.isoformat(), "note": v.note}


def cmd_dialplan_publish(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    from ivr.dialplans import publish

    async def work(repo: Any) -> int:
        version = await publish(repo, Path(args.file), args.note, settings.dialplans.limits)
        out.result(_version_json(version))
        out.say(f"published {version.dialplan_id} version {version.version}; new calls use it "
                "within seconds, calls in progress keep theirs")
        return 0

    return _run(_with_repo(settings, work))


def cmd_dialplan_history(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    async def work(repo: Any) -> int:
        versions = await repo.history(args.id)
        if not versions:
            out.say(f"no dialplan '{args.id}' has been published")
            out.result({"id": args.id, "versions": []})
            return 1
        lines = [f"{'*' if i == 0 else ' '} v{v.version:<4} {v.published_at:%Y-%m-%d %H:%M:%S} "
                 f"{v.sha256[:12]}  {v.note or ''}" for i, v in enumerate(versions)]
        out.result({"id": args.id, "live": versions[0].version,
                    "versions": [_version_json(v) for v in versions]}, "\n".join(lines))
        return 0

    return _run(_with_repo(settings, work))


def cmd_dialplan_rollback(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    from ivr.dialplans import rollback

    async def work(repo: Any) -> int:
        version = await rollback(repo, args.id, args.to, settings.dialplans.limits)
        out.result(_version_json(version))
        out.say(f"{version.note}: now live as version {version.version}")
        return 0

    return _run(_with_repo(settings, work))


def cmd_prompts_render(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    from ivr.app import Hotline

    async def work() -> int:
        hotline = Hotline(settings)
        try:
            for note in await hotline.load_dialplans():
                out.say(note)
            update, stop = _progress("Rendering prompts")
            try:
                count = await hotline.render_prompts(update)
            finally:
                stop()
            out.result({"prompts": count, "sounds_dir": str(settings.sounds_dir)},
                       f"{count} prompt(s) ready in {settings.sounds_dir}")
            return 0
        finally:
            await hotline.close()

    return _run(work())


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    from ivr.store.db import upgrade

    applied = upgrade(settings.database_url)
    out.result({"applied": applied}, "applied: " + ", ".join(applied) if applied
               else "the database schema is up to date")
    return 0


def _calls_call(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, int]]) -> int:
    from ivr.store.db import make_engine
    from ivr.store.repo import CallQueries

    async def go() -> int:
        engine = make_engine(settings.database_url)
        try:
            return await work(CallQueries(engine))
        finally:
            await engine.dispose()

    return _run(go())


def cmd_calls_list(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    from ivr.store.rows_json import call_json

    async def work(calls: Any) -> int:
        rows = await calls.recent(limit=args.limit, outcome=args.outcome)
        lines = [f"{r.id}  {r.started_at:%Y-%m-%d %H:%M:%S}  {r.transport:<6} "
                 f"{printable(r.caller or '-'):<16} {r.outcome or 'active':<11} "
                 f"{printable(r.queue or '')}" for r in rows]
        out.result({"calls": [call_json(r) for r in rows]}, "\n".join(lines) or "no calls yet")
        return 0

    return _calls_call(settings, work)


def cmd_calls_show(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    from ivr.emotion.report import distress_lines
    from ivr.store.rows_json import call_json, event_json

    async def work(calls: Any) -> int:
        row = await calls.get(args.id)
        if row is None:
            out.say(f"no call {args.id}")
            return 1
        events = await calls.events(row.id)
        human = [f"call {row.id}: {row.transport} from {printable(row.caller or 'unknown')}, "
                 f"dialplan {printable(row.dialplan_id)} v{row.dialplan_version}, outcome "
                 f"{row.outcome or 'active'}" + (f" ({printable(row.queue)})" if row.queue else "")]
        human += [f"  {e.at:%H:%M:%S.%f}"[:-3] + f" {printable(e.kind):<16} "
                  f"{printable(e.node or ''):<16} {json_text(e.data)}" for e in events]
        human += distress_lines(events)
        out.result({"call": call_json(row), "events": [event_json(e) for e in events]},
                   "\n".join(human))
        return 0

    return _calls_call(settings, work)


def cmd_audit_list(settings: Settings, args: argparse.Namespace, out: Console) -> int:
    from ivr.audit import AuditLog
    from ivr.store.db import make_engine

    async def work() -> int:
        engine = make_engine(settings.database_url)
        try:
            entries = await AuditLog(engine).list(limit=args.limit, action=args.action,
                                                  subject=args.subject)
        finally:
            await engine.dispose()
        rows = [{"id": e.id, "at": e.at.isoformat() if e.at else None, "actor": e.actor,
                 "action": e.action, "subject": e.subject, "channel": e.channel,
                 "outcome": e.outcome, "reason": e.reason, "details": e.details}
                for e in entries]
        human = "\n".join(f"{r['at']}  {printable(r['actor']):<20} {printable(r['action']):<20} "
                          f"{printable(r['subject'] or '-')}  {printable(r['outcome'])}  "
                          f"{printable(r['reason'] or '')}" for r in rows)
        out.result(rows, human or "the audit log is empty")
        return 0

    return _run(work())


# Parser -------------------------------------------------------------------------
Handler = Callable[[Settings, argparse.Namespace, Console], int]
PLUGINS: dict[str, tuple[str, ...]] = {
    "ivr.commands.users": ("users",),
    "ivr.commands.recordings": ("keys", "recordings", "retention"),
    "ivr.commands.customers": ("customers", "demo", "otp"),
    "ivr.commands.speech": ("asr", "models"),
    "ivr.commands.call": ("call",),
    "ivr.commands.intents": ("intents",),
    "ivr.commands.emotion": ("emotion",),
    "ivr.commands.report": ("report",),
    "ivr.commands.callbacks": ("callbacks",),
}
"""Modules adding their own commands (each has ``register(sub, add_command)``) and the
commands each adds (their help: :data:`ivr.commands.HELP`). A module is imported only when
one of its commands runs (or ``full``): the others are listed from this table, so ``ivr
--help`` and the commands that need none of them start without loading speech, audio or the
database (tests/test_cli.py checks the table against what the modules register)."""

_GLOBAL_OPTIONS_WITH_VALUE = ("--data-dir", "--log-level")


def _command_of(argv: list[str]) -> str | None:
    """The command named on the command line (the first word that is not a global option)."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif len(word) > 2 and any(o.startswith(word) for o in _GLOBAL_OPTIONS_WITH_VALUE):
            skip = True  # --data-dir DIR, or an abbreviation argparse accepts (--data DIR)
        elif not word.startswith("-"):
            return word
    return None


def add_command(parent: Any, name: str, handler: Handler, help_text: str, *,
                needs_db: bool = True) -> argparse.ArgumentParser:
    """Add a leaf command with ``--json``; ``needs_db`` commands get migrations run first."""
    p = parent.add_parser(name, help=help_text, description=help_text)
    p.set_defaults(handler=handler, needs_db=needs_db)
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    return p


def build_parser(argv: list[str] | None = None, *, full: bool = False
                 ) -> argparse.ArgumentParser:
    """The whole command line; plugin modules are imported for the command in ``argv`` only
    (all of them with ``full``)."""
    parser = argparse.ArgumentParser(
        prog="ivr", description="Hotline: the IVR application server for a payment hotline.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", metavar="DIR", help="root of all state (default: the "
                        "current directory, or IVR_DATA_DIR)")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default INFO)")
    parser.add_argument("--version", action="version", version=f"ivr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    add = add_command
    serve = add(sub, "serve", cmd_serve, "answer calls: FastAGI for Asterisk plus the web server",
                needs_db=False)
    serve.add_argument("--agi-bind", metavar="HOST:PORT", help="FastAGI address (127.0.0.1:4573)")
    serve.add_argument("--http-bind", metavar="HOST:PORT", help="web address (127.0.0.1:8080)")
    serve.add_argument("--ari-url", metavar="URL", help="run the ARI controller against "
                       "Asterisk's HTTP server (http://127.0.0.1:8088; password: "
                       "IVR_ARI__PASSWORD)")
    serve.add_argument("--webrtc-address", metavar="ADDR", action="append",
                       help="local address offered to WebRTC callers (repeatable; 127.0.0.1)")

    dp = sub.add_parser("dialplan", help="check, publish, list and roll back dialplans")
    dps = dp.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = add(dps, "check", cmd_dialplan_check, "report every problem as FILE:LINE: message",
                needs_db=False)
    check.add_argument("files", nargs="+", metavar="FILE")
    pub = add(dps, "publish", cmd_dialplan_publish, "check a dialplan and make it the live version")
    pub.add_argument("file", metavar="FILE")
    pub.add_argument("--note", help="why (shown in history)")
    hist = add(dps, "history", cmd_dialplan_history, "every published version of a dialplan")
    hist.add_argument("id", metavar="ID")
    rb = add(dps, "rollback", cmd_dialplan_rollback,
             "make an earlier version live again (default: the one before the live one)")
    rb.add_argument("id", metavar="ID")
    rb.add_argument("--to", type=int, metavar="VERSION", help="version to go back to")

    pr = sub.add_parser("prompts", help="text-to-speech prompts for Asterisk")
    prs = pr.add_subparsers(dest="action", metavar="ACTION", required=True)
    add(prs, "render", cmd_prompts_render, "pre-render every prompt of the live dialplans")

    db = sub.add_parser("db", help="database schema")
    dbs = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    add(dbs, "upgrade", cmd_db_upgrade, "apply database migrations", needs_db=False)

    calls = sub.add_parser("calls", help="find calls and what happened on them")
    cs = calls.add_subparsers(dest="action", metavar="ACTION", required=True)
    cl = add(cs, "list", cmd_calls_list, "recent calls, newest first")
    cl.add_argument("--limit", type=int, default=20)
    cl.add_argument("--outcome", choices=["self_served", "queued", "abandoned", "failed"])
    show = add(cs, "show", cmd_calls_show, "one call with every event")
    show.add_argument("id", metavar="ID", help="call id (or its first 6+ characters)")

    audit = sub.add_parser("audit", help="the append-only audit trail")
    aus = audit.add_subparsers(dest="action", metavar="ACTION", required=True)
    al = add(aus, "list", cmd_audit_list, "newest audit rows first")
    al.add_argument("--limit", type=int, default=50)
    al.add_argument("--action", help="only actions starting with this (e.g. recording.)")
    al.add_argument("--subject", help="only rows about this recording, customer or call")

    wanted = _command_of(sys.argv[1:] if argv is None else argv)
    for module, commands in PLUGINS.items():
        if full or wanted in commands:
            importlib.import_module(module).register(sub, add_command)
        else:
            for name in commands:
                sub.add_parser(name, help=HELP[name], description=HELP[name])
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    if getattr(args, "agi_bind", None):
        overrides.setdefault("agi", {})["bind"] = args.agi_bind
    if getattr(args, "http_bind", None):
        overrides.setdefault("http", {})["bind"] = args.http_bind
    if getattr(args, "ari_url", None):
        overrides.setdefault("ari", {})["url"] = args.ari_url
    if getattr(args, "webrtc_address", None):
        overrides.setdefault("webrtc", {})["addresses"] = args.webrtc_address
    if args.log_level:
        overrides["log_level"] = args.log_level.upper()
    out = Console(getattr(args, "json", False))
    try:
        settings = load_settings(args.data_dir, overrides)
        setup_logging(settings.log_level)
        if getattr(args, "needs_db", False):
            from ivr.datadir import prepare

            for note in prepare(settings):
                out.say(note)
        return int(args.handler(settings, args, out))
    except IvrError as err:
        out.say(f"error [{err.code}]: {err.message}")
        if out.as_json:
            print(json.dumps({"error": {"code": err.code, "message": err.message}}))
        return 2 if err.code.startswith(("config-", "store-bad")) else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
