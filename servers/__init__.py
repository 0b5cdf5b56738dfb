"""How `make run` and `make run-prod` start the Rasa server and the action server.

Two small launchers around Rasa's and rasa-sdk's own entry points, so that every secret
comes from the environment and never appears on a command line (``/proc/PID/cmdline`` is
readable by every user of the machine), and so that the action server listens on the
loopback interface and answers only the Rasa server:

- :mod:`servers.rasa_server`: ``rasa run ...`` with the HTTP API's secrets added inside
  the process;
- :mod:`servers.action_server`: rasa-sdk's action server, on ``URP_ACTIONS_HOST``, behind
  the shared secret ``URP_ACTION_SECRET``.
"""
