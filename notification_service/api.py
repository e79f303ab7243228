"""HTTP routes of the Notification service."""

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from notification_service.domain import Draft, Kind
from notification_service.schemas import BookingNotificationIn, NotificationOut, PaymentNotificationIn
from notification_service.service import Notifications
from notification_service.store import Doc
from shared import callers
from shared.idempotency import Idempotency, fingerprint
from shared.idempotency.header import IdempotencyKey
from shared.paging import Paging
from shared.schemas import Page
from shared.web import from_state

router = APIRouter(prefix="/api/notifications", tags=["notifications"])

# A booking "cancelled" here is one that could not be completed (the saga's compensation).
BOOKING_KINDS = {"confirmed": Kind.BOOKING_CONFIRMED, "cancelled": Kind.BOOKING_COMPENSATED}
PAYMENT_KINDS = {
    "completed": Kind.PAYMENT_COMPLETED,
    "refunded": Kind.PAYMENT_REFUNDED,
    "failed": Kind.PAYMENT_FAILED,
}


UseCases = Annotated[Notifications, from_state("notifications")]


def as_wire(doc: Doc) -> dict[str, Any]:
    return NotificationOut.model_validate(doc).model_dump(mode="json", by_alias=True)


async def _create(desk: Notifications, draft: Draft, body: Any, key: str | None, scope: str) -> JSONResponse:
    print_ = fingerprint(body.model_dump(mode="json", by_alias=True))
    idem = Idempotency(key, print_) if key else None
    doc = await desk.record_request(draft, scope, idem, print_)
    return JSONResponse(
        as_wire(doc), status_code=201, headers={"Location": f"/api/notifications/{doc['id']}"}
    )


@router.post("/booking", status_code=201, response_model=NotificationOut, dependencies=[callers.INTERNAL])
async def notify_booking(
    body: BookingNotificationIn,
    desk: UseCases,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A booking notification (confirmed or cancelled), sent in the background."""
    draft = Draft(
        kind=BOOKING_KINDS[body.status],
        user_id=body.user_id,
        recipient=str(body.user_email),
        facts={
            "userName": body.user_name,
            "eventId": body.event_id,
            "eventName": body.event_name,
            "seats": body.seats,
            "amount": body.amount,
            "currency": body.currency,
            "reservationId": body.reservation_id,
            "reason": body.reason,
        },
        related_ids={
            k: str(v)
            for k, v in {"reservationId": body.reservation_id, "eventId": body.event_id}.items()
            if v is not None
        },
    )
    return await _create(desk, draft, body, key, "booking")


@router.post("/payment", status_code=201, response_model=NotificationOut, dependencies=[callers.INTERNAL])
async def notify_payment(
    body: PaymentNotificationIn,
    desk: UseCases,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A payment notification (completed, refunded or failed), sent in the background."""
    draft = Draft(
        kind=PAYMENT_KINDS[body.status],
        user_id=body.user_id,
        recipient=str(body.user_email),
        facts={
            "userName": body.user_name,
            "amount": body.amount,
            "currency": body.currency,
            "reservationId": body.reservation_id,
            "reason": body.reason,
        },
        related_ids={
            k: v
            for k, v in {"paymentId": body.payment_id, "reservationId": body.reservation_id}.items()
            if v is not None
        },
    )
    return await _create(desk, draft, body, key, "payment")


@router.get("/user/{user_id}", response_model=Page[NotificationOut], dependencies=[callers.PUBLIC])
async def notifications_of_user(
    user_id: Annotated[str, Path(min_length=1, max_length=100)],
    paging: Paging,
    desk: UseCases,
) -> dict[str, Any]:
    docs, total = await desk.of_user(user_id, offset=paging.offset, limit=paging.size)
    return {"items": [as_wire(d) for d in docs], "total": total, "page": paging.page, "size": paging.size}


@router.get("/{notification_id}", response_model=NotificationOut, dependencies=[callers.PUBLIC])
async def get_notification(notification_id: str, desk: UseCases) -> Any:
    return as_wire(await desk.get(notification_id))
