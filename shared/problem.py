"""The web layer's rendering of errors as application/problem+json (RFC 9457): AppError
subclasses, FastAPI's validation errors and Starlette's HTTP errors. (A database that cannot
be reached is answered 503 by shared.web.RequestContext, which knows the service's engines.)"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from shared.errors import AppError, field_error
from shared.logging import current_correlation_id

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# nginx's "client closed request": the access log shows the client left, not a server fault.
CLIENT_GONE = 499


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "correlationId": current_correlation_id(),
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    # ("body", "bookingDetails", "seats") -> "bookingDetails.seats"; query/path keep their name.
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        message = str(err.get("msg", "invalid value"))
        errors.append(field_error(_field_name(tuple(err.get("loc", ()))), message))
    return errors


def install_error_handlers(app: FastAPI) -> None:
    async def on_app_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        if exc.status >= 500:
            log.error("request failed: %s", exc.detail)
        return problem(exc.status, exc.title, exc.detail, errors=exc.errors, extra=exc.extra)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = validation_errors(exc)
        fields = ", ".join(e["field"] for e in errors)
        return problem(422, "Validation failed", f"Invalid input: {fields}", errors=errors)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        titles = {
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not found",
            405: "Method not allowed",
            413: "Payload too large",
        }
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "Error"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    async def on_client_gone(_: Request, exc: Exception) -> Response:
        # The caller closed the connection before its request was read (it timed out, or the
        # link was cut): no one is left to answer, and nothing failed here.
        log.info("the client went away before its request was read")
        return Response(status_code=CLIENT_GONE)

    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "Internal error", "The server failed to handle the request.")

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(ClientDisconnect, on_client_gone)
    app.add_exception_handler(Exception, on_unexpected)
