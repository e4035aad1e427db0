"""The `Vouch-Signature` header: Stripe's scheme, so receivers can refuse forgeries and replays.

    Vouch-Signature: t=1767225600,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

`t` is the Unix time the request was signed; `v1` is the hex HMAC-SHA256 of the bytes
`"<t>.<raw request body>"` keyed with the endpoint's secret. To verify, a receiver:

1. splits the header on `,` and each part on the first `=`, taking `t` and every `v1`
   (there may be more than one `v1` while a secret is being rotated);
2. computes `HMAC-SHA256(secret, f"{t}.".encode() + raw_body)` over the body exactly as
   received, before any JSON parsing;
3. compares it with each `v1` in constant time (`hmac.compare_digest`), and
4. refuses the request if no signature matches or if `t` is more than a few minutes
   (Vouch uses 5) away from its own clock, which stops a recorded request from being replayed.

The event's `id` stays the same across retries and redeliveries: a receiver that
stores the ids it has handled can ignore duplicates.
"""

import hashlib
import hmac
import time

HEADER = "Vouch-Signature"
TOLERANCE_SECONDS = 300


def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_verify(
    *, secret: str, header: str, body: bytes, now: float | None = None, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """A receiver's check, usable as-is in Python (and by Vouch's own tests)."""
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature_header(secret=secret, body=body, timestamp=timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
