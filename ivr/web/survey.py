"""The one-question survey page behind a texted link: ``/s/<token>`` (public).

Anyone holding the link may answer, once, before it expires: the token (192 random bits)
is the only key, and only its SHA-256 is stored. Unknown links get 404; answered or
expired ones 410 with a sentence saying so. The form carries a double-submit token (a
cookie and a field) like the login form, since there is no session. The answer is stored
on the survey row and added to the analytics of the call's day, in one transaction.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from aiohttp import web

from ivr.store import rollup
from ivr.store.models import CallRow, SurveyRow
from ivr.web.auth import cookie_secure
from ivr.web.console import console
from ivr.web.context import context
from ivr.web.survey_invites import token_hash

CSRF_COOKIE = "ivr_survey_csrf"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
WORDS = {
    "en-US": {"title": "How did we do?", "question": "How satisfied are you with your call "
              "to Acme Pay?", "low": "very unsatisfied", "high": "very satisfied",
              "send": "Send", "thanks": "Thank you for your answer.",
              "used": "This survey has already been answered. Thank you!",
              "expired": "This survey link has expired.",
              "unknown": "This survey link is not valid.", "other": "中文"},
    "zh-CN": {"title": "服务评价", "question": "您对本次Acme支付来电服务是否满意？",
              "low": "非常不满意", "high": "非常满意", "send": "提交",
              "thanks": "感谢您的评价。", "used": "此问卷已提交，谢谢！",
              "expired": "此问卷链接已过期。", "unknown": "此问卷链接无效。", "other": "English"},
}


def _language(request: web.Request, stored: str | None) -> str:
    asked = request.query.get("lang")
    if asked in WORDS:
        return asked
    return stored if stored in WORDS else "en-US"


async def _find(request: web.Request) -> SurveyRow | None:
    token = request.match_info["token"]
    if not _TOKEN.match(token):
        return None
    async with console(request).engine.connect() as conn:
        row = (await conn.execute(sa.select(SurveyRow).where(
            SurveyRow.token_hash == token_hash(token)))).first()
    return SurveyRow(**row._mapping) if row is not None else None


def _state(row: SurveyRow | None) -> str:
    if row is None:
        return "unknown"
    if row.answered_at is not None:
        return "used"
    expires = row.expires_at
    if expires is not None and expires.replace(tzinfo=expires.tzinfo or UTC) <= datetime.now(UTC):
        return "expired"
    return "open"


def _page(request: web.Request, lang: str, status: int, **values: Any) -> web.Response:
    other = "zh-CN" if lang == "en-US" else "en-US"
    return context(request).pages.response(
        "survey.html", request, status=status, words=WORDS[lang], lang=lang, other=other,
        **{"state": "open", "scale": 5, "csrf_field": "", **values})


async def survey_page(request: web.Request) -> web.StreamResponse:
    row = await _find(request)
    state = _state(row)
    lang = _language(request, row.language if row is not None else None)
    if state != "open":
        return _page(request, lang, 404 if state == "unknown" else 410, state=state)
    token = secrets.token_urlsafe(24)
    assert row is not None
    response = _page(request, lang, 200, scale=row.scale, csrf_field=token)
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="Strict",
                        secure=cookie_secure(request), path=request.path)
    return response


async def survey_answer(request: web.Request) -> web.StreamResponse:
    row = await _find(request)
    form = await request.post()
    lang = _language(request, row.language if row is not None else None)
    state = _state(row)
    if state != "open" or row is None:
        return _page(request, lang, 404 if state == "unknown" else 410, state=state)
    raw = form.get("score")
    score = int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 3 else 0
    if not 1 <= score <= row.scale:
        return _page(request, lang, 400, scale=row.scale, csrf_field=str(form.get("csrf", "")),
                     problem=f"1–{row.scale}")
    now = datetime.now(UTC)
    async with console(request).engine.begin() as conn:
        done = await conn.execute(sa.update(SurveyRow).where(
            SurveyRow.id == row.id, SurveyRow.answered_at.is_(None)).values(
            score=score, answered_at=now))
        if done.rowcount != 1:  # answered meanwhile in another tab
            return _page(request, lang, 410, state="used")
        call = (await conn.execute(sa.select(
            CallRow.started_at, CallRow.dialplan_id, CallRow.language).where(
            CallRow.id == row.call_id))).first()
        if call is not None:
            zone = ZoneInfo(console(request).timezone)
            at = rollup.where(rollup.day_of(call.started_at, zone), call.dialplan_id,
                              call.language)
            await rollup.add(conn, rollup.survey_rows(at, score))
    response = _page(request, lang, 200, state="thanks")
    response.del_cookie(CSRF_COOKIE, path=request.path)
    return response


survey_answer.csrf_cookie = CSRF_COOKIE  # type: ignore[attr-defined]


async def call_surveys(request: web.Request, call_id: str) -> list[Any]:
    """A call's surveys (in the call, or texted), oldest first, for the call page."""
    async with console(request).engine.connect() as conn:
        return list(await conn.execute(sa.select(
            SurveyRow.channel, SurveyRow.score, SurveyRow.scale, SurveyRow.answered_at).where(
            SurveyRow.call_id == call_id).order_by(SurveyRow.id)))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/s/{token}", survey_page)
    app.router.add_post("/s/{token}", survey_answer)
