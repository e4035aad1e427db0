"""The Vouch-Signature header as a receiver checks it."""

import hashlib
import hmac

from vouch.webhooks.signing import signature_header, signature_verify

BODY = b'{"id": "evt_1", "type": "reward.given"}'


def test_the_signature_is_stripes_scheme_over_time_and_body():
    header = signature_header(secret="whsec_a", body=BODY, timestamp=1767225600)

    expected = hmac.new(b"whsec_a", b"1767225600." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1767225600,v1={expected}"
    assert signature_verify(secret="whsec_a", header=header, body=BODY, now=1767225600 + 299)


def test_a_changed_body_another_secret_or_an_old_timestamp_is_refused():
    header = signature_header(secret="whsec_a", body=BODY, timestamp=1767225600)

    assert not signature_verify(secret="whsec_a", header=header, body=BODY + b" ", now=1767225600)
    assert not signature_verify(secret="whsec_b", header=header, body=BODY, now=1767225600)
    assert not signature_verify(secret="whsec_a", header=header, body=BODY, now=1767225600 + 301)
    assert not signature_verify(secret="whsec_a", header="v1=abc", body=BODY, now=1767225600)
    assert not signature_verify(secret="whsec_a", header="", body=BODY, now=1767225600)


def test_any_of_several_signatures_may_match_while_a_secret_rotates():
    good = signature_header(secret="whsec_new", body=BODY, timestamp=100).split(",")[1]

    assert signature_verify(secret="whsec_new", header=f"t=100,v1={'0' * 64},{good}", body=BODY, now=100)
