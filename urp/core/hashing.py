"""The salted hash that recognises a returning subscriber without keeping the number.

HMAC-SHA256 of ``"channel:user_id"`` with a secret salt. Production sets
``URP_HASH_SALT`` and keeps it forever: with another salt nobody who left is recognised
again, and the same number would get a second label. For local use a salt is generated
once into ``var/hash-salt`` (readable only by its owner).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from urp.core.errors import OperatorError
from urp.core.settings import PROJECT_ROOT

DEFAULT_SALT_FILE = PROJECT_ROOT / "var" / "hash-salt"


class HashSaltError(OperatorError, ValueError):
    """The salt is missing, too short or unreadable."""


class UserHasher:
    """Turns a channel's user id into the stable, non-reversible key of the register."""

    def __init__(self, salt: bytes) -> None:
        if len(salt) < 16:
            raise HashSaltError("il sale dell'hash deve essere lungo almeno 16 caratteri")
        self._salt = salt

    def __call__(self, channel: str, user_id: str) -> str:
        message = f"{channel}:{user_id}".encode()
        return hmac.new(self._salt, message, hashlib.sha256).hexdigest()

    @classmethod
    def from_environment(cls, salt_file: Path = DEFAULT_SALT_FILE) -> UserHasher:
        """``URP_HASH_SALT``, else the local salt file (created on first use)."""
        salt = os.environ.get("URP_HASH_SALT")
        if salt:
            return cls(salt.encode())
        return cls(_local_salt(salt_file))


def _local_salt(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and linked into place: two processes starting together agree on
        # one salt, and nobody ever reads a half-written file.
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    try:
        return path.read_text(encoding="ascii").strip().encode()
    except OSError as error:
        raise HashSaltError(f"impossibile leggere il sale dell'hash {path}: {error}") from error
