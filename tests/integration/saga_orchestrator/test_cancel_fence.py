"""A cancellation saga that undoes its cancel (REINSTATE_RESERVATION) fences the cancel's key
in the same call, so a late copy of the cancel cannot cancel the booking it confirmed again."""

from saga_orchestrator.app import create_app
from tests.integration.saga_orchestrator.fakes import serve_fakes
from tests.integration.saga_orchestrator.helpers import booking, saga_settings, start, wait_for
from tests.support import running


async def test_the_reinstatement_names_the_cancel_key_to_fence():
    async with serve_fakes() as fakes:
        fakes.add_event(1, price=5000, capacity=100)
        async with running(create_app(saga_settings(fakes.url))) as client:
            booked = await wait_for(client, await start(client, booking(1)))
            fakes.refuse_refunds = True
            answer = await client.post(
                "/api/saga/cancellation", json={"reservationId": booked["reservationId"]}
            )
            assert answer.status_code == 202, answer.text
            saga = await wait_for(client, answer.json()["sagaId"])
    assert saga["status"] == "COMPENSATION_FAILED", saga
    (reinstated,) = [c for c in fakes.calls if c.route == "reinstate"]
    assert reinstated.key == f"{saga['sagaId']}:REINSTATE_RESERVATION"
    assert reinstated.body["fenceKey"] == f"{saga['sagaId']}:CANCEL_RESERVATION"
