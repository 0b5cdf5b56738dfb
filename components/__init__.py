"""Custom Rasa components of Sportello URP (thin: the logic lives in ``urp``).

Importing the package (the model's pipeline does) also makes the dialogue policies share
a conversation's dialogue states instead of each rebuilding them
(:mod:`components.dialogue_states`), and joins a message's features without deep-copying
them (:mod:`components.message_features`).
"""

from components import dialogue_states, message_features

dialogue_states.install()
message_features.install()
