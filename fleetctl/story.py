"""The booking story, told once over HTTP: `fleet demo`, the end-to-end tests and the docs
all follow these steps, so they cannot drift apart.

A happy booking (event created, saga COMPLETED, reservation confirmed, payment completed,
notification stored, analytics occupancy, event store history and time travel), its
cancellation (a cancellation saga COMPLETED: seats released, payment refunded, the user told,
analytics without it) and a declined booking (ticketPrice x seats above the payment
provider's limit: saga COMPENSATED, seats given back). Each step is timed and raises
`StoryFailed` with what it saw.
"""

import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from fleetctl.messages import say as said

TERMINAL_SAGA_STATES = frozenset({"COMPLETED", "COMPENSATED", "COMPENSATION_FAILED"})
# The payment provider declines any charge above this (PAYMENT_DECLINE_ABOVE, XOF).
DECLINE_ABOVE = Decimal(1_000_000)

# Environment names a caller (fleet demo/seed, scripts/test-system.sh) may set to point the
# story at another fleet, e.g. docker compose on another host.
URL_ENV = {
    "event": ("EVENT_URL", 8080),
    "reservation": ("RESERVATION_URL", 3000),
    "payment": ("PAYMENT_URL", 5000),
    "analytics": ("ANALYTICS_URL", 8081),
    "event_store": ("EVENT_STORE_URL", 3001),
    "saga": ("SAGA_URL", 3002),
    "notification": ("NOTIFICATION_URL", 5001),
}
PACKAGES = {
    "event": "event_service",
    "reservation": "reservation_service",
    "payment": "payment_service",
    "analytics": "analytics_service",
    "event_store": "event_store_service",
    "saga": "saga_orchestrator",
    "notification": "notification_service",
}


class StoryFailed(AssertionError):
    """A step did not see what the story expects; the message says what it saw."""


@dataclass(frozen=True)
class Urls:
    event: str
    reservation: str
    payment: str
    analytics: str
    event_store: str
    saga: str
    notification: str

    @classmethod
    def from_env(cls, host: str = "127.0.0.1") -> "Urls":
        """Native ports on `host`, each overridable by its environment variable."""
        return cls(
            **{
                name: os.environ.get(env, f"http://{host}:{port}").rstrip("/")
                for name, (env, port) in URL_ENV.items()
            }
        )

    @classmethod
    def of(cls, url_of_package: Callable[[str], str]) -> "Urls":
        """From a `Fleet.url`-like function (package name -> base URL)."""
        return cls(**{name: url_of_package(package) for name, package in PACKAGES.items()})

    def items(self) -> Iterable[tuple[str, str]]:
        return ((name, getattr(self, name)) for name in URL_ENV)


@dataclass
class StepResult:
    name: str
    ok: bool
    ms: float
    detail: str = ""


def future_date(days: int = 60, hour: int = 20) -> str:
    """An ISO date-time in the future with its zone (past dates are refused on create)."""
    day = datetime.now(UTC) + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0).isoformat().replace("+00:00", "Z")


def items_of(body: Any) -> list[dict[str, Any]]:
    """A list answer or a page answer ({items, total, page, size}) as a list."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("items", "events", "notifications", "history", "results", "data"):
            if isinstance(body.get(key), list):
                return list(body[key])
    raise StoryFailed(f"expected a list or a page, got {short(body)}")


def short(value: Any, limit: int = 300) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


class Client:
    """Calls of the story: each checks the status and returns the JSON body."""

    def __init__(self, urls: Urls, *, timeout: float = 10.0, http: httpx.Client | None = None) -> None:
        self.urls = urls
        self.http = http or httpx.Client(timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def call(
        self,
        method: str,
        url: str,
        *,
        expect: int | tuple[int, ...] = 200,
        json: Any = None,
        params: dict[str, Any] | None = None,
        key: bool = False,
    ) -> Any:
        headers = {"Idempotency-Key": str(uuid.uuid4())} if key else {}
        try:
            answer = self.http.request(method, url, json=json, params=params, headers=headers)
        except httpx.HTTPError as error:
            raise StoryFailed(f"{method} {url}: {type(error).__name__} {error}") from error
        wanted = (expect,) if isinstance(expect, int) else expect
        if answer.status_code not in wanted:
            raise StoryFailed(
                f"{method} {url} -> {answer.status_code}, expected {wanted}: {short(answer.text)}"
            )
        return answer.json() if answer.content else None

    # The participants' routes (docs/saga.md).
    def create_event(self, **event: Any) -> dict[str, Any]:
        return self.call("POST", f"{self.urls.event}/api/events", json=event, expect=201, key=True)

    def get_event(self, event_id: Any) -> dict[str, Any]:
        return self.call("GET", f"{self.urls.event}/api/events/{event_id}")

    def list_events(self, size: int = 100) -> list[dict[str, Any]]:
        return items_of(self.call("GET", f"{self.urls.event}/api/events", params={"size": size}))

    def start_booking(self, **booking: Any) -> dict[str, Any]:
        return self.call("POST", f"{self.urls.saga}/api/saga/booking", json=booking, expect=202, key=True)

    def get_saga(self, saga_id: str, wait: float = 0) -> dict[str, Any]:
        """`wait`: a long poll, answered as soon as the saga ends (or after `wait` seconds)."""
        params = {"wait": wait} if wait else None
        return self.call("GET", f"{self.urls.saga}/api/saga/{saga_id}", params=params)

    def wait_saga(self, saga_id: str, deadline_s: float) -> dict[str, Any]:
        return poll(
            lambda: self.get_saga(saga_id, wait=min(5.0, deadline_s)),
            lambda saga: saga.get("status") in TERMINAL_SAGA_STATES,
            deadline_s,
            f"saga {saga_id} to end",
        )


def poll(
    fetch: Callable[[], Any], done: Callable[[Any], bool], deadline_s: float, what: str, every: float = 0.2
) -> Any:
    """Asks again until `done` holds (asynchronous effects: messages, the saga) or the deadline."""
    deadline = time.monotonic() + deadline_s
    last: Any = None
    while True:
        try:
            last = fetch()
            if done(last):
                return last
        except StoryFailed as failure:
            last = failure
        if time.monotonic() > deadline:
            raise StoryFailed(f"waited {deadline_s:.0f} s for {what}; last seen: {short(last)}")
        time.sleep(every)


def field_of(body: dict[str, Any], *names: str) -> Any:
    """The first of `names` found at the top level or one level down (a saga's context)."""
    for name in names:
        if body.get(name) is not None:
            return body[name]
    for value in body.values():
        if isinstance(value, dict):
            for name in names:
                if value.get(name) is not None:
                    return value[name]
    return None


@dataclass
class Story:
    """The steps, in order; state found by one step (ids) is used by the next."""

    urls: Urls
    deadline_s: float = 30.0
    say: Callable[[str], None] | None = None
    seats: int = 2
    capacity: int = 100
    ticket_price: int = 15_000
    results: list[StepResult] = field(default_factory=list)
    # Filled in as the story goes.
    run_tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    event: dict[str, Any] = field(default_factory=dict)
    saga: dict[str, Any] = field(default_factory=dict)
    reservation_id: str | None = None
    payment_id: str | None = None
    declined_event: dict[str, Any] = field(default_factory=dict)
    declined_saga: dict[str, Any] = field(default_factory=dict)
    cancellation: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = Client(self.urls)
        self.user_id = f"demo-user-{self.run_tag}"

    # ---- running -------------------------------------------------------------------------

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return self.happy_steps() + self.cancellation_steps() + self.declined_steps()

    def happy_steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            (said("story.ready"), self.services_ready),
            (said("story.create_event"), self.create_event),
            (said("story.book"), self.start_booking),
            (said("story.saga_completed"), self.saga_completed),
            (said("story.seats_booked"), self.seats_booked),
            (said("story.reservation_confirmed"), self.reservation_confirmed),
            (said("story.payment_completed"), self.payment_completed),
            (said("story.notification"), self.notification_stored),
            (said("story.analytics"), self.analytics_occupancy),
            (said("story.history"), self.event_store_history),
            (said("story.reconstruct"), self.reconstruct_version_1),
        ]

    def cancellation_steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            (said("story.cancel"), self.cancel_booking),
            (said("story.cancel_completed"), self.cancellation_completed),
            (said("story.settled"), self.cancellation_settled),
            (said("story.cancel_told"), self.cancellation_told),
            (said("story.analytics_after"), self.analytics_after_cancellation),
        ]

    def declined_steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            (said("story.declined_event"), self.create_declined_event),
            (said("story.declined_saga"), self.declined_saga_compensated),
            (said("story.declined_back"), self.declined_seats_back),
        ]

    def run_step(self, name: str, action: Callable[[], str]) -> StepResult:
        """Runs one step, records and reports it; failures are recorded, not raised."""
        started = time.perf_counter()
        try:
            detail, ok = action(), True
        except StoryFailed as failure:
            detail, ok = str(failure), False
        result = StepResult(name, ok, (time.perf_counter() - started) * 1000, detail)
        self.results.append(result)
        if self.say:
            mark = "✓" if ok else "✗"
            self.say(f"  {mark} {name:<48} {result.ms:7.0f} ms  {detail}")
        return result

    def run(self) -> list[StepResult]:
        for name, action in self.steps():
            self.run_step(name, action)
        return self.results

    def close(self) -> None:
        self.client.close()

    # ---- the happy booking ---------------------------------------------------------------

    def services_ready(self) -> str:
        down = []
        for name, base in self.urls.items():
            try:
                if httpx.get(f"{base}/ready", timeout=5).status_code != 200:
                    down.append(name)
            except httpx.HTTPError:
                down.append(name)
        if down:
            raise StoryFailed(f"not ready: {', '.join(down)}")
        return "7/7 /ready 200"

    def create_event(self) -> str:
        self.event = self.client.create_event(
            name=f"Concert Jazz {self.run_tag}",
            description="Soirée jazz avec des artistes sénégalais",
            eventDate=future_date(),
            location="Dakar Arena",
            category="concert",
            totalCapacity=self.capacity,
            ticketPrice=self.ticket_price,
        )
        if self.event.get("bookedSeats") != 0:
            raise StoryFailed(f"a new event should have no seat booked: {short(self.event)}")
        # availableSeats keeps the 5 % safety margin free (DB1): 100 seats -> 95 bookable.
        return said(
            "story.event_created",
            id=self.event["id"],
            capacity=self.capacity,
            available=self.event.get("availableSeats"),
            price=self.event["ticketPrice"],
        )

    def booking(self, event: dict[str, Any], seats: int, user: str) -> dict[str, Any]:
        return {
            "eventId": event["id"],
            "userId": user,
            "userName": "Awa Ndiaye",
            "userEmail": f"{user}@example.sn",
            "userPhone": "+221770000000",
            "seats": seats,
            "ticketPrice": event["ticketPrice"],
            "paymentMethod": "mobile_money",
        }

    def start_booking(self) -> str:
        self.need(self.event, "an event")
        self.saga = self.client.start_booking(**self.booking(self.event, self.seats, self.user_id))
        if not self.saga.get("sagaId"):
            raise StoryFailed(f"no sagaId in {short(self.saga)}")
        return f"saga {self.saga['sagaId']} {self.saga.get('status')}"

    def saga_completed(self) -> str:
        self.need(self.saga.get("sagaId"), "a saga")
        saga = self.client.wait_saga(self.saga["sagaId"], self.deadline_s)
        self.saga = saga
        if saga.get("status") != "COMPLETED":
            raise StoryFailed(f"saga ended {saga.get('status')}: {short(saga.get('error') or saga)}")
        self.reservation_id = field_of(saga, "reservationId")
        self.payment_id = field_of(saga, "paymentId")
        if not self.reservation_id or not self.payment_id:
            raise StoryFailed(f"saga COMPLETED without reservationId/paymentId: {short(saga)}")
        return f"reservation {self.reservation_id}, payment {self.payment_id}"

    def seats_booked(self) -> str:
        self.need(self.reservation_id, "a completed saga")
        event = self.client.get_event(self.event["id"])
        if event.get("bookedSeats") != self.seats:
            raise StoryFailed(f"bookedSeats {event.get('bookedSeats')}, expected {self.seats}")
        return f"bookedSeats {event['bookedSeats']}, availableSeats {event.get('availableSeats')}"

    def reservation_confirmed(self) -> str:
        self.need(self.reservation_id, "a reservation id")
        url = f"{self.urls.reservation}/api/reservations/{self.reservation_id}"
        reservation = self.client.call("GET", url)
        if reservation.get("status") != "confirmed":
            raise StoryFailed(f"reservation status {reservation.get('status')}")
        amount = (reservation.get("bookingDetails") or {}).get("totalAmount")
        expected = Decimal(str(self.event["ticketPrice"])) * self.seats
        if amount is None or Decimal(str(amount)) != expected:
            raise StoryFailed(f"totalAmount {amount}, expected {expected}")
        return said("story.confirmed", seats=self.seats, amount=amount)

    def payment_completed(self) -> str:
        self.need(self.payment_id, "a payment id")
        payment = self.client.call("GET", f"{self.urls.payment}/api/payments/{self.payment_id}")
        if payment.get("status") != "completed":
            raise StoryFailed(f"payment status {payment.get('status')}: {short(payment)}")
        return f"completed, {payment.get('amount')} {payment.get('currency', '')}".strip()

    def notification_stored(self) -> str:
        self.need(self.reservation_id, "a completed saga")
        url = f"{self.urls.notification}/api/notifications/user/{self.user_id}"
        found = poll(
            lambda: items_of(self.client.call("GET", url)),
            lambda found: any(n.get("type") == "booking.confirmed" for n in found),
            self.deadline_s,
            f"a booking.confirmed notification for {self.user_id}",
        )
        kinds = sorted({str(n.get("type") or n.get("kind") or "?") for n in found})
        return said("story.stored", count=len(found), kinds=", ".join(kinds))

    def analytics_occupancy(self) -> str:
        self.need(self.reservation_id, "a completed saga")
        url = f"{self.urls.analytics}/api/analytics/events/{self.event['id']}"
        expected_rate = round(self.seats / self.capacity * 100, 2)
        doc = poll(
            lambda: self.client.call("GET", url, expect=(200, 404)),
            lambda doc: bool(doc) and doc.get("bookedSeats") == self.seats,
            self.deadline_s,
            f"analytics of event {self.event['id']} to show {self.seats} booked seats",
        )
        rate = doc.get("occupancyRate")
        if rate is None or abs(float(rate) - expected_rate) > 0.001:
            raise StoryFailed(f"occupancyRate {rate}, expected {expected_rate}")
        return f"bookedSeats {doc['bookedSeats']}, occupancyRate {rate} %"

    def event_store_history(self) -> str:
        self.need(self.reservation_id, "a reservation id")
        aggregate = f"RESERVATION-{self.reservation_id}"
        url = f"{self.urls.event_store}/api/aggregates/{aggregate}/history"
        history = poll(
            lambda: items_of(self.client.call("GET", url, expect=(200, 404))),
            lambda events: len(events) >= 2,
            self.deadline_s,
            f"{aggregate} to hold its created and confirmed events",
        )
        versions = [e.get("version") for e in history]
        if versions != list(range(1, len(history) + 1)):
            raise StoryFailed(f"versions not 1..n in order: {versions}")
        types = [str(e.get("eventType") or e.get("type")) for e in history]
        return f"{aggregate}: " + ", ".join(f"v{v} {t}" for v, t in zip(versions, types, strict=True))

    def reconstruct_version_1(self) -> str:
        self.need(self.reservation_id, "a reservation id")
        aggregate = f"RESERVATION-{self.reservation_id}"
        url = f"{self.urls.event_store}/api/aggregates/{aggregate}/reconstruct"
        body = self.client.call("GET", url, params={"toVersion": 1})
        state = body.get("state") if isinstance(body.get("state"), dict) else body
        if state.get("status") != "pending":
            raise StoryFailed(f"state at version 1 should be pending: {short(body)}")
        return f"version {body.get('version', 1)}: status {state['status']}"

    # ---- the cancellation -----------------------------------------------------------------

    def cancel_booking(self) -> str:
        self.need(self.reservation_id, "a completed booking")
        url = f"{self.urls.reservation}/api/reservations/{self.reservation_id}/cancel"
        self.cancellation = self.client.call(
            "POST", url, json={"reason": "plans changed"}, expect=202, key=True
        )
        if not self.cancellation.get("sagaId"):
            raise StoryFailed(f"no sagaId in {short(self.cancellation)}")
        return said("story.cancellation_saga", saga=self.cancellation["sagaId"])

    def cancellation_completed(self) -> str:
        self.need(self.cancellation.get("sagaId"), "a cancellation saga")
        saga = self.client.wait_saga(self.cancellation["sagaId"], self.deadline_s)
        self.cancellation = saga
        if saga.get("status") != "COMPLETED":
            raise StoryFailed(f"cancellation ended {saga.get('status')}: {short(saga.get('error') or saga)}")
        steps = [s.get("name") for s in saga.get("steps", [])]
        return " -> ".join(str(s) for s in steps)

    def cancellation_settled(self) -> str:
        self.need(self.cancellation.get("status") == "COMPLETED", "a completed cancellation")
        event = self.client.get_event(self.event["id"])
        if event.get("bookedSeats") != 0:
            raise StoryFailed(f"bookedSeats {event.get('bookedSeats')} after the cancellation, expected 0")
        payment = self.client.call("GET", f"{self.urls.payment}/api/payments/{self.payment_id}")
        if payment.get("status") != "refunded":
            raise StoryFailed(f"payment status {payment.get('status')}, expected refunded")
        url = f"{self.urls.reservation}/api/reservations/{self.reservation_id}"
        reservation = self.client.call("GET", url)
        if reservation.get("status") != "cancelled":
            raise StoryFailed(f"reservation status {reservation.get('status')}, expected cancelled")
        return said("story.settled_detail", payment=self.payment_id)

    def cancellation_told(self) -> str:
        self.need(self.cancellation.get("status") == "COMPLETED", "a completed cancellation")
        url = f"{self.urls.notification}/api/notifications/user/{self.user_id}"
        found = poll(
            lambda: items_of(self.client.call("GET", url)),
            lambda found: any(n.get("type") == "booking.cancelled" for n in found),
            self.deadline_s,
            f"a cancellation_confirmed notification for {self.user_id}",
        )
        note = next(n for n in found if n.get("type") == "booking.cancelled")
        return f"{note.get('subject')} ({note.get('status')})"

    def analytics_after_cancellation(self) -> str:
        self.need(self.cancellation.get("status") == "COMPLETED", "a completed cancellation")
        url = f"{self.urls.analytics}/api/analytics/events/{self.event['id']}"
        doc = poll(
            lambda: self.client.call("GET", url, expect=(200, 404)),
            lambda doc: bool(doc) and doc.get("bookedSeats") == 0 and doc.get("confirmedReservations") == 0,
            self.deadline_s,
            f"analytics of event {self.event['id']} to drop the cancelled booking",
        )
        return f"bookedSeats {doc['bookedSeats']}, revenue {doc.get('revenue')}"

    # ---- the declined booking ------------------------------------------------------------

    def create_declined_event(self) -> str:
        # Two seats at 600,000 XOF = 1,200,000 XOF: above the provider's limit.
        self.declined_event = self.client.create_event(
            name=f"Gala VIP {self.run_tag}",
            description="Dîner de gala, tables d'honneur",
            eventDate=future_date(days=90),
            location="King Fahd Palace, Dakar",
            category="gala",
            totalCapacity=50,
            ticketPrice=600_000,
        )
        return said(
            "story.declined_created", id=self.declined_event["id"], price=self.declined_event["ticketPrice"]
        )

    def declined_saga_compensated(self) -> str:
        self.need(self.declined_event, "the high-priced event")
        started = self.client.start_booking(**self.booking(self.declined_event, 2, f"{self.user_id}-vip"))
        saga = self.client.wait_saga(started["sagaId"], self.deadline_s)
        self.declined_saga = saga
        if saga.get("status") != "COMPENSATED":
            raise StoryFailed(f"saga ended {saga.get('status')}, expected COMPENSATED: {short(saga)}")
        reason = field_of(saga, "error", "reason", "failureReason")
        return f"saga {saga['sagaId']} COMPENSATED: {short(reason, 80)}"

    def declined_seats_back(self) -> str:
        self.need(self.declined_saga, "the declined saga")
        event = self.client.get_event(self.declined_event["id"])
        if (
            event.get("bookedSeats") != 0
            or event.get("availableSeats") != self.declined_event["availableSeats"]
        ):
            raise StoryFailed(f"seats not given back: {short(event)}")
        return f"bookedSeats 0, availableSeats {event.get('availableSeats')}"

    @staticmethod
    def need(value: Any, what: str) -> None:
        if not value:
            raise StoryFailed(f"skipped: needs {what} from an earlier step")


def summary(results: list[StepResult]) -> str:
    passed = sum(r.ok for r in results)
    return said("story.summary", passed=passed, failed=len(results) - passed)
