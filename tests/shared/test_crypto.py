import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.crypto import CryptoConfigError, PiiCipher, PiiIntegrityError, Place

SNILS_OF_ROW_1 = Place("citizen", "snils_encrypted", "1")


def key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def test_round_trip_stores_the_version_and_key_id():
    cipher = PiiCipher.from_config({"k1": key()}, "k1", "index")
    stored = cipher.encrypt("11223344595", SNILS_OF_ROW_1)
    assert stored.startswith("v2:k1:") and "11223344595" not in stored
    assert cipher.decrypt(stored, SNILS_OF_ROW_1) == "11223344595"
    assert cipher.encrypt("11223344595", SNILS_OF_ROW_1) != stored  # a fresh nonce each time


@pytest.mark.parametrize(
    "elsewhere",
    [
        Place("citizen", "snils_encrypted", "2"),  # another citizen's row
        Place("child", "snils_encrypted", "1"),  # another table, same row number
        Place("citizen", "totp_secret_encrypted", "1"),  # another column of the same row
    ],
)
def test_a_value_moved_to_another_place_does_not_decrypt(elsewhere):
    cipher = PiiCipher.from_config({"k1": key()}, "k1", "index")
    stored = cipher.encrypt("11223344595", SNILS_OF_ROW_1)
    with pytest.raises(PiiIntegrityError) as caught:
        cipher.decrypt(stored, elsewhere)
    assert str(caught.value) == (
        f"{elsewhere} does not decrypt: it was written for another row or column, or altered"
    )
    assert "11223344595" not in str(caught.value)


def test_an_altered_value_does_not_decrypt():
    cipher = PiiCipher.from_config({"k1": key()}, "k1", "index")
    stored = cipher.encrypt("11223344595", SNILS_OF_ROW_1)
    flipped = stored[:-2] + ("A" if stored[-2] != "A" else "B") + stored[-1]
    with pytest.raises(PiiIntegrityError, match="does not decrypt"):
        cipher.decrypt(flipped, SNILS_OF_ROW_1)


def test_a_value_of_the_column_bound_form_is_refused_with_the_way_out():
    # What the portal stored before row binding: "<kid>:<body>", the field name as AAD.
    raw = key()
    cipher = PiiCipher.from_config({"k1": raw}, "k1", "index")
    nonce = os.urandom(12)
    sealed = AESGCM(base64.urlsafe_b64decode(raw + "=")).encrypt(nonce, b"11223344595", b"snils")
    old = "k1:" + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    with pytest.raises(PiiIntegrityError, match="flask --app portal db upgrade"):
        cipher.decrypt(old, SNILS_OF_ROW_1)
    assert cipher.needs_reencryption(old)


def test_rotation_keeps_old_values_readable():
    old, new = key(), key()
    before = PiiCipher.from_config({"k1": old}, "k1", "index")
    stored = before.encrypt("11223344595", SNILS_OF_ROW_1)
    after = PiiCipher.from_config({"k1": old, "k2": new}, "k2", "index")
    assert after.needs_reencryption(stored)
    assert not before.needs_reencryption(stored)
    assert after.decrypt(stored, SNILS_OF_ROW_1) == "11223344595"
    assert after.key_id_of(after.encrypt("11223344595", SNILS_OF_ROW_1)) == "k2"


def test_a_value_under_a_removed_key_names_the_key():
    stored = PiiCipher.from_config({"k1": key()}, "k1", "index").encrypt("x", SNILS_OF_ROW_1)
    with pytest.raises(CryptoConfigError, match="unknown key 'k1'"):
        PiiCipher.from_config({"k2": key()}, "k2", "index").decrypt(stored, SNILS_OF_ROW_1)


def test_blind_index_is_deterministic_keyed_and_field_scoped():
    a = PiiCipher.from_config({"k1": key()}, "k1", "index-a")
    b = PiiCipher.from_config({"k1": key()}, "k1", "index-b")
    assert a.blind_index("11223344595", field="snils") == a.blind_index(
        "11223344595", field="snils"
    )
    assert a.blind_index("11223344595", field="snils") != b.blind_index(
        "11223344595", field="snils"
    )
    assert a.blind_index("11223344595", field="snils") != a.blind_index("11223344595", field="inn")


@pytest.mark.parametrize("bad", [{}, {"k1": "c2hvcnQ"}, {"k1": "!!!not base64!!!"}])
def test_bad_key_configuration_is_refused(bad):
    with pytest.raises(CryptoConfigError):
        PiiCipher.from_config(bad, None, "index")
