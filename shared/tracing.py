"""The request id: one value that follows a request from the diary to the portal and
into the jobs it queues, so their log lines can be put side by side.

- An incoming ``X-Request-ID`` is taken only when it is well formed (``is_valid``:
  8–128 characters of letters, digits and ``._:-``); anything else, or none, gets a new
  random id. The answer carries it back in the same header.
- Every outgoing HTTP call the apps make adds ``outgoing_headers()``: the diary's calls
  to the portal through Authlib (``TracedOAuth2App``), the federation messages, the
  back-channel logouts, the registry requests and the SMS gateway.
- A job carries it in its Celery message headers (``JOB_HEADER``, set and read by
  ``shared.jobs``), so the worker's log lines name the request that queued the job.

The value lives in a context variable: each request (a gunicorn thread) and each job
sees its own, and log records pick it up (``shared.logs``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from authlib.integrations.flask_client.apps import FlaskOAuth2App
from authlib.integrations.requests_client import OAuth2Session

HEADER = "X-Request-ID"
JOB_HEADER = "x_request_id"  # the key in a Celery message's headers
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{8,128}")


@dataclass(frozen=True, slots=True)
class Context:
    """What a log line says about where it comes from."""

    request_id: str | None = None
    app: str | None = None
    job: str | None = None


_current: ContextVar[Context | None] = ContextVar("observability_context", default=None)


def new_request_id() -> str:
    return secrets.token_hex(16)


def is_valid(value: str | None) -> bool:
    return bool(value) and _WELL_FORMED.fullmatch(value) is not None


def accept(value: str | None) -> str:
    """The incoming id when it is well formed, a new one otherwise: a client cannot put
    arbitrary text (or a megabyte) into every log line."""
    return value if value is not None and is_valid(value) else new_request_id()


def current() -> Context | None:
    return _current.get()


def current_request_id() -> str | None:
    context = _current.get()
    return context.request_id if context is not None else None


def outgoing_headers() -> dict[str, str]:
    """The header to add to an outgoing HTTP call: empty outside a request or job."""
    request_id = current_request_id()
    return {HEADER: request_id} if request_id else {}


@contextmanager
def bound(
    request_id: str | None, app: str | None = None, job: str | None = None
) -> Iterator[Context]:
    """Run the block as part of ``request_id`` (and ``app``, ``job``); restored after."""
    context = Context(request_id, app, job)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def set_current(context: Context | None):
    """Bind ``context`` until ``reset(token)`` (the WSGI middleware's pair of calls)."""
    return _current.set(context)


def reset(token) -> None:
    _current.reset(token)


# --- the diary's Authlib client ----------------------------------------------------------


class TracedOAuth2Session(OAuth2Session):
    """Authlib's requests session, adding the request id to every call: discovery, JWKS,
    the token endpoint and userinfo all go through ``request``."""

    def request(self, method, url, *args, **kwargs):
        extra = outgoing_headers()
        if extra:
            kwargs["headers"] = {**(kwargs.get("headers") or {}), **extra}
        return super().request(method, url, *args, **kwargs)


class TracedOAuth2App(FlaskOAuth2App):
    """Authlib's Flask client whose sessions carry the request id
    (``oauth.register(..., client_cls=TracedOAuth2App)``)."""

    client_cls = TracedOAuth2Session
