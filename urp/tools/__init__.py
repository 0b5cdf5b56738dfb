"""Developers' and deployers' tools run by ``make``, never by the served processes: the
install check, the data validation, the NLU evaluation and its gate, the production
databases and the wait for a server to answer. Each is ``python -m urp.tools.<name>``."""
