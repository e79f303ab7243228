"""`python -m <service>`: run one service's app under uvicorn on its port."""

import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn

from shared.logging import configure_logging
from shared.settings import MissingServiceToken, ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def serve(create_app: Callable[[S], Any], settings: S, *, graceful_shutdown: int = 10) -> None:
    """Serve the app made from `settings`; a stop waits at most `graceful_shutdown` seconds for
    open connections to finish."""
    configure_logging(settings.service_name, settings.log_level, settings.json_logs)
    try:
        app = create_app(settings)
    except MissingServiceToken as exc:
        # One line saying what is missing and how to fix it, not a traceback.
        logging.getLogger(settings.service_name).critical("%s", exc)
        sys.exit(2)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=graceful_shutdown,
        # No service speaks WebSocket (the console streams with server-sent events): without
        # this uvicorn loads a WebSocket library into every process.
        ws="none",
    )
