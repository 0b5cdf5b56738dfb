"""Operators' accounts: the people of the office who answer handed-over chats.

Passwords are kept only as scrypt hashes, ``scrypt$n$r$p$salt$hash`` (salt and hash in
hex), with a random salt each: the cost parameters travel with the hash, so they can be
raised later without invalidating the accounts already there. A disabled operator keeps
the account (handoffs and audit rows refer to it) but can no longer log in.

scrypt is slow on purpose, so it never runs inside a database transaction: a password is
checked or hashed first, then a short transaction writes, on condition that the stored
hash is still the one checked. A new password ends the account's other console sessions.
Publishing to the subscribers is a permission of its own (``can_publish``), granted by an
admin; admins have it by their role. Grants and password resets are audited.

A password an admin chose (a reset, a temporary one, a new account from the console or the
command line) is known to someone else: the account keeps ``must_change_password`` until
its operator chooses their own, and meanwhile the console lets them do nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.errors import OperatorError
from urp.core.models import OPERATOR_ROLES, AuditEvent
from urp.core.models import ConsoleSession as SessionRow
from urp.core.models import Operator as OperatorRow

USERNAME = re.compile(r"[a-z0-9._-]{3,32}")
MIN_PASSWORD_LENGTH = 10
MAX_NAME_LENGTH = 128
# 32 MiB of memory and tens of milliseconds per hash: slow for guessing, fine for a login.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_LENGTH = 32
SALT_BYTES = 16
# hashlib's default cap (32 MiB) is just below what N=2**15, r=8 needs.
SCRYPT_MAXMEM = 128 * 1024 * 1024
PUBLISH_GRANTED = "publish_granted"
PUBLISH_REVOKED = "publish_revoked"
PASSWORD_CHANGED = "password_changed"
PASSWORD_RESET = "password_reset"
OPERATOR_ADDED = "operator_added"
OPERATOR_DISABLED = "operator_disabled"
OPERATOR_ENABLED = "operator_enabled"
ROLE_CHANGED = "role_changed"
# A temporary password: 12 characters from an alphabet without look-alikes (0/O, 1/l/I).
TEMPORARY_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TEMPORARY_LENGTH = 12


class AccountError(OperatorError, ValueError):
    """A username, password or role that cannot be used: the message says why."""


class UnknownOperatorError(OperatorError, LookupError):
    """No operator has that username."""


@dataclass(frozen=True)
class Operator:
    """An account as the console and the services see it: never the password hash."""

    id: int
    username: str
    display_name: str
    role: str  # "operator", "trainer" or "admin"
    active: bool
    created_at: datetime
    last_login_at: datetime | None
    can_publish: bool = False  # the account's own grant; see :attr:`may_publish`
    must_change_password: bool = False  # the password is still the one an admin chose

    @property
    def may_publish(self) -> bool:
        """Whether this account may publish memos and emergencies: granted, or an admin."""
        return self.active and (self.can_publish or self.role == "admin")


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    """The stored form of ``password``: ``scrypt$n$r$p$salt$hash``."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``, compared in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest)
        actual = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p), len(expected))
    except ValueError:  # a damaged hash never lets anybody in
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(
    password: str, salt: bytes, n: int, r: int, p: int, length: int = SCRYPT_LENGTH
) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM, dklen=length
    )


def temporary_password() -> str:
    """A password an admin hands over once; the operator changes it in «Il tuo account»."""
    return "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_LENGTH))


def normalize_username(username: str) -> str:
    """Usernames are compared lowercase: "Mario.Rossi" logs in as "mario.rossi"."""
    return username.strip().lower()


class OperatorService:
    """Add, disable, list and authenticate operators."""

    def __init__(self, database: Database, *, clock: Clock = utc_now) -> None:
        self._db = database
        self._clock = clock
        # Hashed against for unknown usernames, so that they take as long as known ones.
        self._decoy = hash_password(secrets.token_hex(16))

    @property
    def database(self) -> Database:
        """The store of the accounts, which the console's other pages read too."""
        return self._db

    def add(
        self,
        username: str,
        display_name: str,
        password: str,
        role: str,
        *,
        can_publish: bool = False,
        temporary: bool = False,
        by: str | None = None,
    ) -> Operator:
        """Create an active account; a username already taken is an :class:`AccountError`.
        With ``by`` (an admin in the console) the addition is audited. A ``temporary``
        password (chosen by an admin) must be changed at the first login."""
        username = normalize_username(username)
        display_name = display_name.strip()
        if not USERNAME.fullmatch(username):
            raise AccountError(
                f"nome utente non valido {username!r}: da 3 a 32 caratteri tra lettere "
                "minuscole, cifre, punto, trattino e trattino basso"
            )
        if not display_name or len(display_name) > MAX_NAME_LENGTH:
            raise AccountError(f"il nome deve avere da 1 a {MAX_NAME_LENGTH} caratteri")
        if role not in OPERATOR_ROLES:
            raise AccountError(f"ruolo non valido {role!r}: usa {', '.join(OPERATOR_ROLES)}")
        _check_password(password)
        insert = (
            self._db.upsert_insert(OperatorRow)
            .values(
                username=username,
                display_name=display_name,
                password_hash=hash_password(password),
                role=role,
                active=True,
                created_at=self._clock(),
                can_publish=can_publish,
                must_change_password=temporary,
            )
            .on_conflict_do_nothing(index_elements=[OperatorRow.username])
        )
        with self._db.transaction(write=True) as session:
            if session.execute(insert).rowcount != 1:
                raise AccountError(f"esiste già un operatore {username!r}")
            row = _find(session, username)
            assert row is not None  # inserted just now, in this transaction
            if by is not None:
                session.add(self._audit(by, OPERATOR_ADDED, f"{username} ({role})"))
            return _operator(row)

    def disable(self, username: str, *, by: str | None = None) -> Operator:
        """Stop an account from logging in, ending its sessions; its history stays."""
        return self._set_active(username, False, by)

    def enable(self, username: str, *, by: str | None = None) -> Operator:
        """Let a disabled account log in again, with the password it had."""
        return self._set_active(username, True, by)

    def _set_active(self, username: str, active: bool, by: str | None) -> Operator:
        username = normalize_username(username)
        with self._db.transaction(write=True) as session:
            row = _find(session, username)
            if row is None:
                raise UnknownOperatorError(f"nessun operatore si chiama {username!r}")
            if row.active != active:
                row.active = active
                if not active:
                    session.execute(delete(SessionRow).where(SessionRow.operator_id == row.id))
                if by is not None:
                    action = OPERATOR_ENABLED if active else OPERATOR_DISABLED
                    session.add(self._audit(by, action, username))
            return _operator(row)

    def set_role(self, username: str, role: str, *, by: str) -> Operator:
        """Change an account's role (audited); its sessions end, to start again with it."""
        username = normalize_username(username)
        if role not in OPERATOR_ROLES:
            raise AccountError(f"ruolo non valido {role!r}: usa {', '.join(OPERATOR_ROLES)}")
        with self._db.transaction(write=True) as session:
            row = _find(session, username)
            if row is None:
                raise UnknownOperatorError(f"nessun operatore si chiama {username!r}")
            if row.role != role:
                session.add(self._audit(by, ROLE_CHANGED, f"{username}: {row.role} -> {role}"))
                row.role = role
                session.execute(delete(SessionRow).where(SessionRow.operator_id == row.id))
            return _operator(row)

    def authenticate(self, username: str, password: str) -> Operator | None:
        """The active operator with these credentials (and a fresh login time), else None."""
        username = normalize_username(username)
        with self._db.transaction() as session:
            row = _find(session, username)
        # Outside any transaction: scrypt takes tens of milliseconds, a flood of logins
        # must not hold the database's writer lock meanwhile.
        matches = verify_password(password, row.password_hash if row else self._decoy)
        if row is None or not matches or not row.active:
            return None
        with self._db.transaction(write=True) as session:
            # Still the same password, still active: else it changed while being checked.
            done = session.execute(
                update(OperatorRow)
                .where(
                    OperatorRow.id == row.id,
                    OperatorRow.password_hash == row.password_hash,
                    OperatorRow.active.is_(True),
                )
                .values(last_login_at=self._clock())
            )
            if done.rowcount != 1:
                return None
            fresh = session.get(OperatorRow, row.id, populate_existing=True)
            return _operator(fresh)

    def change_password(
        self, username: str, current: str, new: str, *, keep_session: str | None = None
    ) -> bool:
        """The operator's own change: False if ``current`` is wrong. Every console session
        of the account ends but the one whose token hash is ``keep_session``."""
        username = normalize_username(username)
        _check_password(new)
        with self._db.transaction() as session:
            row = _find(session, username)
        if row is None or not verify_password(current, row.password_hash):
            return False
        if row.must_change_password and new == current:
            raise AccountError("la nuova password deve essere diversa da quella temporanea")
        stored = hash_password(new)
        with self._db.transaction(write=True) as session:
            done = session.execute(
                update(OperatorRow)
                .where(OperatorRow.id == row.id, OperatorRow.password_hash == row.password_hash)
                .values(password_hash=stored, must_change_password=False)
            )
            if done.rowcount != 1:
                return False  # changed meanwhile, by another session or an admin
            ended = delete(SessionRow).where(SessionRow.operator_id == row.id)
            if keep_session is not None:
                ended = ended.where(SessionRow.token_hash != keep_session)
            session.execute(ended)
            session.add(self._audit(username, PASSWORD_CHANGED, username))
        return True

    def reset_password(
        self, username: str, new: str, *, by: str, temporary: bool = True
    ) -> Operator:
        """An admin's reset (console or CLI): the new password, and every session ended.
        The admin knows it: unless ``temporary`` is False, the operator must change it at
        the next login."""
        username = normalize_username(username)
        _check_password(new)
        stored = hash_password(new)
        with self._db.transaction(write=True) as session:
            row = _find(session, username)
            if row is None:
                raise UnknownOperatorError(f"nessun operatore si chiama {username!r}")
            row.password_hash = stored
            row.must_change_password = temporary
            session.execute(delete(SessionRow).where(SessionRow.operator_id == row.id))
            session.add(self._audit(by, PASSWORD_RESET, username))
            return _operator(row)

    def set_publish(self, username: str, allowed: bool, *, by: str) -> Operator:
        """Grant or revoke the permission to publish memos and emergencies (audited)."""
        username = normalize_username(username)
        with self._db.transaction(write=True) as session:
            row = _find(session, username)
            if row is None:
                raise UnknownOperatorError(f"nessun operatore si chiama {username!r}")
            if row.can_publish != allowed:
                row.can_publish = allowed
                action = PUBLISH_GRANTED if allowed else PUBLISH_REVOKED
                session.add(self._audit(by, action, username))
            return _operator(row)

    def _audit(self, by: str, action: str, username: str) -> AuditEvent:
        return AuditEvent(
            at=self._clock(), operator=by[:128], action=action, detail=f"operatore {username}"
        )

    def list(self) -> tuple[Operator, ...]:
        """Every account, active or not, by username."""
        with self._db.transaction() as session:
            rows = session.execute(select(OperatorRow).order_by(OperatorRow.username))
            return tuple(_operator(row) for row in rows.scalars())

    def get(self, username: str) -> Operator | None:
        """The account with this username, active or not."""
        with self._db.transaction() as session:
            row = _find(session, normalize_username(username))
            return _operator(row) if row else None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"la password deve avere almeno {MIN_PASSWORD_LENGTH} caratteri")


def _find(session: Session, username: str) -> OperatorRow | None:
    return session.execute(
        select(OperatorRow).where(OperatorRow.username == username)
    ).scalar_one_or_none()


def _operator(row: OperatorRow) -> Operator:
    return Operator(
        row.id,
        row.username,
        row.display_name,
        row.role,
        row.active,
        row.created_at,
        row.last_login_at,
        bool(row.can_publish),
        bool(row.must_change_password),
    )
