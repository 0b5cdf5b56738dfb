"""What every feature stands on: settings, database, schema, clock, text, dates and hours,
the office's data files, the salted hashing, the log mask and the small web server.

Nothing here imports a feature package (enforced by ``importlinter`` in ``make test``).
"""
