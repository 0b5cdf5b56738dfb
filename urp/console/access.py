"""Who may use the console: logins and sessions, in the shared database.

- The cookie carries a random token; the database keeps only its SHA-256, so a copy of
  the database lets nobody in. A session ends after ``idle`` without requests, ``lifetime``
  after the login however busy (12 hours), at logout, when its operator's password changes,
  or as soon as its operator is disabled, on every console replica at once.
- Each session has its own CSRF token, which every form posts back.
- Throttling (:mod:`urp.console.throttle`): too many failed logins for a username, or
  from one address, block it for 15 minutes on every replica; ``login_failed`` audit rows
  say who and when; the password is never stored or logged.
- A session whose operator still has a password an admin chose
  (:attr:`~urp.handoff.operators.Operator.must_change_password`) is live, but the console
  serves it only «Il tuo account» and the logout (:meth:`urp.console.shell.Shell.current`).
- scrypt runs outside every transaction (:meth:`OperatorService.authenticate`): a flood of
  logins never holds the database's writer lock while hashing.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update

from urp.console.throttle import LoginThrottle, LoginThrottledError, counters
from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.models import AuditEvent
from urp.core.models import ConsoleSession as SessionRow
from urp.core.models import Operator as OperatorRow
from urp.handoff.operators import Operator, OperatorService, normalize_username

logger = logging.getLogger(__name__)

DEFAULT_IDLE = timedelta(hours=8)
DEFAULT_LIFETIME = timedelta(hours=12)  # from the login, whatever the activity
# Writing last_seen_at on every request would make each page view a write.
TOUCH_EVERY = timedelta(minutes=1)
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
AUDIT_DETAIL = "console"
# The audit's operator column; a longer "username" cannot exist anyway.
MAX_AUDIT_NAME = 128


@dataclass(frozen=True)
class ConsoleSession:
    """A live session: who is logged in, and the CSRF token their forms must post."""

    operator: Operator
    csrf_token: str
    token_hash: str = ""  # of the cookie's token: the password change keeps this session


@dataclass(frozen=True)
class Login:
    session: ConsoleSession
    token: str  # for the cookie only: the database never sees it


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleAccess:
    """Log in, look up and log out console sessions, all in the shared database."""

    def __init__(
        self,
        database: Database,
        operators: OperatorService,
        *,
        idle: timedelta = DEFAULT_IDLE,
        lifetime: timedelta = DEFAULT_LIFETIME,
        clock: Clock = utc_now,
    ) -> None:
        if idle <= timedelta(0) or lifetime <= timedelta(0):
            raise ValueError("the session idle timeout and lifetime must be positive")
        self._db = database
        self._operators = operators
        self.idle = idle
        self.lifetime = lifetime
        self._clock = clock
        self.throttle = LoginThrottle(database, clock)

    def log_in(self, username: str, password: str, address: str | None = None) -> Login | None:
        """A new session for these credentials from the client ``address``; None if wrong,
        :class:`LoginThrottledError` if the username or the address is blocked."""
        name = normalize_username(username)[:MAX_AUDIT_NAME]
        if not name:
            return None
        try:
            taken = self.throttle.take(counters(name, address))
        except LoginThrottledError as error:
            logger.warning(
                "console login blocked for %r: too many failures (%s)", name, error.scope
            )
            raise
        operator = self._operators.authenticate(name, password)
        now = self._clock()
        if operator is None:
            with self._db.transaction(write=True) as session:
                self.throttle.failed(taken, session)
                session.add(
                    AuditEvent(at=now, operator=name, action=LOGIN_FAILED, detail=AUDIT_DETAIL)
                )
            return None
        self.throttle.give_back(taken)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self._db.transaction(write=True) as session:
            # Expired sessions and counters of anybody: a login is a good moment to forget them.
            session.execute(delete(SessionRow).where(SessionRow.expires_at <= now))
            LoginThrottle.forget_stale(session, now)
            session.add(
                SessionRow(
                    token_hash=token_hash(token),
                    operator_id=operator.id,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + min(self.idle, self.lifetime),
                )
            )
            session.add(
                AuditEvent(at=now, operator=operator.username, action=LOGIN, detail=AUDIT_DETAIL)
            )
        return Login(ConsoleSession(operator, csrf, token_hash(token)), token)

    def session(self, token: str, *, touch: bool = True) -> ConsoleSession | None:
        """The live session of this cookie token, its idle time restarted with ``touch``
        (never beyond ``lifetime`` after the login)."""
        now = self._clock()
        hashed = token_hash(token)
        with self._db.transaction() as session:
            found = session.execute(
                select(SessionRow, OperatorRow)
                .join(OperatorRow, SessionRow.operator_id == OperatorRow.id)
                .where(
                    SessionRow.token_hash == hashed,
                    SessionRow.expires_at > now,
                    SessionRow.created_at > now - self.lifetime,
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
                    .values(
                        last_seen_at=now,
                        expires_at=min(now + self.idle, row.created_at + self.lifetime),
                    )
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
                bool(operator.can_publish),
                bool(operator.must_change_password),
            ),
            row.csrf_token,
            hashed,
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
