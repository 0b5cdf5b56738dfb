"""The answers the assistant gives from the office's data: memo, pharmacy on duty,
bathing bans, contributions, reports, opening hours, and the replies that word them."""
