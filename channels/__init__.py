"""Input channels loaded by the Rasa server (credentials.yml): REST, web chat, WhatsApp
Cloud API, Twilio. Importing the package also changes three things of the Rasa server's
custom actions, whichever channel a conversation comes from: a failing action server gets
the citizen an apology and an operator (:mod:`channels.action_guard`), the connections to
the action server are reused (:mod:`channels.action_connections`), and the action
server's answers are checked with a schema compiled once (:mod:`channels.action_results`).
"""

from channels import action_guard, action_results

action_guard.install()
action_results.install()
