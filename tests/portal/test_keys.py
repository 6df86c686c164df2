"""Personal data at rest in the portal: each value bound to its row, re-encrypted under a
new key in every table that holds it, and a database of the column-bound form upgraded."""

from __future__ import annotations

import base64
import os
import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask_migrate import downgrade, upgrade

from portal.extensions import db
from portal.family import services as family
from portal.family.models import Child, ParentLink
from portal.federation.models import FederationMessage
from portal.identity import services as identity
from portal.identity.models import Citizen
from portal.keys import ENCRYPTED, reencrypt_personal_data
from portal.oidc import keys as signing_keys
from portal.oidc.claims import child_identity
from portal.oidc.key_models import SigningKey
from portal.proofing import services as proofing
from portal.proofing.models import Document, LetterCode
from shared.crypto import PiiCipher, PiiIntegrityError, pii, seal, unseal
from shared.sessions import utcnow
from tests.conftest import ROOT
from tests.helpers import submit, text_of
from tests.portal.conftest import MIGRATIONS

ORIGIN = identity.Origin()
PASSWORD = "violet-harbour-lamp"
MARIA_SNILS, SERGEY_SNILS = "112-233-445 95", "987-654-321 83"
PETR_SNILS, ANNA_SNILS = "050-234-316 00", "169-746-537 32"


def test_reencryption_moves_every_value_to_the_new_key(app, make_citizen):
    citizen = make_citizen(snils=MARIA_SNILS)
    citizen.birth_date = date(1985, 3, 14)
    db.session.commit()
    proofing.set_optional_document(citizen, "inn", "500100732259", ORIGIN)
    old_keys = dict(app.config["PII_KEYS"])
    new_key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    app.extensions["pii"] = PiiCipher.from_config(
        {**old_keys, "t2": new_key}, "t2", app.config["BLIND_INDEX_KEY"]
    )
    try:
        assert reencrypt_personal_data() == 2
        for model, column in ENCRYPTED:
            for value in db.session.execute(sa.select(getattr(model, column))).scalars():
                assert value is None or value.startswith("v2:t2:")
        # Still readable and still found by the blind index.
        assert identity.authenticate(MARIA_SNILS, PASSWORD, ORIGIN).id == citizen.id
        assert proofing.documents_of(citizen, reveal=True)["inn"]["number"] == "500100732259"
        assert reencrypt_personal_data() == 0
    finally:
        app.extensions["pii"] = PiiCipher.from_config(old_keys, "t1", app.config["BLIND_INDEX_KEY"])


# --- row binding ----------------------------------------------------------------------


def swap(table: str, column: str, first: int, second: int) -> None:
    """What someone with write access to the database does: no application code."""
    values = dict(
        db.session.execute(
            sa.text(f"SELECT id, {column} FROM {table} WHERE id IN (:a, :b)"),  # noqa: S608
            {"a": first, "b": second},
        ).all()
    )
    update = sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id")  # noqa: S608
    db.session.execute(update, {"id": first, "value": values[second]})
    db.session.execute(update, {"id": second, "value": values[first]})
    db.session.commit()
    db.session.expire_all()


def test_two_citizens_snils_swapped_in_the_database_do_not_decrypt(app, make_citizen):
    maria = make_citizen(snils=MARIA_SNILS, phone="+79161234567")
    sergey = make_citizen(snils=SERGEY_SNILS, given_name="Сергей")
    assert proofing.documents_of(maria, reveal=True)["snils"]["number"] == MARIA_SNILS

    swap("citizen", "snils_encrypted", maria.id, sergey.id)

    for citizen in (maria, sergey):
        with pytest.raises(PiiIntegrityError) as caught:
            proofing.documents_of(citizen, reveal=True)
        assert str(caught.value) == (
            f"citizen.snils_encrypted of row {citizen.id} does not decrypt: "
            "it was written for another row or column, or altered"
        )


def test_the_cabinet_shows_an_error_not_the_other_citizens_snils(app, client, make_citizen):
    maria = make_citizen(snils=MARIA_SNILS, phone="+79161234567")
    sergey = make_citizen(snils=SERGEY_SNILS, given_name="Сергей")
    swap("citizen", "snils_encrypted", maria.id, sergey.id)

    submit(client, "/login", {"login": "+79161234567", "password": PASSWORD})
    page = client.get("/cabinet/documents")
    assert page.status_code == 500
    assert "Что-то пошло не так" in text_of(page)
    for number in ("987-654-321 83", "98765432183", "321 83", "445 95"):
        assert number not in page.get_data(as_text=True)


def make_child(parent: Citizen, snils: str, certificate: str) -> Child:
    digits = re.sub(r"\D", "", snils)
    child = Child(
        surname="Иванов",
        given_name="Пётр",
        birth_date=date(2014, 9, 2),
        gender="M",
        snils_index=pii().blind_index(digits, field="snils"),
        certificate_details={"issue_date": "2014-09-20", "registry_office": "ЗАГС"},
        snils_verified_at=utcnow(),
    )
    db.session.add(child)
    seal(child, snils_encrypted=digits, certificate_encrypted=certificate)
    db.session.add(ParentLink(parent_id=parent.id, child_id=child.id))
    db.session.commit()
    return child


def test_childrens_snils_and_certificates_swapped_do_not_decrypt(app, make_citizen):
    maria = make_citizen(snils=MARIA_SNILS)
    sergey = make_citizen(snils=SERGEY_SNILS, given_name="Сергей")
    petr = make_child(maria, PETR_SNILS, "IV-МЮ 512345")
    anna = make_child(sergey, ANNA_SNILS, "II-АБ 654321")
    assert child_identity(petr)["snils"] == PETR_SNILS

    swap("child", "snils_encrypted", petr.id, anna.id)
    with pytest.raises(PiiIntegrityError, match=f"child.snils_encrypted of row {petr.id} "):
        child_identity(petr)
    with pytest.raises(PiiIntegrityError, match=f"child.snils_encrypted of row {anna.id} "):
        family.children_of(sergey)

    swap("child", "certificate_encrypted", petr.id, anna.id)
    with pytest.raises(PiiIntegrityError, match=f"child.certificate_encrypted of row {anna.id} "):
        unseal(anna, "certificate_encrypted")

    # Within one row the column still counts: the certificate is not read as the SNILS.
    stored = db.session.execute(
        sa.text("SELECT certificate_encrypted FROM child WHERE id = :id"), {"id": anna.id}
    ).scalar()
    db.session.execute(
        sa.text("UPDATE child SET snils_encrypted = :v WHERE id = :id"),
        {"v": stored, "id": anna.id},
    )
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(PiiIntegrityError, match=f"child.snils_encrypted of row {anna.id} "):
        unseal(anna, "snils_encrypted")


def test_swapped_documents_and_outbox_messages_do_not_decrypt(app, make_citizen):
    maria = make_citizen(snils=MARIA_SNILS)
    sergey = make_citizen(snils=SERGEY_SNILS, given_name="Сергей")
    proofing.set_optional_document(maria, "inn", "500100732259", ORIGIN)
    proofing.set_optional_document(sergey, "inn", "770708389003", ORIGIN)
    first, second = db.session.execute(sa.select(Document).order_by(Document.id)).scalars()
    swap("document", "number_encrypted", first.id, second.id)
    with pytest.raises(PiiIntegrityError, match=f"document.number_encrypted of row {first.id} "):
        proofing.documents_of(maria, reveal=True)

    messages = []
    for key, snils in (("a", MARIA_SNILS), ("b", SERGEY_SNILS)):
        message = FederationMessage(event="test.echo", target="diary", key=key)
        db.session.add(message)
        message.payload = {"snils": snils}
        messages.append(message)
    db.session.commit()
    assert messages[0].payload == {"snils": MARIA_SNILS}
    swap("federation_message", "sealed", messages[0].id, messages[1].id)
    with pytest.raises(
        PiiIntegrityError, match=f"federation_message.sealed of row {messages[1].id} "
    ):
        _ = messages[1].payload


def test_every_encrypted_column_of_the_portal_is_listed_for_reencryption(app):
    listed = {(model.__table__.name, column) for model, column in ENCRYPTED}
    found = {
        (table.name, column.name)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if column.name.endswith("_encrypted") or column.name == "sealed"
    }
    assert found == listed


def test_portal_code_encrypts_only_through_seal_and_unseal():
    """A direct ``pii().encrypt``/``decrypt`` would need a place written by hand; seal and
    unseal take it from the row, so every value is bound to where it is stored."""
    direct = re.compile(r"pii\(\)\s*\.\s*(encrypt|decrypt)\b|\.encrypt\(.*Place\(")
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("portal", "diary_service")
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts and direct.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# --- upgrading a database of the column-bound form --------------------------------------

BEFORE_ROW_BINDING = "c5d7e9f1a3b6"


def column_bound(keys: dict[str, bytes], kid: str, plaintext: str, field: str) -> str:
    """A value as the portal stored it before row binding (the old PiiCipher.encrypt)."""
    nonce = os.urandom(12)
    sealed = AESGCM(keys[kid]).encrypt(nonce, plaintext.encode(), field.encode())
    return f"{kid}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"


def open_column_bound(keys: dict[str, bytes], stored: str, field: str) -> str:
    kid, _, body = stored.partition(":")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return AESGCM(keys[kid]).decrypt(raw[:12], raw[12:], field.encode()).decode()


def test_an_existing_database_upgrades_to_row_bound_values_without_losing_data(scratch_portal):
    app = scratch_portal
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        # Data of every kind, written by the code, then taken back to the old form.
        maria = identity.create_citizen(
            surname="Иванова", given_name="Мария", phone="+79161234567", password=PASSWORD
        )
        seal(maria, snils_encrypted="11223344595", totp_secret_encrypted="JBSWY3DPEHPK3PXP")
        maria.snils_index = pii().blind_index("11223344595", field="snils")
        sergey = identity.create_citizen(
            surname="Петров", given_name="Сергей", email="s@example.ru", password=PASSWORD
        )
        sergey.snils_index = pii().blind_index("98765432183", field="snils")
        db.session.commit()
        proofing.set_optional_document(maria, "inn", "500100732259", ORIGIN)
        petr = make_child(maria, PETR_SNILS, "IV-МЮ 512345")
        letter = LetterCode(citizen_id=maria.id, address="г. Москва", expires_at=utcnow())
        db.session.add(letter)
        seal(letter, code_encrypted="ABCD2345")
        message = FederationMessage(event="test.echo", target="diary", key="k")
        db.session.add(message)
        message.payload = {"snils": MARIA_SNILS}
        db.session.commit()
        signing_keys.ensure_keys()
        kids = {alg: signing_keys.active_key(alg).kid for alg in signing_keys.SUPPORTED_ALGS}
        ids = {"maria": maria.id, "sergey": sergey.id, "petr": petr.id, "message": message.id}
        db.session.remove()

        downgrade(directory=MIGRATIONS, revision=BEFORE_ROW_BINDING)
        keys = pii().keys

        def stored(table: str, column: str, row_id: int) -> str:
            return db.session.execute(
                sa.text(f"SELECT {column} FROM {table} WHERE id = :id"),  # noqa: S608
                {"id": row_id},
            ).scalar()

        # The old form, read by the old rules: bound to the field name only.
        assert open_column_bound(keys, stored("citizen", "snils_encrypted", ids["maria"]), "snils")
        assert (
            open_column_bound(
                keys, stored("child", "certificate_encrypted", ids["petr"]), "birth_certificate"
            )
            == "IV-МЮ 512345"
        )
        # And one value the old code wrote itself, not our downgrade.
        db.session.execute(
            sa.text("UPDATE citizen SET snils_encrypted = :v WHERE id = :id"),
            {"v": column_bound(keys, "t1", "98765432183", "snils"), "id": ids["sergey"]},
        )
        db.session.commit()
        db.session.remove()

        upgrade(directory=MIGRATIONS)
        for model, column in ENCRYPTED:
            for value in db.session.execute(sa.select(getattr(model, column))).scalars():
                assert value is None or value.startswith("v2:t1:")
        maria = db.session.get(Citizen, ids["maria"])
        sergey = db.session.get(Citizen, ids["sergey"])
        assert proofing.documents_of(maria, reveal=True)["snils"]["number"] == MARIA_SNILS
        assert proofing.documents_of(maria, reveal=True)["inn"]["number"] == "500100732259"
        assert unseal(maria, "totp_secret_encrypted") == "JBSWY3DPEHPK3PXP"
        assert proofing.documents_of(sergey, reveal=True)["snils"]["number"] == SERGEY_SNILS
        assert identity.authenticate(MARIA_SNILS, PASSWORD, ORIGIN).id == ids["maria"]
        petr = db.session.get(Child, ids["petr"])
        assert child_identity(petr)["snils"] == PETR_SNILS
        assert unseal(petr, "certificate_encrypted") == "IV-МЮ 512345"
        letter = db.session.execute(sa.select(LetterCode)).scalar_one()
        assert unseal(letter, "code_encrypted") == "ABCD2345"
        assert db.session.get(FederationMessage, ids["message"]).payload == {"snils": MARIA_SNILS}
        # The signing keys are all there (the next keys are made again on first use), and
        # they still load and match their thumbprints.
        assert db.session.execute(sa.select(sa.func.count(SigningKey.id))).scalar() == 2
        assert {alg: signing_keys.active_key(alg).kid for alg in kids} == kids
        db.session.remove()


def test_the_upgrade_stops_at_a_value_that_does_not_decrypt(scratch_portal, caplog):
    app = scratch_portal
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE_ROW_BINDING)
        maria = identity.create_citizen(
            surname="Иванова", given_name="Мария", phone="+79161234567", password=PASSWORD
        )
        maria_id = maria.id
        # Written under another field name: the old form's own check refuses it.
        wrong = column_bound(pii().keys, "t1", "11223344595", "totp")
        db.session.execute(
            sa.text("UPDATE citizen SET snils_encrypted = :v WHERE id = :id"),
            {"v": wrong, "id": maria_id},
        )
        db.session.commit()
        db.session.remove()
        with pytest.raises(SystemExit):  # how `flask db upgrade` fails
            upgrade(directory=MIGRATIONS)
        assert (
            f"citizen.snils_encrypted of row {maria_id} does not decrypt: it was altered or moved"
        ) in caplog.text  # Flask-Migrate logs the error (a JSON line on stderr), then exits
        db.session.remove()
        assert db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == (
            BEFORE_ROW_BINDING
        )
        assert db.session.execute(sa.text("SELECT snils_encrypted FROM citizen")).scalar() == wrong
        db.session.remove()


def test_migration_and_reencryption_name_the_same_columns():
    text = (
        Path(MIGRATIONS) / "versions" / "d4e6f8a0b2c4_bind_personal_data_to_its_row.py"
    ).read_text(encoding="utf-8")
    named = set(re.findall(r'\("(\w+)", "(\w+)", ', text))
    assert named == {(model.__table__.name, column) for model, column in ENCRYPTED}
