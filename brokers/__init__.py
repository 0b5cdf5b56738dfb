"""Event brokers loaded by the Rasa server (``event_broker`` in endpoints.yml)."""
