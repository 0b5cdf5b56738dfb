"""Input channels loaded by the Rasa server (credentials.yml): REST, web chat, WhatsApp
Cloud API, Twilio. Importing the package also guards every custom action of the server
(:mod:`channels.action_guard`): whichever channel a conversation comes from, a failing
action server gets the citizen an apology and an operator.
"""

from channels import action_guard

action_guard.install()
