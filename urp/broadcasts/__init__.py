"""Sending a memo or an emergency to the subscribers of some topics, on WhatsApp.

The operators' side of a broadcast (start, cancel, resume, reports) is
:mod:`urp.broadcasts.service`; how each recipient gets exactly one message, whatever the
workers and Meta do, is :mod:`urp.broadcasts.delivery`; the process that sends at the
job's rate is :mod:`urp.broadcasts.worker`. What is sent (the memo's wording) belongs to
:mod:`urp.information.memo`, how it is posted to :mod:`urp.whatsapp`.
"""
