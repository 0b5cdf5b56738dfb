"""No unsalted hash of a phone number anywhere: a SHA-256 of a number is the number, for
whoever tries the few billion mobile numbers there are. Every key derived from a number
is an HMAC with the deployment's secret salt (:class:`urp.core.hashing.UserHasher`)."""

from __future__ import annotations

import hashlib

import pytest

from urp.core.hashing import UserHasher
from urp.inbound.ratelimit import sender_key

NUMBER = "393331234567"
ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "blake2b", "blake2s")


def unsalted(number: str) -> set[str]:
    """What anyone can compute from the number alone, with any usual prefix."""
    texts = (number, f"+{number}", f"whatsapp:{number}", f"whatsapp:+{number}")
    return {hashlib.new(name, text.encode()).hexdigest() for name in ALGORITHMS for text in texts}


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(
            lambda n: UserHasher(b"a-salt-of-sixteen-bytes")("whatsapp", n), id="register"
        ),
        pytest.param(sender_key, id="rate-limit"),
    ],
)
def test_a_key_derived_from_a_number_cannot_be_computed_from_the_number_alone(key) -> None:
    derived = key(NUMBER)
    assert NUMBER not in derived
    assert not any(derived in digest for digest in unsalted(NUMBER))
