"""What happens to a citizen's message before the assistant reads it: cleaning, body
checks, the rate limit and the service keywords. Whatever every channel does to a message
on its way in belongs here; what one provider sends (Meta's, Twilio's webhooks) belongs
to :mod:`urp.whatsapp`."""
