"""Data the portal's tests make again and again: the registries' demo people (Maria and
Sergey) and their documents, a standard account made through the real registries, and
waiting for what the live servers commit."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import date

import sqlalchemy as sa

from portal.extensions import db
from portal.family import services as family
from portal.identity.models import Citizen
from portal.identity.security_log import Origin
from portal.proofing import checks, services

ORIGIN = Origin(ip="127.0.0.1", user_agent="pytest")
MARIA = {
    "surname": "Иванова",
    "given_name": "Мария",
    "patronymic": "Петровна",
    "gender": "F",
    "birth_date": date(1985, 3, 14),
    "birth_place": "г. Москва",
    "citizenship": "RUS",
    "registration_address": "г. Москва, ул. Тверская, д. 1, кв. 1",
}
MARIA_PASSPORT = {
    "series": "45 10",
    "number": "123456",
    "issue_date": date(2005, 4, 1),
    "issuer": "ОВД района Пресненский",
    "issuer_code": "770001",
}
SERGEY = {
    **MARIA,
    "surname": "Петров",
    "given_name": "Сергей",
    "patronymic": "Николаевич",
    "gender": "M",
    "birth_date": date(1982, 11, 30),
}
SERGEY_PASSPORT = {
    **MARIA_PASSPORT,
    "series": "4507",
    "number": "654321",
    "issue_date": date(2002, 12, 15),
    "issuer_code": "770-002",
}


def api(registries_url: str, method: str, path: str, payload: dict | None = None) -> dict:
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(
        f"{registries_url}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = resp.read()
    return json.loads(body) if body else {}


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        db.session.commit()  # see what the live servers committed
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def status(citizen, kind) -> str | None:
    check = checks.latest_check(citizen.id, kind)
    return check.status if check else None


def level(citizen) -> str:
    """The citizen's level as committed now. Reading ``citizen.id`` after a commit reloads
    the whole (expired) object first, and on PostgreSQL the next statement may already
    see a newer level than that reload did: the object is expired again so that the test
    never goes on with the older level in it (``add_child`` then refused a citizen this
    had just seen standard)."""
    found = db.session.execute(
        sa.select(Citizen.level).where(Citizen.id == citizen.id)
    ).scalar_one()
    db.session.expire(citizen)
    return found


def make_standard(
    make_citizen, profile=MARIA, snils="112-233-445 95", passport=MARIA_PASSPORT, **contact
):
    citizen = make_citizen(surname=profile["surname"], given_name=profile["given_name"], **contact)
    services.update_profile(citizen, profile, ORIGIN)
    services.set_snils(citizen, snils, ORIGIN)
    services.set_passport(citizen, passport, ORIGIN)
    assert wait_for(lambda: level(citizen) == "standard"), (
        status(citizen, "snils"),
        status(citizen, "passport"),
    )
    return citizen


def verified(parent) -> list[str]:
    """The names of the parent's verified children, as committed now."""
    db.session.commit()
    return [child.full_name for child in family.verified_children(parent)]
