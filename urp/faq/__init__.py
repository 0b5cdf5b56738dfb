"""The office's knowledge base (FAQ): the Comune's answers to what citizens ask beyond
the assistant's own services (taxes, identity cards, waste, libraries...).

An entry is one answer with the several ways citizens ask for it. The office writes them
in a YAML file (:mod:`urp.faq.entries`, ``urp faq import``) or in the console, operators'
replies become drafts that trainers publish, and the store (:mod:`urp.faq.store`) keeps
them in the project's database, so that every replica answers from the same entries
without retraining the NLU.
"""
