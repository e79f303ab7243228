"""Teaching faults: TEACHING_FAULTS turns off one mechanism at a time, to show in class why
it exists (docs/labs.md). Each fault is checked in exactly one place of the code, which
names it; with the setting empty (the default) every mechanism is on.

The active set is process-wide: a service process is built from one settings object, and
create_service_app activates what its settings name before anything runs.
"""

import logging
from enum import StrEnum

log = logging.getLogger(__name__)


class Fault(StrEnum):
    LOST_UPDATE = "lost-update"
    NO_OUTBOX = "no-outbox"
    NO_COMPENSATION = "no-compensation"
    NO_IDEMPOTENCY = "no-idempotency"
    STALE_CACHE = "stale-cache"
    NO_EVENT_STORE_OCC = "no-event-store-occ"
    FORGETFUL_ORCHESTRATOR = "forgetful-orchestrator"


# What each fault removes, in the words of the warning a service logs when it starts.
REMOVES: dict[Fault, str] = {
    Fault.LOST_UPDATE: "DB2's version check on booking: racing bookings overwrite each other",
    Fault.NO_OUTBOX: "the outbox's retries: a message the broker cannot take when committed is lost",
    Fault.NO_COMPENSATION: "SAGA4's compensations: a failed booking keeps its seats and reservation",
    Fault.NO_IDEMPOTENCY: "idempotency keys of payments: a retried charge charges again",
    Fault.STALE_CACHE: "POLY3's cache invalidation: a changed payment reads as before",
    Fault.NO_EVENT_STORE_OCC: "the unique (aggregateId, version) index: racing appends share a version",
    Fault.FORGETFUL_ORCHESTRATOR: "the saga log's recovery: sagas of a dead orchestrator are never resumed",
}

_active: frozenset[Fault] = frozenset()


class UnknownFault(ValueError):
    pass


def parse(value: str | list[str] | tuple[str, ...] | None) -> tuple[Fault, ...]:
    """`a,b` (or a list of names) as faults; an unknown name is an error naming the known ones,
    so a typo never leaves a mechanism on that the teacher meant to turn off."""
    names = value.split(",") if isinstance(value, str) else list(value or [])
    faults: list[Fault] = []
    for raw in names:
        name = raw.strip().lower()
        if not name:
            continue
        try:
            fault = Fault(name)
        except ValueError:
            known = ", ".join(f.value for f in Fault)
            raise UnknownFault(
                f"unknown teaching fault {raw.strip()!r} in TEACHING_FAULTS; known: {known}"
            ) from None
        if fault not in faults:
            faults.append(fault)
    return tuple(faults)


def activate(faults: tuple[Fault, ...], service: str) -> None:
    """Make `faults` the process's active set, saying so loudly for each one."""
    global _active
    _active = frozenset(faults)
    for fault in faults:
        log.warning(
            "TEACHING FAULT %s IS ON in %s: %s. Never run this outside a class.",
            fault.value,
            service,
            REMOVES[fault],
            extra={"fields": {"teachingFault": fault.value}},
        )


def on(fault: Fault) -> bool:
    return fault in _active
