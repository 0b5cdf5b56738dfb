"""Service keywords: "Iscrivimi", "Cancellami", "torna al bot" always mean what they say.

Citizens have been told for years to send exactly these words. Whatever the classifier
thinks, a message that is only the keyword (any case, spacing or punctuation) gets the
intent with full confidence. The keywords come from the settings file.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from urp.core.settings import current_settings
from urp.inbound.keywords import keyword_intent


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class ServiceKeywordClassifier(GraphComponent):
    """Overrides the intent of messages that are exactly a service keyword."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ServiceKeywordClassifier:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        subscription = current_settings().subscription
        for message in messages:
            intent = keyword_intent(message.get(TEXT) or "", subscription)
            if intent is None:
                continue
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != intent]
            message.set(INTENT, {"name": intent, "confidence": 1.0}, add_to_output=True)
            message.set(
                INTENT_RANKING_KEY,
                [{"name": intent, "confidence": 1.0}, *ranking],
                add_to_output=True,
            )
        return messages
