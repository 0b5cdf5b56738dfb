"""Handing a chat to a human operator and back.

The queue and its races (:mod:`~urp.handoff.queue`, its values in
:mod:`~urp.handoff.records`), the timeouts (:mod:`~urp.handoff.sweep`), the daily
figures (:mod:`~urp.handoff.stats`), what the bot hands over
(:mod:`~urp.handoff.transcript`), the live chat between operator and citizen
(:mod:`~urp.handoff.chat`), the operators' accounts, their quick replies and the calls
to the Rasa server's API. The console's pages that show all this are :mod:`urp.console`.
"""
