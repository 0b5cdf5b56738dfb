"""The assistant with every Rasa patch switched off (URP_RASA_PATCHES_OFF=all,
docs/patch-rasa.md): the conversation stories pass as they do with the patches, and the
server starts and answers. The patches change how fast Rasa works, not what it says."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from rasa_patches import OFF_ENV
from tests.e2e.servers import ROOT, start, stop

pytestmark = pytest.mark.e2e

MODEL = ROOT / "models" / "urp.tar.gz"
# What the Makefile exports to every target (`make e2e` runs the same command).
MAKE_ENVIRONMENT = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "RASA_TELEMETRY_ENABLED": "false",
    "PYTHONHASHSEED": "0",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}
GUARD_OFF = "Patch action_guard spenta"


def test_the_conversation_stories_pass_with_every_patch_switched_off(tmp_path: Path) -> None:
    process = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "rasa"),
            "test",
            "core",
            "--model",
            str(MODEL),
            "--stories",
            "tests/stories",
            "--fail-on-prediction-errors",
            "--out",
            str(tmp_path / "stories"),
        ],
        cwd=ROOT,
        env={**os.environ, **MAKE_ENVIRONMENT, OFF_ENV: "all"},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    output = process.stdout + process.stderr
    assert process.returncode == 0, output[-6000:]
    assert GUARD_OFF in output  # the switch reached the process that loaded the model
    failed = tmp_path / "stories" / "failed_test_stories.yml"
    assert not failed.exists() or "# None of the test stories failed" in failed.read_text()


def test_the_server_starts_and_answers_with_every_patch_switched_off(tmp_path: Path) -> None:
    assistant = start(tmp_path, **{OFF_ENV: "all"})
    try:
        replies = assistant.chat("senza-patch", "ciao")
        assert replies and all(reply.get("text") for reply in replies)
        replies = assistant.chat("senza-patch", "farmacia di turno oggi")
        assert any("Farmaci" in reply.get("text", "") for reply in replies), replies
        assert GUARD_OFF in assistant.log.read_text(encoding="utf-8", errors="replace")
    finally:
        stop(assistant)
