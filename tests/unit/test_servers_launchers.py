"""Secrets reach the servers through the environment, never through a command line
(servers/rasa_server.py, scripts/processes.sh); every one exists even when the deployer
set none, generated once into var/ and readable only by the user running the assistant."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from servers.rasa_server import NO_SECRET, SECRET_ON_COMMAND_LINE, secret_arguments
from tests.e2e.servers import ROOT

RUN = ["run", "--model", "models/urp.tar.gz", "--enable-api", "--port", "5005"]
SECRETS = ("RASA_AUTH_TOKEN", "RASA_JWT_SECRET", "RASA_JWT_METHOD", "URP_ACTION_SECRET")


def test_the_environments_secrets_are_handed_to_rasa_inside_the_process() -> None:
    added = secret_arguments(RUN, {"RASA_JWT_SECRET": "j", "RASA_AUTH_TOKEN": "t"})
    assert added == ["--jwt-secret", "j", "--jwt-method", "HS256", "--auth-token", "t"]
    assert secret_arguments(RUN, {"RASA_JWT_SECRET": "j", "RASA_JWT_METHOD": "HS512"}) == [
        "--jwt-secret",
        "j",
        "--jwt-method",
        "HS512",
    ]


def test_an_open_api_is_refused() -> None:
    with pytest.raises(SystemExit, match="RASA_JWT_SECRET") as refused:
        secret_arguments(RUN, {"RASA_AUTH_TOKEN": ""})
    assert str(refused.value) == NO_SECRET
    assert secret_arguments(["shell"], {"RASA_JWT_SECRET": "j"}) == []  # no API to protect


@pytest.mark.parametrize("option", ["--auth-token", "--jwt-secret=x", "--auth-tok", "--jwt-p"])
def test_a_secret_on_the_command_line_is_refused(option: str) -> None:
    with pytest.raises(SystemExit) as refused:
        secret_arguments([*RUN, option, "x"], {"RASA_JWT_SECRET": "j"})
    assert str(refused.value) == SECRET_ON_COMMAND_LINE


def test_the_launcher_refuses_before_starting_anything() -> None:
    environment = {k: v for k, v in os.environ.items() if k not in SECRETS}
    process = subprocess.run(
        [sys.executable, "-m", "servers.rasa_server", *RUN, "--auth-token", "visibile"],
        cwd=ROOT,
        env={**environment, "RASA_JWT_SECRET": "j"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode != 0
    assert "mai sulla riga di comando" in process.stderr


def source_processes(folder: Path, **env: str) -> dict[str, str]:
    """The secrets scripts/processes.sh leaves in the environment, started in ``folder``."""
    environment = {k: v for k, v in os.environ.items() if k not in SECRETS}
    names = ("RASA_AUTH_TOKEN", "RASA_JWT_SECRET", "URP_ACTION_SECRET", "URP_ACTIONS_HOST")
    script = f"set -euo pipefail; BIN={ROOT / '.venv' / 'bin'}; "
    script += f"source {ROOT / 'scripts' / 'processes.sh'}; env"
    output = subprocess.run(
        ["bash", "-c", script],
        cwd=folder,
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    exported = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return {name: exported[name] for name in names if name in exported}


def test_make_run_generates_each_secret_once_readable_only_by_its_user(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    first = source_processes(tmp_path)
    files = {
        "RASA_AUTH_TOKEN": "rasa-auth-token",
        "RASA_JWT_SECRET": "rasa-jwt-secret",
        "URP_ACTION_SECRET": "action-secret",
    }
    for name, file in files.items():
        path = tmp_path / "var" / file
        assert first[name] == path.read_text().strip() and len(first[name]) >= 32
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len({first[name] for name in files}) == 3
    assert first["URP_ACTIONS_HOST"] == "127.0.0.1"
    assert source_processes(tmp_path) == first  # kept, not regenerated


def test_the_deployers_secrets_win(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    chosen = source_processes(
        tmp_path, RASA_AUTH_TOKEN="suo-token", URP_ACTION_SECRET="suo-segreto"
    )
    assert chosen["RASA_AUTH_TOKEN"] == "suo-token"
    assert chosen["URP_ACTION_SECRET"] == "suo-segreto"
    # The console and the broker still get a JWT secret of their own.
    assert chosen["RASA_JWT_SECRET"] == (tmp_path / "var" / "rasa-jwt-secret").read_text().strip()
    assert not (tmp_path / "var" / "rasa-auth-token").exists()


# The launcher's own main, with Rasa's version and Rasa's entry point replaced inside the
# process: what the version check decides, and whether Rasa would have started.
LAUNCH = (
    "import sys, rasa.version, rasa.__main__; "
    "rasa.version.__version__ = {version!r}; "
    "rasa.__main__.main = lambda: print('Rasa parte') or 0; "
    "sys.argv = ['servers.rasa_server', *{run!r}]; "
    "from servers import rasa_server; rasa_server.main()"
)


def launch(version: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in SECRETS}
    environment.pop("URP_RASA_PATCHES_OFF", None)
    return subprocess.run(
        [sys.executable, "-c", LAUNCH.format(version=version, run=RUN)],
        cwd=ROOT,
        env={**environment, "RASA_JWT_SECRET": "j", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_launcher_refuses_a_rasa_the_patches_were_not_written_for() -> None:
    process = launch("3.7.0")
    assert process.returncode != 0
    assert "Rasa parte" not in process.stdout
    assert "Rasa non avviato" in process.stderr and "Rasa not started" in process.stderr
    assert "installato Rasa 3.7.0" in process.stderr and "3.6.21" in process.stderr
    assert "URP_RASA_PATCHES_OFF=all" in process.stderr


def test_the_launcher_starts_rasa_with_the_patches_or_with_them_switched_off() -> None:
    assert "Rasa parte" in launch("3.6.21").stdout
    assert "Rasa parte" in launch("3.7.0", URP_RASA_PATCHES_OFF="all").stdout
