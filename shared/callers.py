"""Who may call a route: every route declares its caller class next to its decorator
(`dependencies=[callers.PUBLIC]`, `[callers.INTERNAL]` or `[callers.OPERATOR]`), and
docs/security.md lists them all in one table (a test compares it with the OpenAPI documents).

- public: open to anyone (the handout's scenarios);
- internal: only the fleet's own calls, `Authorization: Bearer <SERVICE_TOKEN>`;
- operator: repairs by hand, `Authorization: Bearer <OPERATOR_TOKEN>`.

No token or an unknown one is a 401; the other class's token is a 403 (it is a known caller,
on the wrong door). Tokens are compared in constant time and never logged; a service with no
token configured refuses every guarded call (it fails closed).
"""

import hmac
from enum import StrEnum
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.exceptions import HTTPException

# Every service answers it (shared/web.py): 204 when the bearer token is the fleet's
# SERVICE_TOKEN, 401/403 if not, and does nothing else: how a service asks a peer whether it
# accepts its token (shared/peers.py).
AUTH_CHECK_PATH = "/auth/check"


class Caller(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    OPERATOR = "operator"


# auto_error=False: a missing or malformed header is answered by check() as a problem.
_bearer = HTTPBearer(auto_error=False, description="SERVICE_TOKEN (internal) or OPERATOR_TOKEN (operator)")


def _matches(given: str, expected: SecretStr | None) -> bool:
    if expected is None or not expected.get_secret_value():
        return False
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


def _refused(status: int, detail: str) -> HTTPException:
    return HTTPException(status, detail, headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)


def _guard(kind: Caller) -> Any:
    async def check(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> None:
        settings = request.app.state.settings
        given = credentials.credentials if credentials else ""
        own, other = (
            (settings.service_token, settings.operator_token)
            if kind is Caller.INTERNAL
            else (settings.operator_token, settings.service_token)
        )
        if given and _matches(given, own):
            return
        if given and _matches(given, other):
            raise _refused(403, f"This endpoint is {kind.value}: the token is for another caller class.")
        raise _refused(401, f"This endpoint is {kind.value}: it needs `Authorization: Bearer <token>`.")

    check.caller = kind  # type: ignore[attr-defined]
    return check


async def _public() -> None:
    """Open to anyone."""


_public.caller = Caller.PUBLIC  # type: ignore[attr-defined]

PUBLIC = Depends(_public)
INTERNAL = Depends(_guard(Caller.INTERNAL))
OPERATOR = Depends(_guard(Caller.OPERATOR))


def caller_of(dependencies: list[Any]) -> Caller | None:
    """The caller class a route declared among its dependencies (None: it declared none)."""
    for dependency in dependencies:
        kind = getattr(getattr(dependency, "dependency", None), "caller", None)
        if isinstance(kind, Caller):
            return kind
    return None
