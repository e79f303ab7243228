"""HTTP routes of the payment service: charge, read (cache-aside), list, change status, refund."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from payment_service.cache import PaymentCache
from payment_service.domain import Payment, Status
from payment_service.schemas import (
    CompensationIn,
    PaymentIn,
    PaymentOut,
    StatusChangeIn,
    new_payment,
    payment_view,
)
from payment_service.service import Payments
from payment_service.store import PaymentFilters
from shared import callers, faults
from shared.contracts.calls import FenceAnswer
from shared.faults import Fault
from shared.idempotency import Idempotency
from shared.idempotency.header import FencedKey, IdempotencyKey
from shared.paging import Paging
from shared.results import WriteResult
from shared.schemas import Page
from shared.versions import IfMatch, expected_version
from shared.web import from_state

# A bigint id: anything outside is a 422, never an overflow in PostgreSQL.
PaymentId = Annotated[int, Path(ge=1, le=2**63 - 1)]

router = APIRouter(prefix="/api/payments", tags=["payments"])


UseCases = Annotated[Payments, from_state("payments")]
Cache = Annotated[PaymentCache, from_state("cache")]


async def _answer(
    request: Request, result: WriteResult[Payment], *, created: bool = False, cache: bool = True
) -> JSONResponse:
    """The payment as the answer; a change also rewrites the cached GET answer (POLY3)."""
    payment = result.value
    body = payment_view(payment)
    # Teaching fault stale-cache: a change leaves the cached answer as it was, so the
    # cache-aside read keeps serving the old status until the entry expires.
    if cache and not faults.on(Fault.STALE_CACHE):
        # exercise POLY3, level 2: begin
        cached: PaymentCache = request.app.state.cache
        await cached.put(body)
        # exercise POLY3, level 2: end
    headers = {"ETag": f'"{payment.version}"'}
    if created:
        headers["Location"] = str(request.url_for("get_payment", payment_id=payment.id))
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=201 if created else 200, headers=headers)


@router.post(
    "",
    status_code=201,
    response_model=PaymentOut,
    responses={409: {"description": "the reservation already has a successful payment"}},
    dependencies=[callers.INTERNAL],
)
async def create_payment(
    body: PaymentIn, request: Request, payments: UseCases, key: IdempotencyKey = None
) -> JSONResponse:
    """Charge through the simulated provider: 201 completed, or 201 failed (declined, with
    failureReason). The same Idempotency-Key and body replays the first answer."""
    idem = Idempotency.of(key, body.model_dump(mode="json"))
    result = await payments.create(new_payment(body), idem)
    return await _answer(request, result, created=True, cache=not result.replayed)


@router.put("/fences/{key}", response_model=FenceAnswer, dependencies=[callers.INTERNAL])
async def fence_payment(key: FencedKey, payments: UseCases) -> FenceAnswer:
    """For a caller that got no answer to a charge after its retries, before it concludes that
    no payment was made: either the charge under this key was made (`fenced` false, its
    answer given: the caller must count it, or refund it), or the key is fenced and a late
    copy of the charge is refused with 409, taking nothing. Asking "is there a payment under
    this key?" could not tell a charge still in flight from no charge."""
    payment = await payments.fence(key)
    if payment is None:
        return FenceAnswer(idempotency_key=key, fenced=True)
    return FenceAnswer(idempotency_key=key, fenced=False, status_code=201, answer=payment_view(payment))


@router.get("", response_model=Page[PaymentOut], dependencies=[callers.PUBLIC])
async def list_payments(
    payments: UseCases,
    paging: Paging,
    reservation_id: str | None = Query(None, alias="reservationId", max_length=64),
    user_id: str | None = Query(None, alias="userId", max_length=128),
    status: Status | None = Query(None),
    idempotency_key: str | None = Query(
        None, alias="idempotencyKey", max_length=255, description="find the payment a lost answer made"
    ),
) -> dict[str, Any]:
    filters = PaymentFilters(reservation_id, user_id, status, idempotency_key)
    found, total = await payments.page(filters, paging.offset, paging.size)
    items = [payment_view(payment) for payment in found]
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.get("/{payment_id}", response_model=PaymentOut, name="get_payment", dependencies=[callers.PUBLIC])
async def get_payment(payment_id: PaymentId, payments: UseCases, cache: Cache, response: Response) -> Any:
    # exercise POLY3, level 2: begin
    """Cache-aside (POLY3): Redis first; on a miss PostgreSQL, then fill the cache."""
    # exercise POLY3: begin
    hit = await cache.get_answer(payment_id)
    if hit is not None:
        # The cache holds this route's answer exactly as it was sent (PaymentCache.put of
        # the validated document): a hit sends those bytes, without validating and encoding
        # them again. A change to PaymentOut's shape must therefore flush `payment:*`.
        raw, cached = hit
        return Response(raw, media_type="application/json", headers={"ETag": f'"{cached["version"]}"'})
    doc = payment_view(await payments.get(payment_id))
    await cache.put(doc)
    # exercise POLY3: end
    response.headers["ETag"] = f'"{doc["version"]}"'
    return doc
    # exercise POLY3, level 2: end


@router.put("/{payment_id}/status", response_model=PaymentOut, dependencies=[callers.OPERATOR])
async def change_status(
    payment_id: PaymentId,
    body: StatusChangeIn,
    request: Request,
    payments: UseCases,
    if_match: IfMatch = None,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A legal transition only (409 otherwise); with `version` or If-Match, only if the payment
    is still at that version (409 when stale)."""
    expected = expected_version(body.version, if_match)
    idem = Idempotency.of(key, body.model_dump(mode="json"))
    result = await payments.change_status(payment_id, body.status, body.reason, expected, idem)
    return await _answer(request, result, cache=not result.replayed)


@router.post("/{payment_id}/compensate", response_model=PaymentOut, dependencies=[callers.INTERNAL])
async def compensate_payment(
    payment_id: PaymentId,
    request: Request,
    payments: UseCases,
    body: CompensationIn | None = None,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Refund (the saga's compensation), idempotent: completed -> refunded; refunded again or
    failed (nothing was taken) -> 200 unchanged; pending -> 409."""
    payload = body.model_dump(mode="json") if body else {}
    idem = Idempotency.of(key, payload)
    result = await payments.compensate(payment_id, body.reason if body else None, idem)
    return await _answer(request, result)
