"""The registries' machine side: the protocol endpoint the portal calls, and a JSON API
for testers' scripts and tests. Neither uses cookies, so neither carries CSRF tokens.

Protocol (the portal): ``POST /registries/<registry>/requests`` with a signed body, see
"Portal ↔ registries" in docs/architecture.md. 202 accepted, 200 the same request again, 401
``invalid_signature``, 400 ``invalid_request``, 404 unknown registry, 503
``registry_unavailable`` when a tester put the registry down.

JSON API (registry: ``sfr``, ``mvd``, ``zags``, ``post``; errors are
``{"error", "error_description"}`` with 400, or 404 for an unknown registry, request or
override):

- ``GET /api/registries/<registry>/requests[?status=pending|held|answered&limit=N]`` →
  ``{"requests": [{"request_id", "registry", "callback_url", "subject", "status",
  "outcome", "reason", "reason_text", "received_at", "due_at", "answered_at",
  "deliveries": [{"callback_id", "outcome", "attempts", "next_attempt_at",
  "delivered_at", "last_error"}]}]}``, newest first.
- ``GET /api/registries/<registry>/requests/<request_id>`` → ``{"request": {…}}``.
- ``POST /api/registries/<registry>/requests/<request_id>/decision``
  ``{"outcome": "approved"|"rejected"|"held", "reason": "<code>", "reason_text": "…"}`` →
  ``{"request": {…}}``. Approve or reject is answered at once (on the dispatcher's next
  pass, or ``POST /api/dispatch``); deciding an answered request sends a new answer.
  ``reason`` defaults to ``other``, ``reason_text`` to the reason's standard Russian text.
- ``GET /api/registries/<registry>/rule`` →
  ``{"rule": {"registry", "default_outcome", "reason", "reason_text", "delay_seconds", "down"}}``;
  ``PUT`` the same fields (any subset; the others keep their values):
  ``default_outcome`` auto|approve|reject|hold, ``delay_seconds`` 0–86400,
  ``down`` none|error|timeout.
- ``GET /api/registries/<registry>/overrides`` → ``{"overrides": [{"key", "outcome", "reason",
  "reason_text"}]}``; ``POST`` ``{"key", "outcome": "approve"|"reject"|"hold", "reason",
  "reason_text"}`` → 201 (or 200 when it replaced one) ``{"override": {…}}``. Keys: SNILS
  (sfr), passport series+number (mvd, ``4510123456``), certificate ``series number`` (zags,
  ``IV-МЮ 512345``), letter code (post); spaces and dashes are allowed where people type them.
- ``DELETE /api/registries/<registry>/overrides/<key>`` → 204 (404 if there is none);
  ``DELETE /api/registries/<registry>/overrides`` → 204, all of them.
- ``GET /api/population?snils=…|surname=…|passport=…[&limit=N]`` → ``{"people": [{"surname",
  "given_name", "patronymic", "gender", "birth_date", "snils", "passports": [{"series",
  "number", "issue_date", "issuer_code", "status"}], "birth_certificate": {…} | null,
  "children": [<birth certificates naming the person as a parent>]}]}``.
- ``POST /api/population`` ``{"size": N, "seed": S, "reset": false}`` → ``{"created", "people"}``
  (does nothing while a population exists, unless ``reset``).
- ``GET /api/post/letters[?recipient=…]`` → ``{"letters": [{"request_id", "code", "recipient",
  "address", "received_at", "status"}]}``, newest first.
- ``POST /api/dispatch`` → ``{"delivered": N}``: issue due answers and deliver them now.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext

from portal.simulator.registries import lookup, rules, services
from portal.simulator.registries.dispatcher import dispatch_due
from portal.simulator.registries.population import DEFAULT_SEED, generate_population
from shared.errors import DomainError, ValidationError
from shared.signing import SignatureError, verify
from shared.web import int_arg

bp = Blueprint("registries_api", __name__)


def _error(status: int, code: str, description: str):
    return jsonify(error=code, error_description=description), status


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    # The protocol endpoint is outside /api/ but answers JSON whatever the Accept header.
    return _error(error.status, error.code, error.message)


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(gettext("The body must be a JSON object."))
    return data


def _limit(default: int = 200) -> int:
    return int_arg("limit", default) or default


# --- the protocol ---------------------------------------------------------------------


@bp.post("/registries/<registry>/requests")
def receive_request(registry: str):
    services.require_registry(registry)
    down = services.get_rule(registry).down
    if down != "none":
        if down == "timeout":
            time.sleep(float(current_app.config["REGISTRY_TIMEOUT_SLEEP"]))
        return _error(503, "registry_unavailable", "the registry is down (simulated)")
    try:
        payload = verify(current_app.config["REGISTRY_KEY"], request.get_data(), request.headers)
    except SignatureError as exc:
        return _error(401, "invalid_signature", str(exc))
    record, created = services.receive_request(registry, payload)
    return jsonify(request_id=record.request_id, status="accepted"), 202 if created else 200


# --- the JSON API -------------------------------------------------------------------


@bp.get("/api/registries/<registry>/requests")
def list_requests(registry: str):
    records = services.list_requests(registry, request.args.get("status") or None, _limit())
    return jsonify(requests=[r.as_dict() for r in records])


@bp.get("/api/registries/<registry>/requests/<request_id>")
def get_request(registry: str, request_id: str):
    return jsonify(request=services.get_request(registry, request_id).as_dict())


@bp.post("/api/registries/<registry>/requests/<request_id>/decision")
def decide(registry: str, request_id: str):
    data = _body()
    record = services.decide(
        registry, request_id, data.get("outcome"), data.get("reason"), data.get("reason_text")
    )
    return jsonify(request=record.as_dict())


@bp.get("/api/registries/<registry>/rule")
def get_rule(registry: str):
    return jsonify(rule=services.get_rule(registry).as_dict())


@bp.put("/api/registries/<registry>/rule")
def put_rule(registry: str):
    return jsonify(rule=rules.set_rule(registry, **_body()).as_dict())


@bp.get("/api/registries/<registry>/overrides")
def list_overrides(registry: str):
    return jsonify(overrides=[o.as_dict() for o in rules.list_overrides(registry)])


@bp.post("/api/registries/<registry>/overrides")
def add_override(registry: str):
    data = _body()
    override, created = rules.set_override(
        registry, data.get("key"), data.get("outcome"), data.get("reason"), data.get("reason_text")
    )
    return jsonify(override=override.as_dict()), 201 if created else 200


@bp.delete("/api/registries/<registry>/overrides")
def clear_overrides(registry: str):
    rules.clear_overrides(registry)
    return "", 204


@bp.delete("/api/registries/<registry>/overrides/<key>")
def delete_override(registry: str, key: str):
    rules.delete_override(registry, key)
    return "", 204


@bp.get("/api/population")
def population():
    people = lookup.find_people(
        snils=request.args.get("snils"),
        surname=request.args.get("surname"),
        passport=request.args.get("passport"),
        limit=_limit(50),
    )
    children = lookup.children_of(people)
    return jsonify(
        people=[{**p.as_dict(), "children": [c.as_dict() for c in children[p.id]]} for p in people]
    )


@bp.post("/api/population")
def generate():
    data = _body()
    size = data.get("size", current_app.config["POPULATION_SIZE"])
    seed = data.get("seed", current_app.config.get("POPULATION_SEED", DEFAULT_SEED))
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (size, seed)) or not (
        0 <= size <= 100_000
    ):
        raise ValidationError(gettext("size (0–100000) and seed must be whole numbers."))
    created = generate_population(size, seed, reset=data.get("reset") is True)
    return jsonify(created=created, people=lookup.count_people())


@bp.get("/api/post/letters")
def letters():
    records = lookup.list_letters(request.args.get("recipient"), _limit())
    return jsonify(
        letters=[
            {
                "request_id": r.request_id,
                "code": r.subject.get("code"),
                "recipient": r.subject.get("recipient"),
                "address": r.subject.get("address"),
                "received_at": r.as_dict()["received_at"],
                "status": r.status,
            }
            for r in records
        ]
    )


@bp.post("/api/dispatch")
def dispatch():
    return jsonify(delivered=dispatch_due())
