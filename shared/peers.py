"""A service that calls other services' internal endpoints takes work only while it can do
it: it needs the fleet's SERVICE_TOKEN, and its peers must accept it (docs/security.md).

- No token at all: the service does not start (shared.settings.require_service_token,
  called by its create_app; shared/runner.py turns it into one log line and exit status 2).
  Every one of its internal calls would be refused: it would only take work it cannot finish.
- A token a peer refuses (401/403, tracked per peer by shared.http.ServiceClient): /ready
  answers 503 naming the peer (`Peers.check`), and `Peers.watch` asks the refusing peers again
  (`GET /auth/check`, which does nothing) with a doubling wait, so the service is ready again
  as soon as the tokens agree (one side restarted with the right token), without a restart
  of its own.
"""

import asyncio
import logging
from collections.abc import Iterable

from shared.forever import stop_if_cancelled
from shared.http import AUTH_CHECK_PATH, ServiceClient, ServiceUnreachable, TokenRefused
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)


class PeerRefusesToken(Exception):
    """A peer answered 401/403 to our token (the reason /ready shows)."""


class Peers:
    """The clients of the services this one calls, and whether they accept its token."""

    def __init__(self, clients: Iterable[ServiceClient], settings: ServiceSettings) -> None:
        self.clients = list(clients)
        self.first_wait = settings.token_retry_seconds
        self.max_wait = settings.token_retry_max_seconds

    def refused(self) -> str | None:
        """Why this service takes no work now (a peer refuses its token), or None."""
        # dict: once per peer (clients may share a base URL)
        reasons = list(dict.fromkeys(c.refused for c in self.clients if c.refused is not None))
        if not reasons:
            return None
        # Short: /ready shows the first 300 characters of a check's failure.
        return (
            f"our SERVICE_TOKEN is refused ({'; '.join(reasons)}); fix: the tokens of "
            ".data/tokens.env for every service, `.venv/bin/fleet restart`"
        )

    async def check(self) -> None:
        """The readiness check: fails while a peer refuses our token."""
        if (reason := self.refused()) is not None:
            raise PeerRefusesToken(reason)

    async def _ask(self, clients: list[ServiceClient]) -> None:
        for client in clients:
            try:
                # Connection: close: a probe leaves no idle keep-alive connection in the pool.
                # A call sent later on such a connection while the peer is stopped (SIGSTOP, a
                # stalled host) can be dropped when the peer resumes: its keep-alive timer,
                # overdue, closes the connection before it reads the call.
                await client.request("GET", AUTH_CHECK_PATH, retries=0, headers={"Connection": "close"})
            except (ServiceUnreachable, TokenRefused):
                pass  # silence proves nothing; a refusal was noted by the client itself

    async def watch(self) -> None:
        """Ask every peer once at start (a wrong token shows before any work is taken), then
        ask the refusing ones again, waiting twice as long each time up to the cap."""
        await self._ask(self.clients)
        wait = self.first_wait
        while True:
            stop_if_cancelled()
            refusing = [c for c in self.clients if c.refused is not None]
            if not refusing:
                wait = self.first_wait
                await asyncio.sleep(self.first_wait)
                continue
            log.warning("%s; asking again in %.1f s", self.refused(), wait)
            await asyncio.sleep(wait)
            await self._ask(refusing)
            wait = min(wait * 2, self.max_wait)
