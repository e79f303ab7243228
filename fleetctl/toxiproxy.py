"""Network faults with Toxiproxy: a fleet started with them reaches each of its engines, and the
orchestrator each participant, through a proxy of its own on the shared toxiproxy-server
(scripts/engines/toxiproxy.sh, HTTP API on 127.0.0.1:8474); the nemesis puts a toxic on one of
those links and takes it off again. A normal fleet never goes through a proxy.

A link is named `client->server` (`saga_orchestrator->payment_service`,
`payment_service->postgres`); its proxy is `<fleet tag>.<client>-<server>`, listening on a port
the kernel picks, so parallel fleets never share one.
"""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from fleetctl.fleet import BY_NAME, ROOT, Fleet

API = "http://127.0.0.1:8474"

# What Toxiproxy calls each nemesis kind.
TOXICS = {
    "latency": "latency",
    "partition": "timeout",
    "reset": "reset_peer",
    "slow-close": "slow_close",
    "bandwidth": "bandwidth",
}

# The engines' addresses when the fleet's environment names none (the services' defaults).
ENGINE_DEFAULTS = {
    "postgres": "127.0.0.1:5432",
    "mongo": "127.0.0.1:27017",
    "redis": "127.0.0.1:6379",
    "rabbitmq": "127.0.0.1:5672",
    "opensearch": "127.0.0.1:9200",
}
URL_DEFAULTS = {
    "AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/",
    "MONGO_URL": "mongodb://127.0.0.1:27017/?directConnection=true",
    "OPENSEARCH_URL": "http://127.0.0.1:9200",
}


@dataclass(frozen=True)
class Link:
    client: str  # the package that opens the connections
    server: str  # an engine, or the participant's package
    variable: str  # the client's setting that holds the server's address (a URL)

    @property
    def name(self) -> str:
        return f"{self.client}->{self.server}"


def _links() -> tuple[Link, ...]:
    own_store = {
        "event_service": [("postgres", "EVENT_DATABASE_URL")],
        "reservation_service": [("mongo", "RESERVATION_MONGO_URL")],
        "payment_service": [("postgres", "PAYMENT_DATABASE_URL"), ("redis", "PAYMENT_REDIS_URL")],
        "analytics_service": [("opensearch", "ANALYTICS_OPENSEARCH_URL")],
        "event_store_service": [("mongo", "EVENT_STORE_MONGO_URL")],
        "saga_orchestrator": [
            ("postgres", "SAGA_DATABASE_URL"),
            ("event_service", "SAGA_EVENT_SERVICE_URL"),
            ("reservation_service", "SAGA_RESERVATION_SERVICE_URL"),
            ("payment_service", "SAGA_PAYMENT_SERVICE_URL"),
        ],
        "notification_service": [("mongo", "NOTIFICATION_MONGO_URL")],
    }
    # Every service publishes or consumes: each has its broker link, under the fleet-wide
    # AMQP_URL, which is why the proxied addresses are set per process and not per fleet.
    return tuple(
        Link(client, server, variable)
        for client, stores in own_store.items()
        for server, variable in [*stores, ("rabbitmq", "AMQP_URL")]
    )


LINKS: tuple[Link, ...] = _links()
LINK_NAMES: tuple[str, ...] = tuple(link.name for link in LINKS)


def _default_url(variable: str) -> str:
    for suffix, url in URL_DEFAULTS.items():
        if variable.endswith(suffix):
            return url
    raise KeyError(f"{variable}: no default address known")


def through(url: str, listen: str) -> str:
    """`url` with its host and port replaced by `listen` (host:port), user, path and query kept."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{listen}" if userinfo else listen))


class Toxiproxy:
    """Toxiproxy's HTTP API, the few calls the nemesis makes."""

    def __init__(self, url: str = API) -> None:
        self.http = httpx.Client(base_url=url, timeout=10)

    def _proxy(self, name: str) -> str:
        return f"/proxies/{quote(name, safe='')}"

    def answers(self) -> bool:
        try:
            return self.http.get("/version", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def put(self, name: str, upstream: str) -> str:
        """The proxy `name` to `upstream`, made or moved there; the address it listens on."""
        answer = self.http.get(self._proxy(name))
        if answer.status_code == 404:
            answer = self.http.post(
                "/proxies",
                json={"name": name, "listen": "127.0.0.1:0", "upstream": upstream, "enabled": True},
            )
        elif answer.json().get("upstream") != upstream:
            answer = self.http.post(self._proxy(name), json={"upstream": upstream})
        answer.raise_for_status()
        return str(answer.json()["listen"])

    def delete(self, name: str) -> None:
        answer = self.http.delete(self._proxy(name))
        if answer.status_code not in (204, 404):
            answer.raise_for_status()

    def names(self) -> list[str]:
        answer = self.http.get("/proxies")
        answer.raise_for_status()
        return list(answer.json())

    def add_toxic(self, proxy: str, toxic: dict[str, Any]) -> None:
        self.http.post(f"{self._proxy(proxy)}/toxics", json=toxic).raise_for_status()

    def remove_toxic(self, proxy: str, name: str) -> None:
        answer = self.http.delete(f"{self._proxy(proxy)}/toxics/{quote(name, safe='')}")
        if answer.status_code not in (204, 404):
            answer.raise_for_status()

    def close(self) -> None:
        self.http.close()


def ensure_server(api: Toxiproxy) -> None:
    """The toxiproxy-server up: `scripts/infra.sh up toxiproxy` when its API does not answer
    (built with `go install` the first time, into the cache folder)."""
    if api.answers():
        return
    env = {**os.environ, "TP4_DATA_DIR": os.environ.get("TP4_DATA_DIR", str(ROOT / ".data"))}
    subprocess.run(
        [str(ROOT / "scripts" / "infra.sh"), "up", "toxiproxy"],
        check=True,
        timeout=900,
        capture_output=True,
        env=env,
    )


def toxics_for(kind: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The toxics (Toxiproxy's JSON) that make fault `kind` with the schedule's `params`: one
    per direction it acts on ("downstream" is the server's answers, "upstream" the requests)."""
    streams = (
        ["upstream", "downstream"] if params.get("stream") == "both" else [params.get("stream", "downstream")]
    )
    attributes: dict[str, Any]
    if kind == "latency":
        attributes = {"latency": params["latency_ms"], "jitter": params["jitter_ms"]}
    elif kind == "partition":
        # Accepts, and lets nothing through: timeout 0 never closes the connection itself.
        # Taking the toxic off closes the connections it held (their bytes were dropped), as a
        # long partition leaves connections both ends have given up on.
        attributes = {"timeout": 0}
    elif kind == "reset":
        # The first bytes after `timeout` ms: the connection is closed with SO_LINGER 0, a RST.
        attributes = {"timeout": params["after_ms"]}
    elif kind == "slow-close":
        attributes = {"delay": params["delay_ms"]}
    elif kind == "bandwidth":
        attributes = {"rate": params["kb_per_second"]}
    else:
        raise ValueError(f"not a network fault: {kind}")
    return [
        {
            "name": f"nemesis-{kind}-{stream}",
            "type": TOXICS[kind],
            "stream": stream,
            "toxicity": 1.0,
            "attributes": attributes,
        }
        for stream in streams
    ]


class NetworkLinks:
    """One fleet's proxies: made before it starts (the fleet's processes get the proxied
    addresses), moved when its ports move, removed with it."""

    def __init__(self, fleet: Fleet, tag: str, api: Toxiproxy | None = None) -> None:
        self.fleet = fleet
        self.tag = tag
        self.api = api or Toxiproxy()
        self.listening: dict[str, str] = {}  # link name -> the proxy's host:port

    def proxy(self, link: str) -> str:
        client, _, server = link.partition("->")
        return f"{self.tag}.{client}-{server}"

    def upstream(self, link: Link) -> str:
        if link.server in BY_NAME:
            return f"127.0.0.1:{self.fleet.port(BY_NAME[link.server])}"
        url = self.fleet.service_env().get(link.variable)
        if not url:
            return ENGINE_DEFAULTS[link.server]
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port or ENGINE_DEFAULTS[link.server].rpartition(':')[2]}"

    def install(self) -> None:
        """Make (or move) every link's proxy and point each service's setting at it."""
        envs: dict[str, dict[str, str]] = {}
        settings = self.fleet.service_env()
        for link in LINKS:
            listen = self.api.put(self.proxy(link.name), self.upstream(link))
            self.listening[link.name] = listen
            if link.server in BY_NAME:
                url = f"http://{listen}"
            else:
                url = through(settings.get(link.variable) or _default_url(link.variable), listen)
            envs.setdefault(link.client, {})[link.variable] = url
        self.fleet.service_envs = envs

    def remove(self) -> None:
        for link in LINKS:
            with suppress(httpx.HTTPError):
                self.api.delete(self.proxy(link.name))
        self.listening.clear()
        self.fleet.service_envs = {}

    @contextmanager
    def injected(self, kind: str, link: str, params: dict[str, Any]) -> Iterator[None]:
        """Fault `kind` on `link` while the block runs; its toxics taken off afterwards."""
        if link not in self.listening:
            raise KeyError(f"{link}: not a link of this fleet")
        proxy = self.proxy(link)
        toxics = toxics_for(kind, params)
        added: list[str] = []
        try:
            for toxic in toxics:
                self.api.add_toxic(proxy, toxic)
                added.append(str(toxic["name"]))
            yield
        finally:
            for name in added:
                self.api.remove_toxic(proxy, name)
