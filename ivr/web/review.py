"""Phone-change review for the ``reviewer`` role: the changes the risk rules held back, with
the rules that fired; approve (the customer's phone changes) or reject (nothing changes).
Every decision is an audit row naming the reviewer."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.audit import AuditEntry
from ivr.security.phone_review import DECISIONS, PhoneReview, ReviewError
from ivr.web.auth import current_session, require_role
from ivr.web.context import client_address, context

REVIEW = web.AppKey("ivr_phone_review", PhoneReview)


def add_routes(app: web.Application, engine: AsyncEngine) -> None:
    app[REVIEW] = PhoneReview(engine)
    app.router.add_get("/review", review_page)
    app.router.add_post("/review/{change_id}", decide)


async def _page(request: web.Request, *, error: str | None = None, notice: str | None = None,
                status: int = 200) -> web.StreamResponse:
    queue = request.app[REVIEW]
    return context(request).pages.response(
        "review.html", request, status=status, pending=await queue.list(pending=True),
        decided=await queue.list(pending=False, limit=20), error=error, notice=notice)


@require_role("reviewer")
async def review_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@require_role("reviewer")
async def decide(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    assert session is not None
    raw = request.match_info["change_id"]
    if not (raw.isascii() and raw.isdigit() and len(raw) < 10):
        raise web.HTTPNotFound(text="no such phone change")
    form = await request.post()
    decision = str(form.get("decision", ""))
    if decision not in DECISIONS:
        raise web.HTTPBadRequest(text="decision must be approve or reject")
    note = str(form.get("note", "")).strip()[:500] or None
    actor = f"web:{session.user.name}"
    try:
        item = await request.app[REVIEW].decide(int(raw), decision)
    except ReviewError as err:
        await context(request).audit.append(AuditEntry(
            actor=actor, action="phone.review", subject=f"change:{raw}",
            channel=client_address(request), outcome="refused", reason=err.code,
            details={"change_id": int(raw), "decision": decision}))
        return await _page(request, error=err.message, status=409)
    outcome = "approved" if decision == "approve" else "rejected"
    await context(request).audit.append(AuditEntry(
        actor=actor, action="phone.review", subject=item.customer_id,
        channel=client_address(request), outcome=outcome, reason=note,
        details={"change_id": item.id, "rules_fired": item.rules_fired,
                 "old": item.old_phone, "new": item.new_phone, "call_id": item.call_id}))
    verb = "Approved: the registered phone is now" if decision == "approve" else \
        "Rejected: the registered phone stays"
    phone = item.new_phone if decision == "approve" else item.old_phone
    return await _page(request, notice=f"{verb} {phone} for {item.customer_id}.")
