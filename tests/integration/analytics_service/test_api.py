"""The analytics API on a known data set: full-text search ignoring case and accents,
validated filters, aggregation numbers, documents indexed and corrected by hand."""

import pytest
from opensearchpy import AsyncOpenSearch

from tests.integration.analytics_service.service import analytics_service
from tests.support import OPENSEARCH_URL

EVENTS = [
    # eventId, name, location, category, capacity, booked, price, revenue
    (1, "Concert Youssou N'Dour", "Dakar Arena", "concert", 100, 90, 15000, 1350000),
    (2, "Festival de Saint-Louis", "Saint-Louis, Sénégal", "festival", 200, 50, 5000, 250000),
    (3, "Match des Lions", "Dakar Arena", "sport", 300, 240, 2000, 480000),
    (4, "Théâtre Sorano", "Théâtre Daniel Sorano", "théâtre", 0, 0, 3000, 0),
    (5, "Jazz à Gorée", "Île de Gorée, Sénégal", "concert", 3, 2, 10000, 20000),
]


def _body(event_id, name, location, category, capacity, booked, price, revenue):
    return {
        "eventId": event_id,
        "name": name,
        "location": location,
        "category": category,
        "eventDate": f"2030-0{event_id}-10T20:00:00",
        "totalCapacity": capacity,
        "bookedSeats": booked,
        "ticketPrice": price,
        "revenue": revenue,
        "confirmedReservations": booked // 2,
    }


@pytest.fixture(scope="module")
async def dataset():
    """One service holding EVENTS, shared by the tests that only read (or are refused)."""
    async with analytics_service() as (_, _, client):
        for row in EVENTS:
            answer = await client.post("/api/analytics/events", json=_body(*row))
            assert answer.status_code == 201, answer.text
        yield client


async def _names(client, **params) -> list[str]:
    answer = await client.get("/api/analytics/search", params=params)
    assert answer.status_code == 200, answer.text
    return [item["name"] for item in answer.json()["items"]]


async def test_the_index_is_created_with_its_mapping(analytics):
    settings, _, _ = analytics
    search = AsyncOpenSearch(hosts=[OPENSEARCH_URL])
    try:
        found = await search.indices.get(index=settings.index)
    finally:
        await search.close()
    [(physical, index)] = found.items()
    assert physical == f"{settings.index}-v1"
    assert index["settings"]["index"]["number_of_replicas"] == "0"
    assert index["settings"]["index"]["analysis"]["analyzer"]["folding"]["filter"] == [
        "lowercase",
        "asciifolding",
    ]
    fields = index["mappings"]["properties"]
    assert fields["revenue"] == {"type": "scaled_float", "scaling_factor": 100.0}
    assert fields["location"]["fields"]["keyword"]["type"] == "keyword"
    assert fields["occupancyRate"]["type"] == "double"


async def test_search_ignores_case_and_accents(dataset):
    assert await _names(dataset, location="dakar") == ["Concert Youssou N'Dour", "Match des Lions"]
    assert await _names(dataset, location="senegal") == ["Festival de Saint-Louis", "Jazz à Gorée"]
    assert await _names(dataset, name="GOREE") == ["Jazz à Gorée"]
    assert await _names(dataset, category="theatre") == ["Théâtre Sorano"]


async def test_every_criterion_must_match(dataset):
    assert await _names(dataset, location="sénégal", category="concert") == ["Jazz à Gorée"]
    assert await _names(dataset, name="lions", location="gorée") == []


async def test_search_without_criteria_lists_every_event_paged(dataset):
    answer = (await dataset.get("/api/analytics/search", params={"size": 2, "page": 2})).json()
    assert answer["total"] == 5
    assert [i["eventId"] for i in answer["items"]] == [3, 4]


async def test_high_occupancy_defaults_to_80_percent(dataset):
    answer = (await dataset.get("/api/analytics/high-occupancy")).json()
    assert [(i["eventId"], i["occupancyRate"]) for i in answer["items"]] == [(1, 90.0), (3, 80.0)]
    lower = (await dataset.get("/api/analytics/high-occupancy", params={"minRate": 25})).json()
    assert [i["eventId"] for i in lower["items"]] == [1, 3, 5, 2]


@pytest.mark.parametrize("rate", ["101", "-1", "abc", "nan"])
async def test_high_occupancy_refuses_a_rate_outside_0_to_100(dataset, rate):
    answer = await dataset.get("/api/analytics/high-occupancy", params={"minRate": rate})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"][0]["field"] == "query.minRate"


async def test_by_location_adds_up_each_location(dataset):
    answer = await dataset.get("/api/analytics/by-location")
    rows = {row["location"]: row for row in answer.json()}
    assert set(rows) == {
        "Dakar Arena",
        "Saint-Louis, Sénégal",
        "Théâtre Daniel Sorano",
        "Île de Gorée, Sénégal",
    }
    dakar = rows["Dakar Arena"]
    assert dakar == {
        "location": "Dakar Arena",
        "totalEvents": 2,
        "totalCapacity": 400,
        "totalBookedSeats": 330,
        "totalAvailableSeats": 70,
        "totalRevenue": "1830000",
        "confirmedReservations": 45 + 120,
        "averageOccupancyRate": 85.0,
        "occupancyRate": 82.5,
    }
    assert rows["Théâtre Daniel Sorano"]["occupancyRate"] == 0.0
    assert rows["Île de Gorée, Sénégal"]["averageOccupancyRate"] == 66.67


async def test_overview_totals_every_event(dataset):
    answer = (await dataset.get("/api/analytics")).json()
    assert answer == {
        "totalEvents": 5,
        "totalCapacity": 603,
        "totalBookedSeats": 382,
        "totalAvailableSeats": 221,
        "totalRevenue": "2100000",
        "confirmedReservations": 45 + 25 + 120 + 0 + 1,
        "averageOccupancyRate": 52.33,  # (90 + 25 + 80 + 0 + 66.67) / 5
        "occupancyRate": 63.35,  # 382 / 603
    }


async def test_an_event_reads_in_camel_case(dataset):
    answer = await dataset.get("/api/analytics/events/5")
    assert answer.status_code == 200
    doc = answer.json()
    assert doc["eventId"] == 5
    assert doc["eventDate"] == "2030-05-10T20:00:00Z"
    assert (doc["totalCapacity"], doc["bookedSeats"], doc["availableSeats"]) == (3, 2, 1)
    assert (doc["occupancyRate"], doc["ticketPrice"], doc["revenue"]) == (66.67, "10000", "20000")
    assert doc["eventVersion"] == 0
    assert doc["updatedAt"].endswith("Z")


async def test_an_unknown_event_is_404_and_a_bad_id_422(analytics):
    _, _, client = analytics
    assert (await client.get("/api/analytics/events/999")).status_code == 404
    assert (await client.get("/api/analytics/events/0")).status_code == 422
    assert (await client.get("/api/analytics/events/abc")).status_code == 422


async def test_indexing_by_hand_creates_then_replaces(analytics):
    _, _, client = analytics
    body = _body(*EVENTS[0])
    first = await client.post("/api/analytics/events", json=body)
    assert first.status_code == 201
    assert first.headers["location"] == "/api/analytics/events/1"
    again = await client.post("/api/analytics/events", json={**body, "bookedSeats": 95})
    assert again.status_code == 200
    assert again.json()["occupancyRate"] == 95.0


@pytest.mark.parametrize(
    "change",
    [
        {"bookedSeats": 101},
        {"totalCapacity": 0},
        {"totalCapacity": 10, "name": "x"},
        {"ticketPrice": -1},
        {"unknownField": 1},
        {"eventId": "x"},
    ],
)
async def test_a_bad_document_is_refused_and_nothing_is_written(analytics, change):
    _, _, client = analytics
    answer = await client.post("/api/analytics/events", json={**_body(*EVENTS[0]), **change})
    assert answer.status_code == 422, answer.text
    assert (await client.get("/api/analytics/events/1")).status_code == 404


async def test_counters_corrected_by_hand_recompute_occupancy(analytics):
    _, _, client = analytics
    assert (await client.post("/api/analytics/events", json=_body(*EVENTS[1]))).status_code == 201
    answer = await client.post(
        "/api/analytics/events/2/update", json={"booked_seats": 199, "revenue": "995000.00"}
    )
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert (doc["bookedSeats"], doc["availableSeats"], doc["occupancyRate"], doc["revenue"]) == (
        199,
        1,
        99.5,
        "995000",  # money is a decimal string, in XOF's places (none)
    )
    assert (await client.get("/api/analytics/events/2")).json() == doc


@pytest.mark.parametrize(
    ("event_id", "body", "status"),
    [
        (2, {}, 422),
        (2, {"bookedSeats": None}, 422),
        (2, {"bookedSeats": -1}, 422),
        (2, {"bookedSeats": 201}, 422),  # above the stored capacity
        (2, {"totalCapacity": 10}, 422),  # below the stored booked seats
        (2, {"occupancyRate": 50}, 422),  # derived, never set
        (999, {"bookedSeats": 1}, 404),
    ],
)
async def test_a_bad_correction_is_refused(dataset, event_id, body, status):
    answer = await dataset.post(f"/api/analytics/events/{event_id}/update", json=body)
    assert answer.status_code == status, answer.text
    assert (await dataset.get("/api/analytics/events/2")).json()["bookedSeats"] == 50
