"""The simulated payment provider: deterministic outcomes, so a decline can be triggered on
purpose (tests, demos, the saga's compensation path). No I/O, no randomness."""

from dataclasses import dataclass
from decimal import Decimal

from payment_service.domain import Status


@dataclass(frozen=True)
class ChargeOutcome:
    status: Status  # completed or failed
    failure_reason: str | None = None


class SimulatedProvider:
    """Approves every charge up to `decline_above` (inclusive) and declines the rest; refunds
    every approved charge, except those above `refuse_refunds_above` when it is set (so a
    refund the provider refuses can be shown on purpose)."""

    def __init__(self, decline_above: Decimal, refuse_refunds_above: Decimal | None = None) -> None:
        self.decline_above = decline_above
        self.refuse_refunds_above = refuse_refunds_above
        # Refund key -> answer: a refund asked again under its key is answered, not made
        # again, as a real provider deduplicates on the key its caller sends.
        self._refunds: dict[str, bool] = {}
        self.refunds_made = 0

    def charge(self, amount: Decimal, currency: str) -> ChargeOutcome:
        if amount > self.decline_above:
            return ChargeOutcome(
                Status.FAILED,
                f"Declined: amount {amount:.2f} {currency} exceeds the single-charge limit of "
                f"{self.decline_above:.2f} {currency}",
            )
        return ChargeOutcome(Status.COMPLETED)

    def refund(self, amount: Decimal, currency: str, *, key: str | None = None) -> bool:
        """Whether `amount` was given back; under a `key` seen before, the first answer."""
        if key is not None and key in self._refunds:
            return self._refunds[key]
        refunded = self.refuse_refunds_above is None or amount <= self.refuse_refunds_above
        if refunded:
            self.refunds_made += 1
        if key is not None:
            self._refunds[key] = refunded
        return refunded
