# Sourced by run.sh (`make run`) and run-prod.sh (`make run-prod`): the HTTP API's secret
# and the background processes both scripts start. Expects BIN (the venv's bin folder).

# The HTTP API is never open: use the deployer's token, or one generated once and kept
# (readable only by this user) in var/rasa-auth-token. Sets api_auth, the `rasa run` options.
if [[ -z "${RASA_AUTH_TOKEN:-}" && -z "${RASA_JWT_SECRET:-}" ]]; then
  if [[ ! -s var/rasa-auth-token ]]; then
    (umask 077 && "$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))' > var/rasa-auth-token)
  fi
  RASA_AUTH_TOKEN="$(cat var/rasa-auth-token)"
fi
# The console and the Rasa server's event broker call the API with the same secret.
export RASA_AUTH_TOKEN RASA_JWT_SECRET
if [[ -n "${RASA_JWT_SECRET:-}" ]]; then
  api_auth=(--jwt-secret "$RASA_JWT_SECRET" --jwt-method "${RASA_JWT_METHOD:-HS256}")
else
  api_auth=(--auth-token "$RASA_AUTH_TOKEN")
fi

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
