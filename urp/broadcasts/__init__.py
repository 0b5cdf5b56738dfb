"""Sending a memo or an emergency to the subscribers: the jobs (service) and their worker."""
