"""Who may use the console: logins, sessions in the database and login throttling.

- The cookie carries a random token; the database keeps only its SHA-256, so a copy of
  the database lets nobody in. A session ends after ``idle`` without requests, ``lifetime``
  after the login however busy (12 hours), at logout, when its operator's password changes,
  or as soon as its operator is disabled, on every console replica at once.
- Each session has its own CSRF token, which every form posts back.
- Throttling, shared by every replica (``login_throttles``): five failed logins for a
  username, or twenty from one client address whatever the usernames, within a window of
  15 minutes block that username, or that address, for 15 minutes. Each attempt first
  takes a place in both counters with one conditional UPDATE each (the row locked on
  PostgreSQL, the writer's lock on SQLite), before any password is checked: concurrent
  attempts can never go past the limit. A success gives its place back; blocked attempts
  check no password and count no further. ``login_failed`` audit rows say who and when;
  the password is never stored or logged.
- scrypt runs outside every transaction (:meth:`OperatorService.authenticate`): a flood of
  logins never holds the database's writer lock while hashing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.orm import Session

from urp.core.clock import Clock, utc_now
from urp.core.db import Database
from urp.core.errors import OperatorError
from urp.core.models import AuditEvent, UTCDateTime
from urp.core.models import ConsoleSession as SessionRow
from urp.core.models import LoginThrottle as ThrottleRow
from urp.core.models import Operator as OperatorRow
from urp.handoff.operators import Operator, OperatorService, normalize_username

logger = logging.getLogger(__name__)

DEFAULT_IDLE = timedelta(hours=8)
DEFAULT_LIFETIME = timedelta(hours=12)  # from the login, whatever the activity
MAX_FAILURES = 5  # per username
MAX_ADDRESS_FAILURES = 20  # per client address, across usernames
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
ACCOUNT = "account"
ADDRESS = "address"
IPV6_PREFIX = 64  # one home or office gets a whole /64: its addresses count as one


class LoginThrottledError(OperatorError, PermissionError):
    """Too many failed logins for this username, or from this address: wait and retry."""

    def __init__(self, scope: str = ACCOUNT) -> None:
        self.scope = scope
        where = "con questo nome utente" if scope == ACCOUNT else "da questa rete"
        super().__init__(f"Troppi tentativi non riusciti {where}: riprova tra 15 minuti.")


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


def address_key(address: str | None) -> str | None:
    """The throttling key of a client address: IPv6 by its /64, None if unknown."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return str(ip)


@dataclass(frozen=True)
class _Taken:
    key: str
    limit: int
    window_start: datetime


class LoginThrottle:
    """Counters of login attempts per account and per address, in the shared database."""

    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self._db = database
        self._clock = clock

    def take(self, keys: list[tuple[str, int]]) -> list[_Taken]:
        """A place in each ``(key, limit)`` counter, or :class:`LoginThrottledError` and
        none taken. One transaction: both places are taken, or neither."""
        now = self._clock()
        taken = []
        with self._db.transaction(write=True) as session:
            for key, limit in keys:
                # A counter forgotten meanwhile (by a login's clean-up) is simply created
                # again: only a counter that is there and full refuses.
                for _ in range(2):
                    session.execute(
                        self._db.upsert_insert(ThrottleRow)
                        .values(key=key, window_start=now, attempts=0)
                        .on_conflict_do_nothing(index_elements=[ThrottleRow.key])
                    )
                    if self._take_one(session, key, limit, now):
                        break
                    exists = select(ThrottleRow.key).where(ThrottleRow.key == key)
                    if session.execute(exists).first() is not None:
                        # The transaction rolls back: the place taken in the other counter too.
                        raise LoginThrottledError(key.partition(":")[0])
                start = session.execute(
                    select(ThrottleRow.window_start).where(ThrottleRow.key == key)
                ).scalar_one()
                taken.append(_Taken(key, limit, start))
        return taken

    @staticmethod
    def _take_one(session: Session, key: str, limit: int, now: datetime) -> bool:
        """One conditional UPDATE: a place if the counter's window is over or not full."""
        expired = ThrottleRow.window_start <= now - FAILURE_WINDOW
        done = session.execute(
            update(ThrottleRow)
            .where(
                ThrottleRow.key == key,
                or_(ThrottleRow.blocked_until.is_(None), ThrottleRow.blocked_until <= now),
                or_(expired, ThrottleRow.attempts < limit),
            )
            .values(
                attempts=case((expired, 1), else_=ThrottleRow.attempts + 1),
                window_start=case(
                    (expired, literal(now, UTCDateTime)), else_=ThrottleRow.window_start
                ),
                blocked_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        return done.rowcount == 1

    def give_back(self, taken: list[_Taken]) -> None:
        """After a success: the places taken were no failures."""
        with self._db.transaction(write=True) as session:
            for place in taken:
                session.execute(
                    update(ThrottleRow)
                    .where(
                        ThrottleRow.key == place.key,
                        ThrottleRow.window_start == place.window_start,
                        ThrottleRow.attempts > 0,
                    )
                    .values(attempts=ThrottleRow.attempts - 1)
                    .execution_options(synchronize_session=False)
                )

    def failed(self, taken: list[_Taken], session: Session) -> None:
        """After a failure (in the caller's transaction): a full counter blocks its key."""
        now = self._clock()
        for place in taken:
            session.execute(
                update(ThrottleRow)
                .where(ThrottleRow.key == place.key, ThrottleRow.attempts >= place.limit)
                .values(blocked_until=now + BLOCK_FOR)
                .execution_options(synchronize_session=False)
            )


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
        keys = [(f"{ACCOUNT}:{name}", MAX_FAILURES)]
        if (where := address_key(address)) is not None:
            keys.append((f"{ADDRESS}:{where}", MAX_ADDRESS_FAILURES))
        try:
            taken = self.throttle.take(keys)
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
            session.execute(
                delete(ThrottleRow).where(
                    ThrottleRow.window_start <= now - FAILURE_WINDOW - BLOCK_FOR,
                    or_(ThrottleRow.blocked_until.is_(None), ThrottleRow.blocked_until <= now),
                )
            )
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
