"""Rasa's TED policy, answering from memory for a dialogue state it has already scored.

TED's prediction depends only on the last ``max_history`` dialogue states (intent, entity
names, slots, previous action, active form): the same states, the same scores. Citizens
ask the same few things, so the same states come back all day; running the transformer
again for each is the largest cost of a message on the Rasa server (docs/performance.md).
Here the scores of the last ``cache_size`` distinct states (default 4096) are kept, and
TED runs only for states it has not seen since the model was loaded. The model, its
training and its predictions are TED's own: this class only remembers them.

When TED also reads the message's text (end-to-end training), the states are not all it
sees, and every prediction runs the model as usual; so does a ``cache_size`` of 0.

config.yml::

    policies:
      - name: components.ted.CachedTEDPolicy
        max_history: 5
        cache_size: 4096
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from rasa.core.featurizers.precomputation import MessageContainerForCoreFeaturization
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

from rasa_patches.rule_matches import states_key

CACHE_SIZE = "cache_size"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True
)
class CachedTEDPolicy(TEDPolicy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**TEDPolicy.get_default_config(), CACHE_SIZE: 4096}

    @property
    def _scores(self) -> OrderedDict[str, PolicyPrediction]:
        scores = self.__dict__.get("_cached_scores")
        if scores is None:
            scores = self.__dict__["_cached_scores"] = OrderedDict()
        return scores

    def _states_are_everything(self) -> bool:
        """Whether TED sees nothing but the dialogue states (not the message's text)."""
        return (
            self.model is not None
            and not self.only_e2e
            and TEXT not in (self.fake_features or {})
            and self.config[CACHE_SIZE] > 0
        )

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        precomputations: MessageContainerForCoreFeaturization | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        if not self._states_are_everything():
            return super().predict_action_probabilities(
                tracker, domain, rule_only_data, precomputations, **kwargs
            )
        key = states_key(self._prediction_states(tracker, domain, rule_only_data=rule_only_data))
        known = self._scores.get(key)
        if known is None:
            known = super().predict_action_probabilities(
                tracker, domain, rule_only_data, precomputations, **kwargs
            )
            self._scores[key] = known
            if len(self._scores) > self.config[CACHE_SIZE]:
                self._scores.popitem(last=False)
        else:
            self._scores.move_to_end(key)
        # A new prediction each time: whoever receives it may change it.
        return self._prediction(
            list(known.probabilities),
            is_end_to_end_prediction=known.is_end_to_end_prediction,
            diagnostic_data=known.diagnostic_data,
        )
