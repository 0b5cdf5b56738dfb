"""Input channels loaded by the Rasa server (credentials.yml): WhatsApp Cloud API, Twilio."""
