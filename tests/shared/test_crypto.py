import base64
import os

import pytest

from shared.crypto import CryptoConfigError, PiiCipher


def key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def test_round_trip_and_key_id_is_stored():
    cipher = PiiCipher.from_config({"k1": key()}, "k1", "index")
    stored = cipher.encrypt("11223344595", field="snils")
    assert stored.startswith("k1:") and "11223344595" not in stored
    assert cipher.decrypt(stored, field="snils") == "11223344595"
    assert cipher.encrypt("11223344595", field="snils") != stored  # a fresh nonce each time


def test_value_moved_to_another_field_does_not_decrypt():
    cipher = PiiCipher.from_config({"k1": key()}, "k1", "index")
    stored = cipher.encrypt("4510 123456", field="passport")
    with pytest.raises(CryptoConfigError):
        cipher.decrypt(stored, field="snils")


def test_rotation_keeps_old_values_readable():
    old, new = key(), key()
    before = PiiCipher.from_config({"k1": old}, "k1", "index")
    stored = before.encrypt("11223344595", field="snils")
    after = PiiCipher.from_config({"k1": old, "k2": new}, "k2", "index")
    assert after.needs_reencryption(stored)
    assert after.decrypt(stored, field="snils") == "11223344595"
    assert after.key_id_of(after.encrypt("11223344595", field="snils")) == "k2"


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
