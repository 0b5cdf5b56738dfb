"""What happens to a citizen's message before the assistant reads it: cleaning, body
checks, the rate limit and the service keywords."""
