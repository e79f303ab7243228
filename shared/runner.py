"""`python -m <service>`: run one service's app under uvicorn on its port."""

from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn

from shared.logging import configure_logging
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def serve(create_app: Callable[[S], Any], settings: S, *, graceful_shutdown: int = 10) -> None:
    """Serve the app made from `settings`; a stop waits at most `graceful_shutdown` seconds for
    open connections to finish."""
    configure_logging(settings.service_name, settings.log_level, settings.json_logs)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=graceful_shutdown,
        # No service speaks WebSocket (the console streams with server-sent events): without
        # this uvicorn loads a WebSocket library into every process.
        ws="none",
    )
