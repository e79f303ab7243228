"""GET /api/payments: filters and pages."""

import httpx

from tests.integration.payment_service.helpers import charge
from tests.support import unique


async def test_payments_are_filtered_and_paged(client: httpx.AsyncClient):
    user = unique("user")
    created = []
    for amount in (100, 200, 300, 400, 5_000_000):
        created.append((await client.post("/api/payments", json=charge(userId=user, amount=amount))).json())
    pages = [
        (await client.get("/api/payments", params={"userId": user, "size": 2, "page": p})).json()
        for p in (1, 2, 3)
    ]
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    listed = [item["id"] for p in pages for item in p["items"]]
    assert listed == [c["id"] for c in reversed(created)]  # newest first, no gap, no repeat

    failed = (await client.get("/api/payments", params={"userId": user, "status": "failed"})).json()
    assert [p["id"] for p in failed["items"]] == [created[-1]["id"]]
    one = (await client.get("/api/payments", params={"reservationId": created[1]["reservationId"]})).json()
    assert one["total"] == 1
    assert one["items"][0]["id"] == created[1]["id"]
    both = await client.get(
        "/api/payments",
        params={"userId": user, "reservationId": created[1]["reservationId"], "status": "failed"},
    )
    assert both.json()["total"] == 0


async def test_bad_filters_and_pages_are_422(client: httpx.AsyncClient):
    for params in ({"status": "lost"}, {"size": 101}, {"size": 0}, {"page": 0}):
        answer = await client.get("/api/payments", params=params)
        assert answer.status_code == 422, params
        assert answer.headers["content-type"].startswith("application/problem+json")
