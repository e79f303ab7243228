"""`fleet seed` (demo events in Senegalese cities, bookings through the saga, one declined)
and `fleet demo` (the booking story of fleetctl/story.py with readable progress lines)."""

import argparse
import time
from decimal import Decimal
from typing import Any

from fleetctl.messages import say
from fleetctl.story import DECLINE_ABOVE, Client, Story, StoryFailed, Urls, future_date, summary

# name, location, category, capacity, ticket price (XOF), days from now
DEMO_EVENTS: tuple[tuple[str, str, str, int, int, int], ...] = (
    ("Concert Jazz", "Dakar Arena, Dakar", "concert", 500, 15_000, 30),
    ("Festival International de Jazz", "Place Faidherbe, Saint-Louis", "festival", 800, 10_000, 45),
    ("Combat de lutte: finale", "Arène nationale, Pikine, Dakar", "sport", 1_200, 5_000, 20),
    ("Match de gala", "Stade Lat Dior, Thiès", "sport", 600, 3_000, 25),
    (
        "Festival des cultures de Casamance",
        "Alliance Franco-Sénégalaise, Ziguinchor",
        "festival",
        300,
        7_500,
        60,
    ),
    ("Exposition d'artisanat", "Centre culturel, Touba", "exposition", 200, 2_000, 35),
    ("Dakar Tech Summit", "CICAD, Diamniadio", "conference", 400, 25_000, 50),
    ("Soirée Mbalax", "Saly Portudal, Mbour", "concert", 250, 12_000, 40),
    ("Forum de l'entrepreneuriat", "Chambre de commerce, Kaolack", "conference", 150, 5_000, 55),
    ("Gala VIP de fin d'année", "King Fahd Palace, Dakar", "gala", 80, 300_000, 70),
)
CUSTOMERS = (
    ("Awa Ndiaye", "awa.ndiaye"),
    ("Moussa Diop", "moussa.diop"),
    ("Fatou Sarr", "fatou.sarr"),
    ("Cheikh Fall", "cheikh.fall"),
    ("Aminata Ba", "aminata.ba"),
    ("Ibrahima Sow", "ibrahima.sow"),
)
METHODS = ("mobile_money", "card", "bank_transfer")


def booking(event: dict[str, Any], seats: int, customer: int) -> dict[str, Any]:
    name, handle = CUSTOMERS[customer % len(CUSTOMERS)]
    return {
        "eventId": event["id"],
        "userId": handle,
        "userName": name,
        "userEmail": f"{handle}@example.sn",
        "userPhone": f"+22177{customer:07d}",
        "seats": seats,
        "ticketPrice": event["ticketPrice"],
        "paymentMethod": METHODS[customer % len(METHODS)],
    }


def seed(urls: Urls, *, deadline_s: float = 30.0) -> int:
    """Creates the demo events that are missing (by name and location), books a few seats
    in each through the saga, and one booking above the decline limit."""
    client = Client(urls)
    try:
        try:
            existing = {(e["name"], e["location"]): e for e in client.list_events(size=100)}
        except StoryFailed:
            existing = {}
        events, created = [], []
        print(say("demo.events"))
        for name, location, category, capacity, price, days in DEMO_EVENTS:
            event = existing.get((name, location))
            if event is None:
                event = client.create_event(
                    name=name,
                    description=f"{name} — {location}",
                    eventDate=future_date(days=days),
                    location=location,
                    category=category,
                    totalCapacity=capacity,
                    ticketPrice=price,
                )
                print(
                    say(
                        "demo.event_added",
                        id=event["id"],
                        name=name,
                        location=location,
                        capacity=capacity,
                        price=price,
                    )
                )
                created.append(event)
            else:
                print(say("demo.event_there", id=event["id"], name=name, location=location))
            events.append(event)

        if not created:
            print(say("demo.nothing_new"))
            return 0
        print(say("demo.bookings"))
        plans = [(event, 1 + i % 4, i) for i, event in enumerate(created)]
        # Group bookings, so that high-occupancy has something to show (above 80 %).
        for event in created:
            group = event["totalCapacity"] * 4 // 5
            if event["totalCapacity"] <= 200 and group * Decimal(str(event["ticketPrice"])) <= DECLINE_ABOVE:
                plans.append((event, group, 7))
        for event in created:
            if Decimal(str(event["ticketPrice"])) * 4 > DECLINE_ABOVE:
                # 4 seats x 300,000 XOF = 1,200,000 XOF: declined, the saga compensates.
                plans.append((event, int(DECLINE_ABOVE // Decimal(str(event["ticketPrice"]))) + 1, 3))
        failures = 0
        for event, seats, customer in plans:
            started = time.perf_counter()
            saga = client.start_booking(**booking(event, seats, customer))
            saga = client.wait_saga(saga["sagaId"], deadline_s)
            ms = (time.perf_counter() - started) * 1000
            amount = seats * Decimal(str(event["ticketPrice"]))
            expected = "COMPLETED" if amount <= DECLINE_ABOVE else "COMPENSATED"
            ok = saga["status"] == expected
            failures += not ok
            mark = "✓" if ok else "✗"
            print(
                say(
                    "demo.booking",
                    mark=mark,
                    name=event["name"],
                    seats=seats,
                    price=event["ticketPrice"],
                    status=saga["status"],
                    ms=ms,
                )
            )
        print(say("demo.seeded", events=len(events), bookings=len(plans), failures=failures))
        return 1 if failures else 0
    except StoryFailed as failure:
        print(f"✗ {failure}")
        return 1
    finally:
        client.close()


def demo(urls: Urls, *, deadline_s: float = 30.0) -> int:
    story = Story(urls, deadline_s=deadline_s, say=lambda line: print(line, flush=True))
    try:
        print(say("demo.story"), flush=True)
        for name, action in story.happy_steps():
            story.run_step(name, action)
        print(say("demo.cancel"), flush=True)
        for name, action in story.cancellation_steps():
            story.run_step(name, action)
        print(say("demo.declined"), flush=True)
        for name, action in story.declined_steps():
            story.run_step(name, action)
    finally:
        story.close()
    print(summary(story.results))
    return 0 if all(r.ok for r in story.results) else 1


def add_commands(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    for name, text in (
        ("seed", "create demo events in Senegalese cities and book them through the saga"),
        ("demo", "tell the booking story step by step (a booking, its cancellation, a declined one)"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--host", default="127.0.0.1", help="where the services listen (native ports)")
        cmd.add_argument("--deadline", type=float, default=30.0, help="seconds to wait for each saga/message")


def run_command(args: argparse.Namespace) -> int:
    urls = Urls.from_env(args.host)
    if args.command == "seed":
        return seed(urls, deadline_s=args.deadline)
    return demo(urls, deadline_s=args.deadline)
