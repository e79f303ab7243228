"""A service's broker treats the errors of the engines its wiring opened as "engine down"
(the consumer waits instead of spending a message's retries), without each app naming them:
shared/wiring.py adds them as each engine is opened. No engine is reached here: a MongoDB
client connects on first use."""

from fastapi import FastAPI
from pymongo.errors import ConnectionFailure

from shared import mongo
from shared.metrics import Metrics
from shared.settings import ServiceSettings
from shared.wiring import wired


class RedisLikeDown(Exception):
    pass


def bare_app() -> FastAPI:
    # What shared.web.create_service_app puts on app.state before the lifespan runs.
    app = FastAPI()
    app.state.metrics = Metrics("wiring-test")
    app.state.readiness = {}
    app.state.optional_checks = {}
    app.state.engine_down = []
    return app


async def test_the_broker_knows_the_errors_of_the_engines_opened_before_it_and_the_ones_named():
    settings = ServiceSettings()
    app = bare_app()
    async with wired(app) as wire:
        wire.mongodb("mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=10", "scratch")
        broker = wire.broker(settings, engine_down=(RedisLikeDown,))
        assert set(mongo.ENGINE_DOWN) <= set(broker.engine_down)
        assert broker.engine_unreachable(ConnectionFailure("mongod went away"))
        assert broker.engine_unreachable(RedisLikeDown())
        assert not broker.engine_unreachable(ValueError("a bad message"))


async def test_a_broker_with_no_engine_opened_treats_an_engine_error_as_the_messages_fault():
    settings = ServiceSettings()
    app = bare_app()
    async with wired(app) as wire:
        broker = wire.broker(settings)
        assert not broker.engine_unreachable(ConnectionFailure("not this service's engine"))
