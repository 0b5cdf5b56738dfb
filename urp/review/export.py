"""The inbox as a Rasa NLU YAML file: each message under its suggested intent.

For a trainer who prefers an editor to the console: fix the intents, delete what is not
worth keeping, then add the examples with ``urp nlu add`` (which refuses duplicates and
contradictions). The messages are masked already; none of them is an example until
someone has checked it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from urp.review.inbox import InboxItem

UNSURE = "nlu_fallback"  # no suggestion at all: the trainer must choose


def to_nlu_yaml(items: Iterable[InboxItem]) -> str:
    by_intent: dict[str, list[InboxItem]] = defaultdict(list)
    for item in items:
        by_intent[item.suggested_intent or UNSURE].append(item)
    lines = [
        "# Casella dei formatori (urp review export): messaggi su cui l'assistente era incerto,",
        "# con i dati personali mascherati e l'intent suggerito dal modello. Da controllare:",
        "# nessuno è ancora un esempio di addestramento (si aggiungono con `urp nlu add`).",
        'version: "3.1"',
        "nlu:",
    ]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        for item in by_intent[intent]:
            text = " ".join(item.text.split())
            lines.append(f"    - {text}")
    if not by_intent:
        lines[-1] = "nlu: []"
    return "\n".join(lines) + "\n"
