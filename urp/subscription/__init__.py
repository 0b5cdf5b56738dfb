"""The memo's subscriber register: subscribing, topics and consent
(:mod:`~urp.subscription.subscribers`), its figures (:mod:`~urp.subscription.stats`) and
its spreadsheets for the office (:mod:`~urp.subscription.files`). Sending to the
subscribers is :mod:`urp.broadcasts`."""
