"""Personal data re-encrypted under a new key, in every table that holds it."""

from __future__ import annotations

import base64
import os
from datetime import date

import sqlalchemy as sa

from portal.extensions import db
from portal.identity import services as identity
from portal.keys import ENCRYPTED, reencrypt_personal_data
from portal.proofing import services as proofing
from shared.crypto import PiiCipher

ORIGIN = identity.Origin()


def test_reencryption_moves_every_value_to_the_new_key(app, make_citizen):
    citizen = make_citizen(snils="112-233-445 95")
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
        for model, column, _field in ENCRYPTED:
            for value in db.session.execute(sa.select(getattr(model, column))).scalars():
                assert value is None or value.startswith("t2:")
        # Still readable and still found by the blind index.
        assert (
            identity.authenticate("112-233-445 95", "violet-harbour-lamp", ORIGIN).id == citizen.id
        )
        assert proofing.documents_of(citizen, reveal=True)["inn"]["number"] == "500100732259"
        assert reencrypt_personal_data() == 0
    finally:
        app.extensions["pii"] = PiiCipher.from_config(old_keys, "t1", app.config["BLIND_INDEX_KEY"])
