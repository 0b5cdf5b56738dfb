"""A message's features joined for DIET (rasa_patches/message_features.py): the same values,
formats and origins as Rasa's own deep-copying join, and nothing shared with the message."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message

import rasa_patches
from rasa_patches.message_features import _rasas_combine_features, combine_features


def _message(kind) -> Message:
    chance = np.random.default_rng(3)
    message = Message({TEXT: "orari dell'anagrafe"})
    for origin, width in (("regex", 4), ("lexical", 9), ("words", 30), ("chars", 50)):
        for feature_type, rows in ((FEATURE_TYPE_SEQUENCE, 3), (FEATURE_TYPE_SENTENCE, 1)):
            values = (chance.random((rows, width)) > 0.7).astype(np.float32)
            message.add_features(Features(kind(values), feature_type, TEXT, origin))
    return message


def _same(ours: Features | None, rasas: Features | None) -> None:
    assert (ours is None) == (rasas is None)
    if ours is None:
        return
    assert type(ours.features) is type(rasas.features)
    assert ours.type == rasas.type and ours.attribute == rasas.attribute
    assert ours.origin == rasas.origin
    left, right = ours.features, rasas.features
    if scipy.sparse.issparse(left):
        left, right = left.toarray(), right.toarray()
    np.testing.assert_array_equal(left, right)


def test_installed_for_every_message() -> None:
    rasa_patches.install_all({})  # every patch, whatever the shell says
    assert Message._combine_features is combine_features


@pytest.mark.parametrize("kind", [scipy.sparse.coo_matrix, scipy.sparse.csr_matrix, np.array])
@pytest.mark.parametrize("featurizers", [[], ["words"], ["chars", "regex"]])
def test_the_same_features_as_rasa(kind, featurizers) -> None:
    message = _message(kind)
    for feature_type in (FEATURE_TYPE_SEQUENCE, FEATURE_TYPE_SENTENCE):
        chosen = [
            f
            for f in message.features
            if f.type == feature_type and (f.origin in featurizers or not featurizers)
        ]
        _same(combine_features(chosen, featurizers), _rasas_combine_features(chosen, featurizers))
    assert combine_features([], ["words"]) is None


@pytest.mark.parametrize("kind", [scipy.sparse.coo_matrix, np.array])
def test_nothing_is_shared_with_the_message(kind) -> None:
    message = _message(kind)
    first = message.features[0]
    before = first.features.copy()
    combined = combine_features([first], ["regex"])
    assert combined is not None and combined.features is not first.features
    if scipy.sparse.issparse(combined.features):
        combined.features.data[:] = 42
    else:
        combined.features[:] = 42
    _same(first, Features(before, first.type, first.attribute, first.origin))
