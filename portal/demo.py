"""``flask --app portal seed``: the demo citizens of the README (idempotent).

Their profiles and documents match people of the simulator's reference population, so
their checks go to the registries like anyone's: Мария, Сергей, Ольга, Алиса (a student
of 15), Николай (a school administrator), Елена (the education department), Вера (a
school nurse), Галина (Мария's mother, who becomes a trusted person for Пётр) and Тимур
(whose son's school has no SNILS for him: he applies through the catalog) become
*standard* within seconds of `make run`; Анна's passport is registered as lost and is
refused, which shows a rejection with its reason. The demo diaries
(``flask --app diary_service seed --region 1`` and ``--region 2``) know the same people
by their SNILS.

The two demo regions' diaries are registered as clients with embedded-default secrets:
«Демонстрационная область» (127.0.0.1:8001) with ``DEMO_DIARY_CLIENT_SECRET``, which the
diary's development configuration shares, and «Заречная область» (127.0.0.1:8003, where
Алиса studies) with ``DEMO_DIARY_REGION_2_CLIENT_SECRET``, which ``make run`` gives the
second diary (shared/devstack.py).
"""

from __future__ import annotations

from datetime import date

import click
import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.identity import services as identity
from portal.identity.models import Citizen, Operator
from portal.oidc import services as oidc
from portal.oidc.models import OAuthClient, digest
from portal.proofing import services as proofing

MOSCOW = "г. Москва, ул. Тверская, д. 1, кв. 1"
DEMO_CITIZENS = [
    {
        "surname": "Иванова",
        "given_name": "Мария",
        "patronymic": "Петровна",
        "phone": "+79160000001",
        "email": "maria.ivanova@example.ru",
        "password": "Demo-Parent-2026",
        "gender": "F",
        "birth_date": date(1985, 3, 14),
        "snils": "112-233-445 95",
        "passport": {
            "series": "4510",
            "number": "123456",
            "issue_date": date(2005, 4, 1),
            "issuer": "ОВД района Пресненский г. Москвы",
            "issuer_code": "770-001",
        },
    },
    {
        "surname": "Петров",
        "given_name": "Сергей",
        "patronymic": "Николаевич",
        "phone": "+79160000002",
        "email": "sergey.petrov@example.ru",
        "password": "Demo-Parent-2026",
        "gender": "M",
        "birth_date": date(1982, 11, 30),
        "snils": "987-654-321 83",
        "passport": {
            "series": "4507",
            "number": "654321",
            "issue_date": date(2002, 12, 15),
            "issuer": "ОВД района Арбат г. Москвы",
            "issuer_code": "770-002",
        },
    },
    {
        "surname": "Смирнова",
        "given_name": "Ольга",
        "patronymic": "Викторовна",
        "phone": "+79160000003",
        "email": "olga.smirnova@example.ru",
        "password": "Demo-Teacher-2026",
        "gender": "F",
        "birth_date": date(1979, 7, 8),
        "snils": "820-981-233 00",
        "passport": {
            "series": "4503",
            "number": "111222",
            "issue_date": date(2004, 8, 10),
            "issuer": "ОВД района Хамовники г. Москвы",
            "issuer_code": "770-003",
        },
    },
    {
        "surname": "Кузнецова",
        "given_name": "Анна",
        "patronymic": "Сергеевна",
        "phone": "+79160000004",
        "password": "Demo-Grandma-2026",
        "gender": "F",
        "birth_date": date(1950, 2, 20),
        "snils": "913-702-858 00",
        "passport": {
            "series": "4501",
            "number": "999888",
            "issue_date": date(2000, 3, 1),
            "issuer": "ОВД района Басманный г. Москвы",
            "issuer_code": "770-004",
        },
    },
    # Мария's daughter (9А of Лицей № 1 in the second region's diary), old enough for her
    # own account.
    {
        "surname": "Иванова",
        "given_name": "Алиса",
        "patronymic": "Сергеевна",
        "phone": "+79160000005",
        "email": "alisa.ivanova@example.ru",
        "password": "Demo-Student-2026",
        "gender": "F",
        "birth_date": date(2011, 5, 17),
        "snils": "016-103-396 00",
        "passport": {
            "series": "4525",
            "number": "246810",
            "issue_date": date(2025, 6, 3),
            "issuer": "ГУ МВД России по г. Москве",
            "issuer_code": "770-001",
        },
    },
    # The first demo region's staff: school 1's administrator, the region's education
    # department and school 1's health worker (``flask --app diary_service seed`` gives
    # them roles).
    {
        "surname": "Орлов",
        "given_name": "Николай",
        "patronymic": "Андреевич",
        "phone": "+79160000006",
        "email": "nikolay.orlov@example.ru",
        "password": "Demo-Admin-2026",
        "gender": "M",
        "birth_date": date(1976, 4, 3),
        "snils": "146-752-983 02",
        "passport": {
            "series": "4521",
            "number": "334455",
            "issue_date": date(2021, 4, 20),
            "issuer": "ГУ МВД России по г. Москве",
            "issuer_code": "770-005",
        },
    },
    {
        "surname": "Морозова",
        "given_name": "Елена",
        "patronymic": "Юрьевна",
        "phone": "+79160000007",
        "email": "elena.morozova@example.ru",
        "password": "Demo-Department-2026",
        "gender": "F",
        "birth_date": date(1984, 6, 12),
        "snils": "237-418-560 78",
        "passport": {
            "series": "4504",
            "number": "556677",
            "issue_date": date(2004, 7, 1),
            "issuer": "ОВД района Таганский г. Москвы",
            "issuer_code": "770-006",
        },
    },
    {
        "surname": "Белова",
        "given_name": "Вера",
        "patronymic": "Ивановна",
        "phone": "+79160000008",
        "email": "vera.belova@example.ru",
        "password": "Demo-Nurse-2026",
        "gender": "F",
        "birth_date": date(1988, 1, 25),
        "snils": "358-129-674 09",
        "passport": {
            "series": "4508",
            "number": "778899",
            "issue_date": date(2008, 2, 15),
            "issuer": "ОВД района Сокольники г. Москвы",
            "issuer_code": "770-007",
        },
    },
    # Мария's mother: no role in any diary; Мария grants her access to Пётр's diary as a
    # trusted person (found by SNILS, or by phone and surname).
    {
        "surname": "Иванова",
        "given_name": "Галина",
        "patronymic": "Фёдоровна",
        "phone": "+79160000010",
        "password": "Demo-Trusted-2026",
        "gender": "F",
        "birth_date": date(1958, 8, 9),
        "snils": "124-578-036 61",
        "passport": {
            "series": "4503",
            "number": "581326",
            "issue_date": date(2003, 9, 1),
            "issuer": "ОВД района Пресненский г. Москвы",
            "issuer_code": "770-011",
        },
    },
    # Максим's father: Максим studies in 6А of the first region's school 1, whose records
    # have no SNILS for him, so no link is made by itself; Тимур adds him under «Дети»
    # and applies for access through the catalog.
    {
        "surname": "Кириллов",
        "given_name": "Тимур",
        "patronymic": "Артёмович",
        "phone": "+79160000011",
        "email": "timur.kirillov@example.ru",
        "password": "Demo-Parent-2026",
        "gender": "M",
        "birth_date": date(1983, 6, 27),
        "snils": "178-456-093 13",
        "passport": {
            "series": "4503",
            "number": "472583",
            "issue_date": date(2003, 7, 15),
            "issuer": "ОВД района Хамовники г. Москвы",
            "issuer_code": "770-010",
        },
    },
]
DEMO_OPERATOR = {
    "surname": "Операторова",
    "given_name": "Ирина",
    "phone": "+79160000009",
    "password": "Demo-Operator-2026",
    "centre": "МФЦ района Пресненский",
}


def demo_diary_client(client_id: str, region: str, url: str) -> dict:
    """A regional diary's registration: its sign-in callback, home page (after sign-out)
    and back-channel logout endpoint, and the scopes it asks for. Our own diaries take
    their tokens signed ES256: a sign-in signs two tokens, and an RSA-2048 signature
    costs about 0.9 ms of CPU where an ES256 one costs 0.04 ms."""
    return {
        "client_id": client_id,
        "id_token_alg": "ES256",
        "name": f"Электронный дневник: {region}",
        "redirect_uris": [f"{url}/auth/callback"],
        "post_logout_redirect_uris": [f"{url}/"],
        "backchannel_logout_uri": f"{url}/auth/backchannel-logout",
        "scopes": ["openid", "profile", "email", "phone", "snils", "kids", "trusted"],
    }


# Each demo diary and the configuration key of its embedded-default secret.
DEMO_DIARY_CLIENTS = [
    (
        demo_diary_client("diary-demo-region", "Демонстрационная область", "http://127.0.0.1:8001"),
        "DEMO_DIARY_CLIENT_SECRET",
    ),
    (
        demo_diary_client("diary-demo-region-2", "Заречная область", "http://127.0.0.1:8003"),
        "DEMO_DIARY_REGION_2_CLIENT_SECRET",
    ),
]


def seed_demo_diary_client(spec: dict, secret: str) -> bool:
    """Register a demo diary with its embedded-default secret; False when it is
    registered already (left as it is, except that it may now ask for the scopes a newer
    diary asks for)."""
    existing = db.session.execute(
        sa.select(OAuthClient).where(OAuthClient.client_id == spec["client_id"])
    ).scalar_one_or_none()
    if existing is not None:
        scopes = existing.scope.split()
        missing = [scope for scope in spec["scopes"] if scope not in scopes]
        if missing:
            existing.scope = " ".join(scopes + missing)
            db.session.commit()
        return False
    new = oidc.create_client(**spec)
    # create_client generates a secret; the demo's is fixed so the diary can know it.
    new.client.client_secret_hash = digest(secret)
    db.session.commit()
    return True


@click.command("seed")
def seed_command():
    """Load the demo citizens, the demo operator and the demo diaries' clients (existing
    ones are left as they are)."""
    if current_app.config["ENV"] == "production":
        raise click.ClickException(
            "demo citizens have published passwords: not loaded in production"
        )
    origin = identity.Origin(ip="seed", user_agent="flask seed")
    created = 0
    for spec in DEMO_CITIZENS:
        if db.session.execute(sa.select(Citizen.id).where(Citizen.phone == spec["phone"])).first():
            continue
        citizen = identity.create_citizen(
            surname=spec["surname"],
            given_name=spec["given_name"],
            patronymic=spec["patronymic"],
            phone=spec["phone"],
            email=spec.get("email"),
            password=spec["password"],
        )
        proofing.update_profile(
            citizen,
            {
                **spec,
                "birth_place": "г. Москва",
                "citizenship": "RUS",
                "registration_address": MOSCOW,
            },
            origin,
        )
        proofing.set_snils(citizen, spec["snils"], origin)
        proofing.set_passport(citizen, spec["passport"], origin)
        created += 1
    if not db.session.execute(
        sa.select(Citizen.id).where(Citizen.phone == DEMO_OPERATOR["phone"])
    ).first():
        operator = identity.create_citizen(
            surname=DEMO_OPERATOR["surname"],
            given_name=DEMO_OPERATOR["given_name"],
            phone=DEMO_OPERATOR["phone"],
            password=DEMO_OPERATOR["password"],
        )
        db.session.add(Operator(citizen_id=operator.id, service_centre=DEMO_OPERATOR["centre"]))
        db.session.commit()
    secrets = {key: current_app.config.get(key) for _spec, key in DEMO_DIARY_CLIENTS}
    for key, secret in secrets.items():
        if not secret:
            raise click.ClickException(f"PORTAL_{key} is not set")
    registered = [
        spec["client_id"]
        for spec, key in DEMO_DIARY_CLIENTS
        if seed_demo_diary_client(spec, secrets[key])
    ]
    click.echo(
        f"demo citizens: {created} created; their checks go to the registries when the simulator runs"
    )
    for client_id in registered:
        click.echo(f"demo diary client {client_id} registered")
