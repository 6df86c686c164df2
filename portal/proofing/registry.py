"""The client side of the registries' protocol (docs/architecture.md, "Portal ↔ registries"): signed JSON
requests; the answers come back as signed callbacks to ``/registry-callbacks``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from flask import current_app

from portal.metrics import REGISTRY_REQUESTS
from shared.signing import sign
from shared.tracing import outgoing_headers


class RegistryUnavailable(RuntimeError):
    """The registry did not take the request (down, timing out, 5xx): try again later."""


class RegistryRefused(RuntimeError):
    """The registry refused the request itself (4xx): a bug or a configuration error."""


def callback_url() -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + "/registry-callbacks"


def submit(registry: str, request_id: str, subject: dict) -> None:
    cfg = current_app.config
    body, headers = sign(
        cfg["REGISTRY_KEY"],
        {"request_id": request_id, "callback_url": callback_url(), "subject": subject},
    )
    url = f"{cfg['REGISTRY_URL'].rstrip('/')}/registries/{registry}/requests"
    headers.update(outgoing_headers())
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=float(cfg["REGISTRY_TIMEOUT"])) as resp:  # noqa: S310
            json.load(resp)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            REGISTRY_REQUESTS.labels(registry, "unavailable").inc()
            raise RegistryUnavailable(f"{registry} answered {exc.code}") from exc
        REGISTRY_REQUESTS.labels(registry, "refused").inc()
        raise RegistryRefused(f"{registry} refused the request: {exc.code}") from exc
    except (OSError, ValueError) as exc:  # refused, reset, timed out, not JSON
        REGISTRY_REQUESTS.labels(registry, "unavailable").inc()
        raise RegistryUnavailable(f"{registry} unreachable: {type(exc).__name__}") from exc
    REGISTRY_REQUESTS.labels(registry, "accepted").inc()
