"""Per-request context (request id, client IP) available to services, audit events and logs."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)  # frozen: safe as a ContextVar default
class RequestContext:
    request_id: str = "-"
    ip: str | None = None


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("mlsec_request", default=RequestContext())  # noqa: B039


def current() -> RequestContext:
    return _current.get()


def activate(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)
