import pytest

from shared.signing import SignatureError, sign, verify


def test_signed_message_round_trip():
    body, headers = sign("k", {"request_id": "r1", "outcome": "approved"})
    assert verify("k", body, headers) == {"request_id": "r1", "outcome": "approved"}


def test_forged_tampered_or_stale_messages_are_refused():
    body, headers = sign("k", {"outcome": "approved"}, now=1_000_000)
    with pytest.raises(SignatureError):
        verify("other-key", body, headers, now=1_000_000)
    with pytest.raises(SignatureError):
        verify("k", body.replace(b"approved", b"rejected"), headers, now=1_000_000)
    with pytest.raises(SignatureError):
        verify("k", body, headers, now=1_000_000 + 301)
    with pytest.raises(SignatureError):
        verify("k", body, {}, now=1_000_000)


@pytest.mark.parametrize(
    "changed",
    [{"X-Timestamp": "²"}, {"X-Timestamp": "١٢٣"}, {"X-Signature": "sha256=²"}],
)
def test_headers_with_other_scripts_digits_are_refused(changed):
    """``"²".isdigit()`` is true, ``int("²")`` fails and ``compare_digest`` refuses
    non-ASCII text: each was an unhandled error instead of a refusal."""
    body, headers = sign("k", {"outcome": "approved"}, now=1_000_000)
    with pytest.raises(SignatureError):
        verify("k", body, {**headers, **changed}, now=1_000_000)
