#!/usr/bin/env bash
# `make run`: the action server, the Rasa server, the operator console and the demo site
# with the chat widget, on localhost with embedded defaults. Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."

RASA_PORT="${URP_RASA_PORT:-5005}"
ACTIONS_PORT="${URP_ACTIONS_PORT:-5055}"
CONSOLE_PORT="${URP_CONSOLE_PORT:-5080}"
WIDGET_PORT="${URP_WIDGET_PORT:-5090}"
export URP_RASA_PORT="$RASA_PORT"
export URP_ACTION_ENDPOINT="${URP_ACTION_ENDPOINT:-http://127.0.0.1:${ACTIONS_PORT}/webhook}"
export URP_CALLBACK_URL="${URP_CALLBACK_URL:-http://127.0.0.1:5034/bot}"
export URP_TRACKER_DB="${URP_TRACKER_DB:-var/rasa-tracker.db}"
BIN=.venv/bin
mkdir -p var

# The secrets (from the environment or var/), supervise_children and wait_children.
source scripts/processes.sh

"$BIN/urp" settings check >/dev/null
"$BIN/urp" db upgrade
"$BIN/urp" data load-examples --if-empty

supervise_children
# Both through the launchers in servers/: the secrets stay off the command lines, the
# action server on the loopback interface behind URP_ACTION_SECRET.
"$BIN/python" -m servers.action_server --actions actions --port "$ACTIONS_PORT" --quiet &
pids+=($!)
"$BIN/python" -m servers.rasa_server run --model models/urp.tar.gz --enable-api \
  --interface 127.0.0.1 --port "$RASA_PORT" \
  --credentials credentials.yml --endpoints endpoints.yml --cors "*" --quiet &
pids+=($!)
"$BIN/urp" console serve --host 127.0.0.1 --port "$CONSOLE_PORT" &
pids+=($!)
"$BIN/urp" widget serve --host 127.0.0.1 --port "$WIDGET_PORT" &
pids+=($!)

echo "Avvio dell'assistente (il primo caricamento del modello richiede qualche secondo)..."
"$BIN/python" -m urp.tools.wait_http "http://${URP_ACTIONS_HOST}:${ACTIONS_PORT}/health" \
  "http://127.0.0.1:${RASA_PORT}/" "http://127.0.0.1:${CONSOLE_PORT}/health" \
  "http://127.0.0.1:${WIDGET_PORT}/health" \
  --timeout 300 --pids "${pids[@]}"

cat <<MSG

Sportello URP è pronto.
  Chatta dal terminale:
    curl -s localhost:${RASA_PORT}/webhooks/rest/webhook -d '{"sender":"prova","message":"ciao"}'
  oppure, in un altro terminale, con la console di Rasa:
    make shell
  Console degli operatori: http://127.0.0.1:${CONSOLE_PORT}
    (un account: .venv/bin/urp operators add NOME --name "Nome Cognome" --role admin)
  Sito di prova con la chat del Comune: http://127.0.0.1:${WIDGET_PORT}
  API HTTP di Rasa: protetta dal token in var/rasa-auth-token (o RASA_AUTH_TOKEN)
  Comune: ${URP_SETTINGS:-settings/ancona.yml}
Premi Ctrl-C per fermare tutto.
MSG

wait_children
