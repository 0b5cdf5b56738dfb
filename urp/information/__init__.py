"""The answers the assistant gives from the office's data: memo, pharmacy on duty,
bathing bans, contributions, reports, opening hours, and the replies that word them.
One module per topic, with its service and the ``urp`` commands' loading; a new topic
(«aggiungere un tema» in docs/sviluppo.md) adds its module here."""
