"""WhatsApp, through Meta's Cloud API or Twilio: the webhooks read strictly, sending with
careful retries, the inbox that keeps a message until Rasa has handled it, and what the
channel remembers (deliveries seen, the 24-hour window, our messages' statuses). The Rasa
channels in ``channels/`` are thin layers over this package."""
