"""`rasa data validate`, failing on every warning but three known false positives.

Rasa 3.6's validator reports the questions of a form (``utter_ask_<slot>`` for a slot the
form requires) as "not used in any story or rule", although the form itself utters them;
the responses the server's own code sends outside the dialogue (the rate-limit notice of
the channels' gate and the action guard, :data:`OUTSIDE_DIALOGUE`) likewise; and the external intents
(``EXTERNAL_*``, injected with ``trigger_intent`` by the operator console, never said by a
citizen) and the FAQ's button intent (``choose_faq``, sent only by the «Forse cerchi:»
buttons with the entry's id) as "not found in the NLU training data". Those lines, and only those, are
tolerated; any other warning or error fails the check.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from urp.core.settings import PROJECT_ROOT

# Responses sent by the Rasa server's own code, never predicted by a policy: the rate-limit
# notice (urp.inbound.ratelimit), the apologies when the action server fails
# (rasa_patches/action_guard.py) and the AI disclosure of every session's start
# (actions/session.py). A unit test keeps this list equal to theirs.
OUTSIDE_DIALOGUE = frozenset(
    {
        "utter_rate_limited",
        "utter_actions_down",
        "utter_actions_down_handoff",
        "utter_ai_disclosure",
    }
)

_UNUSED = re.compile(r"The utterance '(utter_\w+)' is not used in any story or rule")
_EXTERNAL = re.compile(
    r"The intent '(EXTERNAL_\w+|choose_faq)' is listed in the domain file, but is not found in the NLU"
)
_WARNING = re.compile(r"UserWarning|\bWARNING\b|\bERROR\b|Error:")


def form_questions(domain_file: Path) -> set[str]:
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8"))
    slots = {
        slot
        for form in (domain.get("forms") or {}).values()
        for slot in form.get("required_slots", [])
    }
    return {f"utter_ask_{slot}" for slot in slots} & set(domain.get("responses", {}))


def problems(output: str, tolerated: set[str] | frozenset[str]) -> list[str]:
    """The warning and error lines of the validator's output, but the tolerated ones."""
    found = []
    for line in output.splitlines():
        unused = _UNUSED.search(line)
        if (unused and unused.group(1) in tolerated) or _EXTERNAL.search(line):
            continue
        if _WARNING.search(line) and "DeprecationWarning" not in line:
            found.append(line.strip())
    return found


def main() -> int:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("rasa")), "data", "validate"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    tolerated = form_questions(PROJECT_ROOT / "domain.yml") | OUTSIDE_DIALOGUE
    found = problems(result.stdout + result.stderr, tolerated)
    if result.returncode != 0 or found:
        print("rasa data validate:", *found, sep="\n  ", file=sys.stderr)
        return 1
    print("rasa data validate: nessun avviso")
    return 0


if __name__ == "__main__":
    sys.exit(main())
