"""The population and the Post's letters as testers look them up in the console."""

from __future__ import annotations

import sqlalchemy as sa

from portal.simulator.models import db
from portal.simulator.registries.models import (
    BirthCertificate,
    Passport,
    Person,
    RegistryRequest,
)
from portal.simulator.registries.services import NON_DIGITS, list_requests, normalize_name


def find_people(
    snils: str | None = None,
    surname: str | None = None,
    passport: str | None = None,
    limit: int = 50,
) -> list[Person]:
    """People by SNILS (digits, a prefix is enough), surname prefix, or passport
    series+number prefix; with nothing given, the first people of the population."""
    limit = max(1, min(limit, 500))
    query = sa.select(Person).order_by(Person.surname, Person.given_name, Person.id)
    if snils:
        digits = NON_DIGITS.sub("", snils)
        query = query.where(Person.snils.startswith(digits or "-", autoescape=True))
    if passport:
        digits = NON_DIGITS.sub("", passport) or "-"
        owners = sa.select(Passport.person_id).where(
            (Passport.series + Passport.number).startswith(digits, autoescape=True)
        )
        query = query.where(Person.id.in_(owners))
    if surname:
        # SQLite compares only ASCII letters case-insensitively: match Cyrillic here.
        wanted = normalize_name(surname)
        ids = [
            row.id
            for row in db.session.execute(sa.select(Person.id, Person.surname))
            if normalize_name(row.surname).startswith(wanted)
        ]
        query = query.where(Person.id.in_(ids))
    return list(db.session.execute(query.limit(limit)).scalars())


def parsed_search(text: str) -> dict[str, str]:
    """The console's single search box: digits are a SNILS or a passport, else a surname."""
    text = (text or "").strip()
    digits = NON_DIGITS.sub("", text)
    if not text:
        return {}
    if len(digits) >= 3 and len(digits) >= len(text.replace(" ", "").replace("-", "")):
        return {"snils": digits} if len(digits) != 10 else {"passport": digits}
    return {"surname": text}


def children_of(people: list[Person]) -> dict[int, list[BirthCertificate]]:
    """Birth certificates naming each of ``people`` as mother or father."""
    ids = [p.id for p in people]
    result: dict[int, list[BirthCertificate]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = db.session.execute(
        sa.select(BirthCertificate).where(
            sa.or_(BirthCertificate.mother_id.in_(ids), BirthCertificate.father_id.in_(ids))
        )
    ).scalars()
    for certificate in rows:
        for parent_id in (certificate.mother_id, certificate.father_id):
            if parent_id in result:
                result[parent_id].append(certificate)
    return result


def count_people() -> int:
    return db.session.execute(sa.select(sa.func.count(Person.id))).scalar_one()


def list_letters(recipient: str | None = None, limit: int = 200) -> list[RegistryRequest]:
    """Registered letters (the Post's requests), newest first; ``recipient`` finds by name."""
    letters = list_requests("post", limit=limit)
    if recipient:
        wanted = normalize_name(recipient)
        letters = [
            letter
            for letter in letters
            if wanted in normalize_name(letter.subject.get("recipient"))
        ]
    return letters
