# Sourced by run.sh (`make run`) and run-prod.sh (`make run-prod`): the secrets and the
# background processes both scripts start. Expects BIN (the venv's bin folder).

# A secret from the deployer's environment, or one generated once and kept (readable only
# by this user) in FILE; exported. Never on a command line: the launchers (servers/) read
# them from the environment.
keep_secret() {
  local name="$1" file="$2"
  if [[ -z "${!name:-}" ]]; then
    if [[ ! -s "$file" ]]; then
      (umask 077 && "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))' > "$file")
    fi
    printf -v "$name" '%s' "$(cat "$file")"
  fi
  export "$name"
}

# The HTTP API is never open. The console, the handoff recorder and the broker call it with
# a JWT signed with RASA_JWT_SECRET; RASA_AUTH_TOKEN (?token=) is for people and their
# tools: the deployer's, or one generated in var/rasa-auth-token when neither is set.
if [[ -z "${RASA_AUTH_TOKEN:-}" && -z "${RASA_JWT_SECRET:-}" ]]; then
  keep_secret RASA_AUTH_TOKEN var/rasa-auth-token
fi
keep_secret RASA_JWT_SECRET var/rasa-jwt-secret
export RASA_AUTH_TOKEN="${RASA_AUTH_TOKEN:-}"
# What the Rasa server sends to the action server on every call (endpoints*.yml), and the
# action server requires; the action server listens on the loopback interface unless the
# deployer puts it elsewhere (URP_ACTIONS_HOST, with URP_ACTION_ENDPOINT to match).
keep_secret URP_ACTION_SECRET var/action-secret
export URP_ACTIONS_HOST="${URP_ACTIONS_HOST:-127.0.0.1}"

# Background jobs of a script ignore Ctrl-C: stop them explicitly, on any exit.
stop_children() {
  trap - INT TERM EXIT
  echo
  echo "Arresto in corso..."
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  echo "Fermato."
}

# From here on, the processes started into pids are stopped with the script.
supervise_children() {
  pids=()
  trap 'stop_children; exit 0' INT TERM
  trap stop_children EXIT
}

# Wait until the first process ends, then stop the others (the EXIT trap).
wait_children() {
  local status=0
  wait -n "${pids[@]}" || status=$?
  # On Ctrl-C the servers handle the SIGINT themselves and end cleanly, and bash then leaves
  # its own trap alone (it assumes the child dealt with it): a clean end is a stop, any
  # other is a crash.
  if (( status == 0 || status == 130 )); then
    exit 0
  fi
  echo "Un processo si è fermato (codice $status): arresto anche gli altri." >&2
  exit 1
}
