"""Custom actions of Sportello URP: thin glue between Rasa and the ``urp`` package.

``rasa run actions --actions actions`` registers every Action subclass found in the
submodules; each module holds one topic.
"""
