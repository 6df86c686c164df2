"""The drill's people, written straight into the drill's own databases.

    python -m tests.drill.seed diary PEOPLE.json --parents N --teachers T   (diary's env)
    python -m tests.drill.seed portal PEOPLE.json CLIENT_SECRET DIARY_URL   (portal's env)

``diary`` runs after ``flask --app diary_service seed``: it gives N of the region's
guardians and T of its teachers a SNILS (the diary keeps only its keyed hash, as for
anyone the school registered) and writes who they are to PEOPLE.json. ``portal`` then
makes each of them a citizen at the standard level whose SNILS the Social Fund approved,
so that signing in to the diary links the parent to their child and the teacher to
their classes, exactly as for a real family. A third of the parents have a TOTP second
factor; one in ten (``applies``) also has their child verified at the portal (ЗАГС and the
Social Fund approved, as after «Children»), so that the load can send the service
application «access to the electronic diary» for it. The password is hashed once and the hash reused: argon2 per citizen would take
longer than the drill.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

PASSWORD = "drill-harbour-lamp-2026"
SNILS_BASE = 300_000_000


def snils_of(n: int) -> str:
    """A SNILS with a valid checksum, distinct for each ``n`` (outside the simulator's
    reference population, which starts far lower)."""
    number = f"{SNILS_BASE + n:09d}"
    total = sum(int(d) * (9 - i) for i, d in enumerate(number))
    if total > 101:
        total %= 101
    check = 0 if total in (100, 101) else total
    return f"{number}{check:02d}"


def seed_diary(path: Path, parents: int, teachers: int) -> None:
    from diary_service import create_app
    from diary_service.auth.services import snils_index
    from diary_service.extensions import db
    from diary_service.models.family import Guardian
    from diary_service.models.school import StaffMember, StaffRole

    app = create_app()
    with app.app_context():
        key = app.config["BLIND_INDEX_KEY"]
        guardians = db.session.execute(
            sa.select(Guardian.id, Guardian.student_id, Guardian.family_name, Guardian.given_name)
            .where(Guardian.person_id.is_(None), Guardian.revoked_at.is_(None))
            .order_by(Guardian.id)
            .limit(parents)
        ).all()
        if len(guardians) < parents:
            sys.exit(
                f"the region has {len(guardians)} guardians; {parents} parents need a larger "
                "seed (DRILL_SCHOOLS)"
            )
        staff = db.session.execute(
            sa.select(StaffMember.id, StaffMember.family_name, StaffMember.given_name)
            .join(StaffRole, StaffRole.staff_id == StaffMember.id)
            .where(StaffRole.role == "teacher", StaffMember.person_id.is_(None))
            .order_by(StaffMember.id)
            .limit(teachers)
        ).all()
        people: dict[str, list[dict]] = {"parents": [], "teachers": []}
        for n, row in enumerate(guardians):
            snils = snils_of(n)
            db.session.execute(
                sa.update(Guardian)
                .where(Guardian.id == row.id)
                .values(snils_index=snils_index(snils, key))
            )
            people["parents"].append(
                {
                    "n": n,
                    "snils": snils,
                    "student_id": row.student_id,
                    "family_name": row.family_name,
                    "given_name": row.given_name,
                }
            )
        for m, row in enumerate(staff):
            n = parents + m
            snils = snils_of(n)
            db.session.execute(
                sa.update(StaffMember)
                .where(StaffMember.id == row.id)
                .values(snils_index=snils_index(snils, key))
            )
            people["teachers"].append(
                {
                    "n": n,
                    "snils": snils,
                    "staff_id": row.id,
                    "family_name": row.family_name,
                    "given_name": row.given_name,
                }
            )
        db.session.commit()
    path.write_text(json.dumps(people, ensure_ascii=False))


def seed_portal(path: Path, client_secret: str, diary_url: str) -> None:
    import pyotp

    from portal import create_app
    from portal.demo import demo_diary_client
    from portal.extensions import db
    from portal.family.models import Child, ParentLink
    from portal.identity.models import Citizen
    from portal.identity.passwords import hash_password
    from portal.oidc import services as oidc
    from portal.oidc.keys import ensure_keys
    from portal.oidc.models import OAuthClient, digest
    from portal.proofing.models import VerificationCheck
    from shared.crypto import pii, seal
    from tests.drill.stack import CLIENT_ID

    people = json.loads(path.read_text())
    app = create_app()
    with app.app_context():
        ensure_keys()
        if not db.session.execute(
            sa.select(OAuthClient.id).where(OAuthClient.client_id == CLIENT_ID)
        ).first():
            new = oidc.create_client(
                **demo_diary_client(CLIENT_ID, "Демонстрационная область", diary_url)
            )
            new.client.client_secret_hash = digest(client_secret)
            db.session.commit()
        password_hash = hash_password(PASSWORD)
        now = datetime.now(UTC).replace(tzinfo=None)
        everyone = [(p, "parent") for p in people["parents"]] + [
            (t, "teacher") for t in people["teachers"]
        ]
        batch = 500
        for start in range(0, len(everyone), batch):
            rows = []
            for person, role in everyone[start : start + batch]:
                n = person["n"]
                citizen = Citizen(
                    surname=person["family_name"],
                    given_name=person["given_name"],
                    phone=f"+7998{n:07d}",
                    phone_verified_at=now,
                    email=f"drill{n}@example.ru",
                    email_verified_at=now,
                    password_hash=password_hash,
                    level="standard",
                    gender="F",
                    birth_date=date(1985, 1, 1),
                    citizenship="RUS",
                )
                db.session.add(citizen)
                rows.append((citizen, person, role))
            db.session.flush()
            for citizen, person, role in rows:
                digits = person["snils"]
                seal(citizen, snils_encrypted=digits)
                citizen.snils_index = pii().blind_index(digits, field="snils")
                if role == "parent" and person["n"] % 3 == 0:
                    secret = pyotp.random_base32()
                    citizen.mfa_method = "totp"
                    seal(citizen, totp_secret_encrypted=secret)
                    person["totp"] = secret
                person["login"] = citizen.phone
                if role == "parent" and applies(person["n"]):
                    person["child"] = verified_child(db, Child, ParentLink, citizen, person, now)
                for kind, registry in (("snils", "sfr"), ("passport", "mvd")):
                    db.session.add(
                        VerificationCheck(
                            citizen_id=citizen.id,
                            kind=kind,
                            registry_code=registry,
                            status="approved",
                            sent_at=now,
                            answered_at=now,
                        )
                    )
            db.session.commit()
    people["password"] = PASSWORD
    path.write_text(json.dumps(people, ensure_ascii=False))


def applies(n: int) -> bool:
    """The parents who apply for diary access for a child (one in ten)."""
    return n % 10 == 1


def verified_child(db, child_model, link_model, parent, person: dict, now: datetime) -> str:
    """A child of ``parent`` that ЗАГС and the Social Fund confirmed: its public id."""
    from shared.crypto import pii, seal

    digits = snils_of(700_000 + person["n"])
    child = child_model(
        surname=person["family_name"],
        given_name="Дрилл",
        birth_date=date(2015, 9, 1),
        gender="M",
        snils_index=pii().blind_index(digits, field="snils"),
        certificate_details={"issue_date": "2015-09-10"},
        snils_verified_at=now,
        confirmed_at=now,
    )
    db.session.add(child)
    seal(child, snils_encrypted=digits, certificate_encrypted=f"IV-МЮ {500000 + person['n']}")
    db.session.add(link_model(parent_id=parent.id, child_id=child.id, relation_verified_at=now))
    return child.public_id


def main(argv: list[str]) -> None:
    what, path = argv[0], Path(argv[1])
    if what == "diary":
        seed_diary(path, int(argv[2]), int(argv[3]))
    elif what == "portal":
        seed_portal(path, argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
