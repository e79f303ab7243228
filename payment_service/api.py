"""HTTP routes of the payment service: charge, read (cache-aside), list, change status, refund."""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from payment_service.cache import PaymentCache
from payment_service.domain import Status
from payment_service.schemas import CompensationIn, PaymentIn, PaymentOut, StatusChangeIn
from payment_service.store import Outcome, PaymentFilters, PaymentStore
from shared.errors import BadRequest, NotFound, field_error
from shared.idempotency import Idempotency
from shared.idempotency.header import idempotency_key_header
from shared.schemas import Page, PageParams, page_params

# A bigint id: anything outside is a 422, never an overflow in PostgreSQL.
PaymentId = Annotated[int, Path(ge=1, le=2**63 - 1)]

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/payments", tags=["payments"])


def _store(request: Request) -> PaymentStore:
    store: PaymentStore = request.app.state.store
    return store


def _cache(request: Request) -> PaymentCache:
    cache: PaymentCache = request.app.state.cache
    return cache


def _answer(request: Request, outcome: Outcome, *, created: bool = False) -> JSONResponse:
    headers = {"ETag": f'"{outcome.body["version"]}"'}
    if created:
        headers["Location"] = str(request.url_for("get_payment", payment_id=outcome.body["id"]))
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


def _version_from(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or int(text) < 1:
        raise BadRequest(
            'If-Match must carry the version last read, e.g. If-Match: "3".',
            errors=[field_error("If-Match", "expected a positive version number")],
        )
    return int(text)


@router.post(
    "",
    status_code=201,
    response_model=PaymentOut,
    responses={409: {"description": "the reservation already has a successful payment"}},
)
async def create_payment(
    body: PaymentIn, request: Request, key: str | None = Depends(idempotency_key_header)
) -> JSONResponse:
    """Charge through the simulated provider: 201 completed, or 201 failed (declined, with
    failureReason). The same Idempotency-Key and body replays the first answer."""
    store, cache = _store(request), _cache(request)
    idem = Idempotency.of(key, body.model_dump(mode="json"))
    outcome = await store.replay(idem) or await store.create(body, idem)
    if not outcome.replayed:
        request.app.state.relay.wake()
        await cache.put(outcome.body)
    return _answer(request, outcome, created=True)


@router.get("", response_model=Page[PaymentOut])
async def list_payments(
    request: Request,
    reservation_id: str | None = Query(None, alias="reservationId", max_length=64),
    user_id: str | None = Query(None, alias="userId", max_length=128),
    status: Status | None = Query(None),
    idempotency_key: str | None = Query(
        None, alias="idempotencyKey", max_length=255, description="find the payment a lost answer made"
    ),
    paging: PageParams = Depends(page_params),
) -> dict[str, Any]:
    filters = PaymentFilters(reservation_id, user_id, status, idempotency_key)
    items, total = await _store(request).page(filters, paging.offset, paging.size)
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.get("/{payment_id}", response_model=PaymentOut, name="get_payment")
async def get_payment(payment_id: PaymentId, request: Request, response: Response) -> Any:
    """Cache-aside (POLY3): Redis first; on a miss PostgreSQL, then fill the cache."""
    cache = _cache(request)
    hit = await cache.get_answer(payment_id)
    if hit is not None:
        # The cache holds this route's answer exactly as it was sent (PaymentCache.put of
        # the validated document): a hit sends those bytes, without validating and encoding
        # them again. A change to PaymentOut's shape must therefore flush `payment:*`.
        raw, cached = hit
        return Response(raw, media_type="application/json", headers={"ETag": f'"{cached["version"]}"'})
    doc = await _store(request).get(payment_id)
    if doc is None:
        raise NotFound(f"Payment {payment_id} not found.")
    await cache.put(doc)
    response.headers["ETag"] = f'"{doc["version"]}"'
    return doc


@router.put("/{payment_id}/status", response_model=PaymentOut)
async def change_status(
    payment_id: PaymentId,
    body: StatusChangeIn,
    request: Request,
    if_match: str | None = Header(None, alias="If-Match"),
    key: str | None = Depends(idempotency_key_header),
) -> JSONResponse:
    """A legal transition only (409 otherwise); with `version` or If-Match, only if the payment
    is still at that version (409 when stale)."""
    expected = body.version if body.version is not None else _version_from(if_match)
    idem = Idempotency.of(key, body.model_dump(mode="json"))
    outcome = await _store(request).change_status(payment_id, body.status, body.reason, expected, idem)
    if not outcome.replayed:
        request.app.state.relay.wake()
        await _cache(request).put(outcome.body)
    return _answer(request, outcome)


@router.post("/{payment_id}/compensate", response_model=PaymentOut)
async def compensate_payment(
    payment_id: PaymentId,
    request: Request,
    body: CompensationIn | None = None,
    key: str | None = Depends(idempotency_key_header),
) -> JSONResponse:
    """Refund (the saga's compensation), idempotent: completed -> refunded; refunded again or
    failed (nothing was taken) -> 200 unchanged; pending -> 409."""
    payload = body.model_dump(mode="json") if body else {}
    idem = Idempotency.of(key, payload)
    outcome, changed = await _store(request).compensate(payment_id, idem)
    if changed:
        log.info("payment %s refunded: %s", payment_id, (body.reason if body else None) or "no reason given")
        request.app.state.relay.wake()
    await _cache(request).put(outcome.body)
    return _answer(request, outcome)
