"""Rasa stores adapted to the production profile (endpoints.prod.yml)."""
