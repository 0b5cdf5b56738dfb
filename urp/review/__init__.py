"""The trainers' loop: the messages the bot was unsure of, labelled into the NLU data.

- :mod:`urp.review.masking`: personal data out of a message before anything keeps it;
- :mod:`urp.review.inbox`: Rasa events (a conversation log) to inbox items, grouped;
- :mod:`urp.review.store`: the inbox in the store, and the trainers' decisions;
- :mod:`urp.review.training`: an example written into the right ``data/nlu/<topic>.yml``;
- :mod:`urp.review.export`: the inbox as an NLU YAML file, for an editor;
- :mod:`urp.review.tracker`: Rasa's SQL tracker store read as events.

Nothing here imports Rasa: the event broker, the CLI and the console all use it.
"""
