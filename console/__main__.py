import uvicorn

from console.app import create_app
from console.settings import ConsoleSettings
from shared.logging import configure_logging

if __name__ == "__main__":
    settings = ConsoleSettings()
    configure_logging(settings.service_name, settings.log_level, settings.json_logs)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # Open pages hold a stream each: a stop does not wait for them to be closed.
        timeout_graceful_shutdown=1,
    )
