"""Who may use the console: logins, sessions in the database and login throttling.

- The cookie carries a random token; the database keeps only its SHA-256, so a copy of
  the database lets nobody in. A session ends after ``idle`` without requests, at logout,
  or as soon as its operator is disabled, on every console replica at once.
- Each session has its own CSRF token, which every form posts back.
- Throttling counts ``login_failed`` rows of ``audit_events``, which every replica
  shares: five failures for a username within 15 minutes block it for 15 minutes. Blocked
  attempts check no password and count no further. The password is never stored or logged.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from urp.db import Database
from urp.errors import OperatorError
from urp.models import AuditEvent
from urp.models import ConsoleSession as SessionRow
from urp.models import Operator as OperatorRow
from urp.operators import Operator, OperatorService, normalize_username
from urp.subscribers import Clock, utc_now

logger = logging.getLogger(__name__)

DEFAULT_IDLE = timedelta(hours=8)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
BLOCK_FOR = timedelta(minutes=15)
# Writing last_seen_at on every request would make each page view a write.
TOUCH_EVERY = timedelta(minutes=1)
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
AUDIT_DETAIL = "console"
# The audit's operator column; a longer "username" cannot exist anyway.
MAX_AUDIT_NAME = 128


class LoginThrottledError(OperatorError, PermissionError):
    """Too many failed logins for this username: wait before trying again."""

    def __init__(self) -> None:
        super().__init__(
            "Troppi tentativi non riusciti con questo nome utente: riprova tra 15 minuti."
        )


@dataclass(frozen=True)
class ConsoleSession:
    """A live session: who is logged in, and the CSRF token their forms must post."""

    operator: Operator
    csrf_token: str


@dataclass(frozen=True)
class Login:
    session: ConsoleSession
    token: str  # for the cookie only: the database never sees it


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def blocked_until(failures: list[datetime]) -> datetime | None:
    """When the latest block ends: 15 minutes after any failure that made 5 in 15 minutes."""
    ordered = sorted(failures)
    ends = [
        ordered[i] + BLOCK_FOR
        for i in range(MAX_FAILURES - 1, len(ordered))
        if ordered[i] - ordered[i - MAX_FAILURES + 1] <= FAILURE_WINDOW
    ]
    return max(ends, default=None)


class ConsoleAccess:
    """Log in, look up and log out console sessions, all in the shared database."""

    def __init__(
        self,
        database: Database,
        operators: OperatorService,
        *,
        idle: timedelta = DEFAULT_IDLE,
        clock: Clock = utc_now,
    ) -> None:
        if idle <= timedelta(0):
            raise ValueError("the session idle timeout must be positive")
        self._db = database
        self._operators = operators
        self.idle = idle
        self._clock = clock

    def log_in(self, username: str, password: str) -> Login | None:
        """A new session for these credentials; None if wrong, :class:`LoginThrottledError`."""
        name = normalize_username(username)[:MAX_AUDIT_NAME]
        if not name:
            return None
        if self._blocked(name):
            logger.warning("console login blocked for %r: too many failures", name)
            raise LoginThrottledError()
        operator = self._operators.authenticate(name, password)
        now = self._clock()
        with self._db.transaction(write=True) as session:
            if operator is None:
                session.add(
                    AuditEvent(at=now, operator=name, action=LOGIN_FAILED, detail=AUDIT_DETAIL)
                )
                return None
            # Expired sessions of anybody: a login is a good moment to forget them.
            session.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            session.add(
                SessionRow(
                    token_hash=token_hash(token),
                    operator_id=operator.id,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.idle,
                )
            )
            session.add(
                AuditEvent(at=now, operator=operator.username, action=LOGIN, detail=AUDIT_DETAIL)
            )
        return Login(ConsoleSession(operator, csrf), token)

    def session(self, token: str, *, touch: bool = True) -> ConsoleSession | None:
        """The live session of this cookie token, its idle time restarted with ``touch``."""
        now = self._clock()
        with self._db.transaction() as session:
            found = session.execute(
                select(SessionRow, OperatorRow)
                .join(OperatorRow, SessionRow.operator_id == OperatorRow.id)
                .where(
                    SessionRow.token_hash == token_hash(token),
                    SessionRow.expires_at > now,
                    OperatorRow.active.is_(True),
                )
            ).one_or_none()
        if found is None:
            return None
        row, operator = found
        if touch and now - row.last_seen_at >= TOUCH_EVERY:
            with self._db.transaction(write=True) as session:
                session.execute(
                    update(SessionRow)
                    .where(SessionRow.id == row.id)
                    .values(last_seen_at=now, expires_at=now + self.idle)
                )
        return ConsoleSession(
            Operator(
                operator.id,
                operator.username,
                operator.display_name,
                operator.role,
                operator.active,
                operator.created_at,
                operator.last_login_at,
            ),
            row.csrf_token,
        )

    def log_out(self, token: str) -> None:
        now = self._clock()
        with self._db.transaction(write=True) as session:
            username = session.execute(
                select(OperatorRow.username)
                .join(SessionRow, SessionRow.operator_id == OperatorRow.id)
                .where(SessionRow.token_hash == token_hash(token))
            ).scalar_one_or_none()
            if username is None:
                return
            session.execute(delete(SessionRow).where(SessionRow.token_hash == token_hash(token)))
            session.add(AuditEvent(at=now, operator=username, action=LOGOUT, detail=AUDIT_DETAIL))

    def _blocked(self, username: str) -> bool:
        now = self._clock()
        # A block can only come from failures of the last window plus block.
        since = now - FAILURE_WINDOW - BLOCK_FOR
        with self._db.transaction() as session:
            failures = (
                session.execute(
                    select(AuditEvent.at).where(
                        AuditEvent.action == LOGIN_FAILED,
                        AuditEvent.operator == username,
                        AuditEvent.at > since,
                    )
                )
                .scalars()
                .all()
            )
        until = blocked_until(list(failures))
        return until is not None and now < until
