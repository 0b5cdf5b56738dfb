"""Custom Rasa NLU components of Sportello URP (thin: the logic lives in ``urp``)."""
