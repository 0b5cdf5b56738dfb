"""Operators' accounts: scrypt hashes, never the password, who may log in and publish."""

from __future__ import annotations

import pytest

from tests.store.conftest import START, FixedClock, raw_rows
from tests.store.test_cli import run
from urp.console.access import ConsoleAccess, token_hash
from urp.core.db import Database
from urp.handoff.operators import (
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


def audit(database: Database, action: str) -> list[tuple[str, str]]:
    return [
        (row["operator"], row["detail"])
        for row in raw_rows(database, "audit_events")
        if row["action"] == action
    ]


def test_publishing_is_granted_per_account_and_audited(
    operators: OperatorService, database: Database
) -> None:
    mario = operators.add("mario.rossi", "Mario Rossi", PASSWORD, "operator")
    anna = operators.add("anna", "Anna Bianchi", PASSWORD, "admin")
    assert not mario.can_publish and not mario.may_publish
    assert anna.may_publish  # admins by their role
    assert operators.set_publish("Mario.Rossi", True, by="anna").may_publish
    assert operators.get("mario.rossi").may_publish  # type: ignore[union-attr]
    operators.set_publish("mario.rossi", True, by="anna")  # no change, no audit row
    assert not operators.set_publish("mario.rossi", False, by="anna").may_publish
    assert audit(database, "publish_granted") == [("anna", "operatore mario.rossi")]
    assert audit(database, "publish_revoked") == [("anna", "operatore mario.rossi")]
    operators.set_publish("mario.rossi", True, by="anna")
    assert not operators.disable("mario.rossi").may_publish  # a disabled account cannot
    with pytest.raises(UnknownOperatorError):
        operators.set_publish("nessuno", True, by="anna")


def test_a_password_change_needs_the_current_one_and_ends_the_other_sessions(
    operators: OperatorService, database: Database
) -> None:
    operators.add("mario.rossi", "Mario Rossi", PASSWORD, "operator")
    access = ConsoleAccess(database, operators)
    here, elsewhere = (access.log_in("mario.rossi", PASSWORD) for _ in range(2))
    assert here is not None and elsewhere is not None
    new = "un-altra-password-lunga"
    assert not operators.change_password("mario.rossi", "sbagliata!!", new)
    with pytest.raises(AccountError, match="almeno 10"):
        operators.change_password("mario.rossi", PASSWORD, "corta")
    assert access.session(elsewhere.token) is not None  # nothing changed yet
    assert operators.change_password(
        "mario.rossi", PASSWORD, new, keep_session=token_hash(here.token)
    )
    assert access.session(here.token) is not None
    assert access.session(elsewhere.token) is None
    assert operators.authenticate("mario.rossi", PASSWORD) is None
    assert operators.authenticate("mario.rossi", new) is not None
    assert audit(database, "password_changed") == [("mario.rossi", "operatore mario.rossi")]


def test_an_admin_reset_ends_every_session(operators: OperatorService, database: Database) -> None:
    operators.add("mario.rossi", "Mario Rossi", PASSWORD, "operator")
    access = ConsoleAccess(database, operators)
    login = access.log_in("mario.rossi", PASSWORD)
    assert login is not None
    operators.reset_password("mario.rossi", "nuova-password-lunga", by="anna")
    assert access.session(login.token) is None
    assert operators.authenticate("mario.rossi", "nuova-password-lunga") is not None
    assert audit(database, "password_reset") == [("anna", "operatore mario.rossi")]
    with pytest.raises(UnknownOperatorError):
        operators.reset_password("nessuno", "nuova-password-lunga", by="anna")


def test_a_password_an_admin_chose_must_be_changed(
    operators: OperatorService, database: Database
) -> None:
    """New accounts from the console and every reset carry ``must_change_password`` until
    the operator chooses their own; a password of their own is never flagged."""
    assert not operators.add(
        "mario.rossi", "Mario Rossi", PASSWORD, "operator"
    ).must_change_password
    lucia = operators.add("lucia", "Lucia Neri", PASSWORD, "operator", temporary=True, by="anna")
    assert lucia.must_change_password
    assert operators.reset_password("mario.rossi", "scelta-da-anna", by="anna").must_change_password
    login = ConsoleAccess(database, operators).log_in("mario.rossi", "scelta-da-anna")
    assert login is not None and login.session.operator.must_change_password
    # Not the same one again: the admin knows it.
    with pytest.raises(AccountError, match="diversa da quella temporanea"):
        operators.change_password("mario.rossi", "scelta-da-anna", "scelta-da-anna")
    assert operators.get("mario.rossi").must_change_password  # type: ignore[union-attr]
    assert not operators.change_password("mario.rossi", "sbagliata!!", "tutta-mia-ora")
    assert operators.get("mario.rossi").must_change_password  # type: ignore[union-attr]
    assert operators.change_password("mario.rossi", "scelta-da-anna", "tutta-mia-ora")
    assert not operators.get("mario.rossi").must_change_password  # type: ignore[union-attr]
    assert [o.must_change_password for o in operators.list()] == [True, False]
    # An explicit permanent reset (a script that knows what it does) is not flagged.
    operators.reset_password("lucia", "scelta-da-lucia", by="anna", temporary=False)
    assert not operators.get("lucia").must_change_password  # type: ignore[union-attr]
    assert [r["must_change_password"] for r in raw_rows(database, "operators")] in (
        [False, False],
        [0, 0],
    )


def test_no_transaction_is_open_while_scrypt_runs(
    operators: OperatorService, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood of logins held the bot's writes for 18 s on SQLite: never hash in one."""
    import urp.handoff.operators

    operators.add("mario.rossi", "Mario Rossi", PASSWORD, "operator")
    access = ConsoleAccess(database, operators)
    login = access.log_in("mario.rossi", PASSWORD, "192.0.2.1")
    assert login is not None
    open_transactions: list[int] = []
    seen: list[int] = []
    transaction, scrypt = database.transaction, urp.handoff.operators._scrypt

    def counted(*args: object, **kwargs: object) -> object:
        class Counted:
            def __enter__(self) -> object:
                self.inner = transaction(*args, **kwargs)  # type: ignore[arg-type]
                open_transactions.append(1)
                return self.inner.__enter__()

            def __exit__(self, *exc: object) -> object:
                open_transactions.pop()
                return self.inner.__exit__(*exc)

        return Counted()

    def watched(*args: object, **kwargs: object) -> bytes:
        seen.append(len(open_transactions))
        return scrypt(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(database, "transaction", counted)
    monkeypatch.setattr(urp.handoff.operators, "_scrypt", watched)
    assert access.log_in("mario.rossi", PASSWORD, "192.0.2.1") is not None
    assert access.log_in("mario.rossi", "sbagliata!!", "192.0.2.1") is None
    assert access.log_in("nessuno", PASSWORD, "192.0.2.1") is None
    assert operators.change_password("mario.rossi", PASSWORD, "nuova-password-lunga")
    operators.reset_password("mario.rossi", PASSWORD, by="anna")
    operators.add("lucia", "Lucia", PASSWORD, "operator")
    assert len(seen) == 7 and set(seen) == {0}


def test_operators_permit_and_password_on_the_command_line(
    cli_env: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("URP_OPERATOR_PASSWORD", PASSWORD)
    code, out, _ = run(capsys, "operators", "add", "mario.rossi", "--name", "Mario Rossi")
    assert code == 0 and "pubblicare" not in out
    code, out, _ = run(capsys, "operators", "add", "lucia", "--name", "Lucia", "--publish")
    assert code == 0 and "può pubblicare memo ed emergenze" in out
    # A password the admin typed is changed at the first login, unless it is already theirs.
    operators = OperatorService(cli_env)
    mario = operators.get("mario.rossi")
    assert mario is not None and mario.must_change_password
    run(capsys, "operators", "add", "anna", "--name", "Anna", "--role", "admin", "--definitiva")
    anna = operators.get("anna")
    assert anna is not None and not anna.must_change_password
    code, out, _ = run(
        capsys, "operators", "permit", "mario.rossi", "--publish", "--operator", "anna"
    )
    assert (code, out) == (0, "Operatore mario.rossi: può pubblicare memo ed emergenze.\n")
    assert "pubblica" in run(capsys, "operators", "list")[1].splitlines()[1]
    code, out, _ = run(capsys, "operators", "permit", "mario.rossi", "--no-publish")
    assert (code, out) == (0, "Operatore mario.rossi: non può pubblicare memo ed emergenze.\n")
    assert [who for who, _ in audit(cli_env, "publish_granted")] == ["anna"]
    assert len(audit(cli_env, "publish_revoked")) == 1

    operators = OperatorService(cli_env)
    login = ConsoleAccess(cli_env, operators).log_in("mario.rossi", PASSWORD)
    assert login is not None
    monkeypatch.setenv("URP_OPERATOR_PASSWORD", "nuova-password-lunga")
    code, out, _ = run(capsys, "operators", "password", "mario.rossi", "--operator", "anna")
    assert code == 0 and "sessioni nella console sono chiuse" in out
    assert ConsoleAccess(cli_env, operators).session(login.token) is None
    assert operators.authenticate("mario.rossi", "nuova-password-lunga") is not None
    # The admin typed it: mario chooses his own at the next login.
    assert operators.get("mario.rossi").must_change_password  # type: ignore[union-attr]
    code, _, err = run(capsys, "operators", "password", "nessuno")
    assert code == 2 and "nessun operatore" in err
