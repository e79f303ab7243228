"""The FastAPI app every service is built on: errors, correlation ids, limits, CORS, probes."""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from opentelemetry import trace
from prometheus_client import generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import crashpoints, faults, tracing
from shared.callers import AUTH_CHECK_PATH, INTERNAL, PUBLIC, Caller, caller_of
from shared.errors import field_error
from shared.logging import CORRELATION_HEADER, correlation_id
from shared.metrics import Metrics
from shared.problem import install_error_handlers, problem
from shared.settings import ServiceSettings

log = logging.getLogger("access")

Check = Callable[[], Awaitable[Any]]
READY_TIMEOUT_SECONDS = 2.0
# What generate_latest writes: the text exposition format 0.0.4, said as such (recent
# prometheus_client releases label their output 1.0.0, which differs only in how it escapes
# non-ASCII metric names, and the fleet names none).
METRICS_MEDIA_TYPE = "text/plain; version=0.0.4"


def engine_down(scope: Scope, exc: BaseException) -> str | None:
    """The engine `exc` says cannot be reached, among those the service opened (its Wiring
    records each engine's errors in app.state.engine_down), or None."""
    app = scope.get("app")
    for errors, engine in getattr(getattr(app, "state", None), "engine_down", ()):
        if isinstance(exc, errors):
            return str(engine)
    return None


class RequestContext:
    """Pure ASGI middleware: correlation id, body size limit, access log and metrics, and a
    503 for a request whose database could not be reached."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(CORRELATION_HEADER.lower().encode()) or headers.get(b"x-request-id")
        cid = given.decode("latin-1")[:128] if given else str(uuid.uuid4())
        token = correlation_id.set(cid)
        # The request's span (shared/tracing.py) names the correlation id too: a trace found
        # in Zipkin leads to the log lines, and back.
        trace.get_current_span().set_attribute("correlation.id", cid)
        declared = headers.get(b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            await problem(
                413, "Payload too large", f"Request bodies are limited to {self.max_body_bytes} bytes."
            )(scope, receive, send)
            correlation_id.reset(token)
            return
        unstorable = unstorable_url(scope)
        if unstorable:
            fields = ", ".join(e["field"] for e in unstorable)
            await problem(422, "Validation failed", f"Invalid input: {fields}", errors=unstorable)(
                scope, receive, send
            )
            correlation_id.reset(token)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        status = 500
        started = False
        start = time.perf_counter()

        async def send_with_header(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                message.setdefault("headers", [])
                # Server-Timing (W3C): the time this service took until its answer started,
                # so a client (or a browser's devtools) can tell server work from the network.
                took = (time.perf_counter() - start) * 1000
                message["headers"] = [
                    *message["headers"],
                    (CORRELATION_HEADER.lower().encode(), cid.encode()),
                    (b"server-timing", f"app;dur={took:.3f}".encode()),
                ]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_header)
        except BodyTooLarge:
            await problem(
                413, "Payload too large", f"Request bodies are limited to {self.max_body_bytes} bytes."
            )(scope, receive, send)
            status = 413
        except Exception as exc:
            # The engine down, or the connection to it refused, reset or cut mid-request: the
            # request was sound, so 503 with Retry-After (the callers retry), not a 500 with
            # a traceback. An answer already begun cannot be taken back: that one propagates.
            engine = engine_down(scope, exc)
            if engine is None or started:
                raise
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            log.warning("%s cannot be reached: %s: %s", engine, type(exc).__name__, first)
            await problem(
                503,
                "Service unavailable",
                f"{engine} cannot be reached; retry shortly.",
                headers={"Retry-After": "1"},
            )(scope, receive, send_with_header)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], path, str(status)).inc()
            self.metrics.latency.labels(scope["method"], path).observe(elapsed)
            if path not in ("/health", "/metrics"):
                log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={"fields": {"status": status, "ms": round(elapsed * 1000, 2)}},
                )
            correlation_id.reset(token)


def unstorable_url(scope: Scope) -> list[dict[str, str]]:
    """Path and query values no engine can take, named: a NUL character (PostgreSQL text holds
    none), or bytes that are not UTF-8 (a lone surrogate's encoding among them). Refused here,
    for every route at once, before a filter reaches a store; bodies are checked by ApiInput."""
    errors = []
    if "\x00" in scope.get("path", ""):
        errors.append(field_error(_path_field(scope), "must not contain a NUL character"))
    # latin-1 both ways: each percent-decoded byte becomes one character, and back.
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, encoding="latin-1"):
        for part, text in (("name", name), ("value", value)):
            raw = text.encode("latin-1")
            try:
                decoded = raw.decode("utf-8")
            except UnicodeDecodeError:
                errors.append(field_error(f"query.{name[:64]}", f"the {part} is not UTF-8"))
                continue
            if "\x00" in decoded:
                errors.append(
                    field_error(f"query.{name[:64]}", f"the {part} must not contain a NUL character")
                )
    return errors


def _path_field(scope: Scope) -> str:
    """`path.<name>` of the path parameter that holds the NUL, as validation names a field,
    found through the app's documented path templates; `path` when none matches."""
    app = scope.get("app")
    templates = app.openapi().get("paths", {}) if isinstance(app, FastAPI) else {}
    for template in templates:
        found = compile_path(template)[0].match(scope.get("path", ""))
        for name, value in (found.groupdict() if found else {}).items():
            if "\x00" in value:
                return f"path.{name}"
    return "path"


class BodyTooLarge(StarletteHTTPException):
    # An HTTPException: FastAPI turns any other error raised while it reads the body into
    # "400 There was an error parsing the body"; this one it lets through, and the error
    # handlers render it as a 413 problem.
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request bodies are limited to {limit} bytes.")


def from_state(name: str) -> Any:
    """A route's dependency on what the lifespan put in `app.state.<name>` (the use cases, a
    cache): `UseCases = Annotated[Events, from_state("events")]`, then `events: UseCases`."""

    def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    return Depends(get)


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    routers: list[APIRouter],
) -> FastAPI:
    """A FastAPI app with the fleet's conventions; `lifespan` fills app.state.readiness."""
    # /docs and /redoc load Swagger UI and ReDoc from files installed with fastapi-offline,
    # served by the app itself: FastAPI's defaults load them from a CDN, a blank page offline.
    app = FastAPIOffline(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    faults.activate(settings.teaching_faults, settings.service_name)
    # Extra fields of GET /health (a service shows a setting a console should see).
    app.state.health_details = {}
    app.state.metrics = Metrics(settings.service_name)
    # name -> check; a check raises (or times out) when its engine cannot serve.
    app.state.readiness = {}
    # name -> check whose failure is reported but does not make the service unready.
    app.state.optional_checks = {}
    # (errors, engine name) of each engine the lifespan opened: a request that meets one of
    # those errors is answered 503 (RequestContext), as /ready reports the engine.
    app.state.engine_down = []
    install_error_handlers(app)
    for router in routers:
        app.include_router(router)
    app.include_router(_probes())
    if settings.cors_origins:
        # Explicit origins only: a wildcard with credentials would let any site act as the user.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials="*" not in settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    crashpoints.serving(settings.service_name)
    if crashpoints.active():
        # A test seam (shared/crashpoints.py), inside RequestContext: never mounted otherwise.
        app.add_middleware(crashpoints.CrashBeforeAnswer)
    app.add_middleware(RequestContext, metrics=app.state.metrics, max_body_bytes=settings.max_body_bytes)
    _declare_problem_answers(app)
    # Outermost: the request's span covers everything, the access log line included.
    tracing.instrument_app(app, settings)
    return app


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; 400/422 list each bad field in `errors`.",
    "required": ["title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "correlationId": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}
ERROR_ANSWERS = {
    "400": "Bad request",
    "404": "Not found",
    "409": "Conflict with the current state (version, status, availability)",
    "413": "Payload too large",
    "422": "Validation failed: each bad field is named",
    "500": "Internal error",
    "503": "An engine or a called service is unavailable",
}


def _declare_problem_answers(app: FastAPI) -> None:
    """Every business route may answer these errors, always as application/problem+json:
    say so in the OpenAPI document (FastAPI's default 422 schema is not what we send)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Problem"] = PROBLEM_SCHEMA
        problem_content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for route in api_routes(app.routes):
            kind = caller_of(route.dependencies)
            for method in route.methods or ():
                operation = schema.get("paths", {}).get(route.path, {}).get(method.lower())
                if operation is None:
                    continue
                # Who may call it (docs/security.md); a route that declares nothing says so.
                operation["x-caller"] = kind.value if kind else "undeclared"
                if kind in (Caller.INTERNAL, Caller.OPERATOR):
                    answers = operation.setdefault("responses", {})
                    answers.setdefault("401", {"description": "No token, or not one this service knows"})
                    answers.setdefault("403", {"description": "A token of another caller class"})
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if "probes" in operation.get("tags", []):
                    continue
                answers = operation.setdefault("responses", {})
                for code, text in ERROR_ANSWERS.items():
                    answers.setdefault(code, {"description": text})
                for code, answer in answers.items():
                    if code[:1] in ("4", "5"):
                        answer["content"] = problem_content
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """The APIRoutes of an app, through the routers it includes."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


async def _run_check(check: Check) -> str | None:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await check()
        return None
    except Exception as exc:  # any failure means "not ready", with its reason shown
        return f"{type(exc).__name__}: {exc}"[:300] or "failed"


def _fault_names(request: Request) -> list[str]:
    # Always present (empty in a real fleet), so a console or a script never guesses.
    return [fault.value for fault in request.app.state.settings.teaching_faults]


def _probes() -> APIRouter:
    router = APIRouter(tags=["probes"])

    @router.get("/health", dependencies=[PUBLIC])
    async def health(request: Request) -> dict[str, Any]:
        """Liveness: the process answers."""
        return {
            **request.app.state.health_details,
            "status": "ok",
            "service": request.app.state.settings.service_name,
            "teachingFaults": _fault_names(request),
        }

    @router.get("/ready", dependencies=[PUBLIC])
    async def ready(request: Request) -> JSONResponse:
        """Readiness: every engine the service needs answers a real request."""
        required: dict[str, Check] = request.app.state.readiness
        optional: dict[str, Check] = request.app.state.optional_checks
        names = [*required, *optional]
        results = await asyncio.gather(*(_run_check(c) for c in [*required.values(), *optional.values()]))
        checks = {
            name: ("up" if err is None else f"down: {err}") for name, err in zip(names, results, strict=True)
        }
        failed = [n for n, err in zip(names, results, strict=True) if err is not None and n in required]
        degraded = [n for n, err in zip(names, results, strict=True) if err is not None and n in optional]
        status = "ready" if not failed else "unavailable"
        if not failed and degraded:
            status = "degraded"
        body = {
            "status": status,
            "service": request.app.state.settings.service_name,
            "checks": checks,
            "teachingFaults": _fault_names(request),
        }
        return JSONResponse(body, status_code=503 if failed else 200)

    @router.get(AUTH_CHECK_PATH, status_code=204, dependencies=[INTERNAL])
    async def auth_check() -> Response:
        """204 when the bearer token is the fleet's SERVICE_TOKEN (401/403 when not); does
        nothing else. How a service asks a peer whether it accepts its token (shared/peers.py)."""
        return Response(status_code=204)

    @router.get(
        "/metrics",
        dependencies=[PUBLIC],
        response_class=Response,
        responses={
            200: {
                "description": "The service's metrics in Prometheus' text exposition format",
                "content": {METRICS_MEDIA_TYPE: {"schema": {"type": "string"}}},
            }
        },
    )
    async def metrics(request: Request) -> Response:
        """Prometheus metrics (text, not JSON)."""
        body = generate_latest(request.app.state.metrics.registry)
        return Response(body, media_type=f"{METRICS_MEDIA_TYPE}; charset=utf-8")

    return router
