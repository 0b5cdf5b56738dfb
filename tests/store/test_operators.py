"""Operators' accounts: scrypt hashes, never the password, and who may log in."""

from __future__ import annotations

import pytest

from tests.store.conftest import START, FixedClock, raw_rows
from urp.db import Database
from urp.operators import (
    AccountError,
    OperatorService,
    UnknownOperatorError,
    hash_password,
    verify_password,
)

PASSWORD = "corretto-cavallo-42"


@pytest.fixture
def operators(database: Database, clock: FixedClock) -> OperatorService:
    return OperatorService(database, clock=clock)


def test_add_and_list(operators: OperatorService, clock: FixedClock) -> None:
    added = operators.add("Mario.Rossi", " Mario Rossi ", PASSWORD, "operator")
    operators.add("anna_b", "Anna Bianchi", PASSWORD, "admin")
    assert (added.username, added.display_name, added.role) == (
        "mario.rossi",
        "Mario Rossi",
        "operator",
    )
    assert added.active and added.created_at == START and added.last_login_at is None
    assert [o.username for o in operators.list()] == ["anna_b", "mario.rossi"]
    assert operators.get("MARIO.ROSSI") == added


def test_passwords_are_never_stored_in_clear(
    operators: OperatorService, database: Database
) -> None:
    operators.add("mario.rossi", "Mario Rossi", PASSWORD, "operator")
    operators.add("anna.b", "Anna Bianchi", PASSWORD, "operator")
    rows = raw_rows(database, "operators")
    assert all(PASSWORD not in str(value) for row in rows for value in row.values())
    hashes = [row["password_hash"] for row in rows]
    assert all(h.startswith("scrypt$32768$8$1$") and len(h.split("$")) == 6 for h in hashes)
    assert hashes[0] != hashes[1]  # a random salt each
    assert PASSWORD not in repr(operators.list())


@pytest.mark.parametrize(
    ("username", "name", "password", "role", "message"),
    [
        ("mr", "Mario", PASSWORD, "operator", "nome utente non valido"),
        ("mario rossi", "Mario", PASSWORD, "operator", "nome utente non valido"),
        ("m" * 33, "Mario", PASSWORD, "operator", "nome utente non valido"),
        ("mario", " ", PASSWORD, "operator", "il nome"),
        ("mario", "Mario", "corta-123", "operator", "almeno 10 caratteri"),
        ("mario", "Mario", PASSWORD, "boss", "ruolo non valido"),
    ],
)
def test_bad_accounts_are_refused(
    operators: OperatorService, username: str, name: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(AccountError, match=message):
        operators.add(username, name, password, role)
    assert operators.list() == ()


def test_a_username_is_taken_once(operators: OperatorService) -> None:
    operators.add("mario.rossi", "Mario Rossi", PASSWORD, "operator")
    with pytest.raises(AccountError, match="esiste già"):
        operators.add("Mario.Rossi", "Un altro Mario", PASSWORD, "trainer")
    assert [o.display_name for o in operators.list()] == ["Mario Rossi"]


def test_authenticate(operators: OperatorService, clock: FixedClock) -> None:
    operators.add("mario.rossi", "Mario Rossi", PASSWORD, "operator")
    login = clock.advance(hours=1)
    operator = operators.authenticate(" Mario.Rossi", PASSWORD)
    assert operator is not None and operator.last_login_at == login
    assert operators.get("mario.rossi").last_login_at == login  # type: ignore[union-attr]
    clock.advance(hours=1)
    assert operators.authenticate("mario.rossi", PASSWORD + "x") is None
    assert operators.authenticate("nessuno", PASSWORD) is None
    assert operators.get("mario.rossi").last_login_at == login  # type: ignore[union-attr]


def test_a_disabled_operator_cannot_log_in(operators: OperatorService) -> None:
    operators.add("mario.rossi", "Mario Rossi", PASSWORD, "operator")
    disabled = operators.disable("MARIO.ROSSI")
    assert not disabled.active
    assert operators.authenticate("mario.rossi", PASSWORD) is None
    assert operators.get("mario.rossi").last_login_at is None  # type: ignore[union-attr]
    with pytest.raises(UnknownOperatorError):
        operators.disable("nessuno")


def test_verify_password() -> None:
    stored = hash_password(PASSWORD, n=2**10)  # the cost travels with the hash
    assert stored.startswith("scrypt$1024$")
    assert verify_password(PASSWORD, stored)
    assert not verify_password("altra-password", stored)
    for damaged in ("", "scrypt$x", stored.replace("scrypt", "bcrypt"), stored[:-3] + "zzz"):
        assert not verify_password(PASSWORD, damaged)
