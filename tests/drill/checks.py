"""Citizens whose SNILS and passport go to the registries during the registry-down
scenario of the drill (``tests.drill.run``), in the portal's environment:

    python -m tests.drill.checks start CHECKS.json COUNT

Each is made like a person registering (the service functions, with one password hash
for all), then sends a SNILS and a passport: the checks leave as jobs while the
registries are down, must wait, and must finish once they are back.
"""

from __future__ import annotations

import sys
from datetime import date

from tests.drill.seed import PASSWORD, snils_of


def start(count: int) -> None:
    from portal import create_app
    from portal.extensions import db
    from portal.identity.models import Citizen
    from portal.identity.passwords import hash_password
    from portal.identity.services import Origin
    from portal.proofing import services as proofing

    app = create_app()
    with app.app_context():
        origin = Origin(ip="drill", user_agent="drill")
        password_hash = hash_password(PASSWORD)
        for n in range(count):
            citizen = Citizen(
                surname="Проверкина",
                given_name="Анна",
                phone=f"+7997{n:07d}",
                email=f"checks{n}@example.ru",
                password_hash=password_hash,
            )
            db.session.add(citizen)
            db.session.commit()
            proofing.update_profile(
                citizen,
                {
                    "surname": "Проверкина",
                    "given_name": "Анна",
                    "gender": "F",
                    "birth_date": date(1984, 5, 1),
                    "birth_place": "г. Москва",
                    "registration_address": "г. Москва",
                },
                origin,
            )
            proofing.set_snils(citizen, snils_of(900_000 + n), origin)
            proofing.set_passport(
                citizen,
                {
                    "series": "4510",
                    "number": f"{100000 + n:06d}",
                    "issue_date": date(2005, 6, 1),
                    "issuer": "ОВД",
                    "issuer_code": "770-001",
                },
                origin,
            )


if __name__ == "__main__":
    if sys.argv[1:2] != ["start"]:
        sys.exit(__doc__)
    start(int(sys.argv[3]))
