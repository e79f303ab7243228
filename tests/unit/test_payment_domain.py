"""Payment status machine, refund decisions and the simulated provider: no I/O."""

from decimal import Decimal

import pytest

from payment_service.domain import (
    NEXT,
    IllegalTransition,
    NothingToRefund,
    RefundPlan,
    Status,
    refund_path,
    refund_plan,
    status_change,
    transition,
)
from payment_service.provider import SimulatedProvider

LEGAL = {(current, wanted) for current, nexts in NEXT.items() for wanted in nexts}


def test_the_machine_is_pending_to_completed_or_failed_then_refunds():
    assert LEGAL == {
        (Status.PENDING, Status.COMPLETED),
        (Status.PENDING, Status.FAILED),
        (Status.COMPLETED, Status.REFUNDING),
        (Status.REFUNDING, Status.REFUNDED),
        (Status.REFUNDING, Status.REFUND_FAILED),
    }


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("wanted", list(Status))
def test_every_other_transition_is_a_409(current: Status, wanted: Status):
    if (current, wanted) in LEGAL:
        assert transition(current, wanted) is wanted
    else:
        with pytest.raises(IllegalTransition) as refused:
            transition(current, wanted)
        assert refused.value.status == 409


def test_a_refund_goes_through_refunding():
    assert refund_path(Status.COMPLETED) == [Status.REFUNDING, Status.REFUNDED]
    assert refund_path(Status.REFUNDING) == [Status.REFUNDED]
    with pytest.raises(IllegalTransition):
        refund_path(Status.FAILED)


def test_compensation_is_idempotent_and_a_declined_payment_needs_none():
    assert refund_plan(1, Status.COMPLETED) is RefundPlan.REFUND
    assert refund_plan(1, Status.REFUNDING) is RefundPlan.REFUND
    assert refund_plan(1, Status.REFUNDED) is RefundPlan.ALREADY_DONE
    assert refund_plan(1, Status.FAILED) is RefundPlan.NOTHING_TO_DO
    for status in (Status.PENDING, Status.REFUND_FAILED):
        with pytest.raises(NothingToRefund):
            refund_plan(1, status)


def test_a_status_change_announces_completed_failed_and_refunded_only():
    assert status_change(Status.PENDING, Status.COMPLETED, "x").routing_key == "payment.completed"
    failed = status_change(Status.PENDING, Status.FAILED, "card expired")
    assert (failed.routing_key, failed.failure_reason) == ("payment.failed", "card expired")
    assert status_change(Status.COMPLETED, Status.REFUNDING, None).routing_key is None
    assert status_change(Status.REFUNDING, Status.REFUNDED, "why").failure_reason is None
    assert status_change(Status.REFUNDING, Status.REFUND_FAILED, "bank").routing_key is None


def test_the_provider_declines_above_the_limit_only():
    provider = SimulatedProvider(Decimal("1000000"))
    assert provider.charge(Decimal("1000000.00"), "XOF").status is Status.COMPLETED
    assert provider.charge(Decimal("0.01"), "XOF").status is Status.COMPLETED
    declined = provider.charge(Decimal("1500000"), "XOF")
    assert declined.status is Status.FAILED
    assert declined.failure_reason == (
        "Declined: amount 1500000.00 XOF exceeds the single-charge limit of 1000000.00 XOF"
    )
    assert provider.refund(Decimal("10"), "XOF")


def test_the_provider_refuses_refunds_above_its_refund_limit_when_one_is_set():
    provider = SimulatedProvider(Decimal("1000000"), refuse_refunds_above=Decimal("50000"))
    assert provider.refund(Decimal("50000"), "XOF")
    assert not provider.refund(Decimal("50000.01"), "XOF")
    assert SimulatedProvider(Decimal("1000000")).refund(Decimal("999999"), "XOF")


def test_a_refund_asked_again_under_its_key_is_answered_not_made_again():
    provider = SimulatedProvider(Decimal("1000000"), refuse_refunds_above=Decimal("50000"))
    assert provider.refund(Decimal("10"), "XOF", key="payment:1:refund")
    assert provider.refund(Decimal("10"), "XOF", key="payment:1:refund")
    assert provider.refunds_made == 1
    assert provider.refund(Decimal("10"), "XOF", key="payment:2:refund")
    assert provider.refunds_made == 2
    # A refused refund is refused again under its key, and makes nothing.
    assert not provider.refund(Decimal("60000"), "XOF", key="payment:3:refund")
    assert not provider.refund(Decimal("60000"), "XOF", key="payment:3:refund")
    assert provider.refunds_made == 2
