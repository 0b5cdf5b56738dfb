"""What every feature stands on: settings, database, schema, clock, text, dates and hours,
the office's data and spreadsheet files, the salted hashing, the log mask and the small
web server. A module belongs here when two or more features need it and it knows none of
them; nothing here imports a feature package (``lint-imports`` in ``make test``).
"""
