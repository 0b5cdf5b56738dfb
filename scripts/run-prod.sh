#!/usr/bin/env bash
# `make run-prod`: the production profile on this machine. Two Rasa replicas (endpoints.prod.yml:
# conversations in PostgreSQL, locks in Redis, events to RabbitMQ), the action server, the
# operator console and the demo site, behind nginx, against the local PostgreSQL, Redis and
# RabbitMQ. Every setting has a local default and can be overridden by environment
# (docs/deployment.md lists them). Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST="${URP_HOST:-127.0.0.1}"
RASA_PORT="${URP_RASA_PORT:-5005}"
ACTIONS_PORT="${URP_ACTIONS_PORT:-5055}"
CONSOLE_PORT="${URP_CONSOLE_PORT:-5080}"
CONSOLE_INTERNAL_PORT="${URP_CONSOLE_INTERNAL_PORT:-5081}"
WIDGET_PORT="${URP_WIDGET_PORT:-5090}"
REPLICAS="${URP_REPLICAS:-2}"
read -r -a REPLICA_PORTS <<< "${URP_REPLICA_PORTS:-$(seq -s ' ' 5011 $((5010 + REPLICAS)))}"
PROD_DIR="${URP_PROD_DIR:-var/prod}"
MODEL="${URP_MODEL:-models/urp.tar.gz}"
BIN=.venv/bin
NGINX="${URP_NGINX:-/usr/sbin/nginx}"

# The local services; a deployment sets its own.
export URP_DB_URL="${URP_DB_URL:-postgresql://postgres@127.0.0.1:5432/urp}"
export URP_TRACKER_STORE_URL="${URP_TRACKER_STORE_URL:-postgresql://postgres@127.0.0.1:5432/urp_tracker}"
export URP_REDIS_URL="${URP_REDIS_URL:-redis://127.0.0.1:6379/0}"
export URP_REDIS_HOST="${URP_REDIS_HOST:-127.0.0.1}"
export URP_REDIS_PORT="${URP_REDIS_PORT:-6379}"
export URP_REDIS_PASSWORD="${URP_REDIS_PASSWORD:-}"
export URP_LOCK_DB="${URP_LOCK_DB:-1}"
export URP_LOCK_PREFIX="${URP_LOCK_PREFIX:-urp}"
export RABBITMQ_HOST="${RABBITMQ_HOST:-127.0.0.1}"
export RABBITMQ_PORT="${RABBITMQ_PORT:-5672}"
export RABBITMQ_USERNAME="${RABBITMQ_USERNAME:-guest}"
export RABBITMQ_PASSWORD="${RABBITMQ_PASSWORD:-guest}"
export RABBITMQ_QUEUE="${RABBITMQ_QUEUE:-urp_events}"
export RABBITMQ_EXCHANGE="${RABBITMQ_EXCHANGE:-urp_events}"

# One replica per core: each runs TensorFlow on one thread. With TensorFlow's default (a
# pool as large as the machine for every replica) the replicas' threads compete for the
# same cores (docs/performance.md).
export TF_INTRA_OP_PARALLELISM_THREADS="${TF_INTRA_OP_PARALLELISM_THREADS:-1}"
export TF_INTER_OP_PARALLELISM_THREADS="${TF_INTER_OP_PARALLELISM_THREADS:-1}"
# And each replica stays on a core of its own (taskset), when the machine lets this script
# use at least as many cores as there are replicas: a replica the kernel moves from core to
# core loses its caches each time (10-18% more messages per second pinned, on two cores).
# The services (action server, databases, nginx) run on any core. URP_REPLICA_CPUS: "auto"
# (default; nothing pinned without util-linux's taskset), "none", or the cores one by one
# ("0 1"). Measured in docs/performance.md.
REPLICA_CPUS="${URP_REPLICA_CPUS:-auto}"
if [[ "$REPLICA_CPUS" == auto ]] && ! command -v taskset >/dev/null; then
  REPLICA_CPUS=""
elif [[ "$REPLICA_CPUS" == auto ]]; then
  REPLICA_CPUS="$("$BIN/python" -c 'import os, sys
cores, replicas = sorted(os.sched_getaffinity(0)), int(sys.argv[1])
print(*(cores[:replicas] if len(cores) >= replicas > 1 else []))' "${#REPLICA_PORTS[@]}")"
fi
if [[ "$REPLICA_CPUS" == none ]]; then
  REPLICA_CPUS=""
fi
read -r -a REPLICA_CPU_LIST <<< "$REPLICA_CPUS"

export URP_RASA_PORT="$RASA_PORT"
# The console, the handoff recorder and the demo site reach Rasa through the balancer.
export URP_RASA_URL="${URP_RASA_URL:-http://${HOST}:${RASA_PORT}}"
export URP_WIDGET_RASA_URL="${URP_WIDGET_RASA_URL:-$URP_RASA_URL}"
export URP_ACTION_ENDPOINT="${URP_ACTION_ENDPOINT:-http://127.0.0.1:${ACTIONS_PORT}/webhook}"
export URP_CALLBACK_URL="${URP_CALLBACK_URL:-http://127.0.0.1:5034/bot}"
export URP_CONSOLE_SECURE_COOKIES="${URP_CONSOLE_SECURE_COOKIES:-1}"
mkdir -p var "$PROD_DIR"

if [[ ! -x "$NGINX" ]]; then
  echo "nginx non trovato ($NGINX): apt-get install nginx, oppure URP_NGINX=percorso." >&2
  exit 1
fi

# The secrets (from the environment or var/), supervise_children and wait_children.
source scripts/processes.sh

"$BIN/urp" settings check >/dev/null
"$BIN/python" -m urp.tools.databases create "$URP_DB_URL" "$URP_TRACKER_STORE_URL"
"$BIN/urp" db upgrade
"$BIN/urp" data load-examples --if-empty

servers=""
for port in "${REPLICA_PORTS[@]}"; do
  servers+="    server 127.0.0.1:${port} max_fails=1 fail_timeout=5s;"$'\n'
done
PREFIX="$(cd "$PROD_DIR" && pwd)" HOST="$HOST" RASA_PORT="$RASA_PORT" CONSOLE_PORT="$CONSOLE_PORT" \
  CONSOLE_INTERNAL_PORT="$CONSOLE_INTERNAL_PORT" RASA_SERVERS="$servers" \
  "$BIN/python" -c 'import os, string, sys
print(string.Template(sys.stdin.read()).safe_substitute(os.environ), end="")' \
  < scripts/nginx-prod.conf.in > "$PROD_DIR/nginx.conf"
"$NGINX" -t -q -e stderr -p "$PROD_DIR" -c "$(cd "$PROD_DIR" && pwd)/nginx.conf"

supervise_children
# Both through the launchers in servers/: the secrets stay off the command lines, the
# action server on the loopback interface behind URP_ACTION_SECRET.
"$BIN/python" -m servers.action_server --actions actions --port "$ACTIONS_PORT" --quiet &
pids+=($!)
health=("http://${URP_ACTIONS_HOST}:${ACTIONS_PORT}/health")
for index in "${!REPLICA_PORTS[@]}"; do
  port="${REPLICA_PORTS[$index]}"
  pin=()
  if ((${#REPLICA_CPU_LIST[@]})); then
    pin=(taskset -c "${REPLICA_CPU_LIST[$((index % ${#REPLICA_CPU_LIST[@]}))]}")
  fi
  "${pin[@]}" "$BIN/python" -m servers.rasa_server run --model "$MODEL" --enable-api \
    --interface 127.0.0.1 --port "$port" \
    --credentials credentials.yml --endpoints endpoints.prod.yml --cors "*" --quiet &
  pids+=($!)
  health+=("http://127.0.0.1:${port}/")
done
"$BIN/urp" console serve --host 127.0.0.1 --port "$CONSOLE_INTERNAL_PORT" &
pids+=($!)
"$BIN/urp" widget serve --host 127.0.0.1 --port "$WIDGET_PORT" &
pids+=($!)
"$NGINX" -e stderr -p "$PROD_DIR" -c "$(cd "$PROD_DIR" && pwd)/nginx.conf" &
pids+=($!)
health+=("http://${HOST}:${RASA_PORT}/nginx-health" "http://127.0.0.1:${CONSOLE_INTERNAL_PORT}/health"
  "http://127.0.0.1:${WIDGET_PORT}/health")

echo "Avvio del profilo di produzione: ${#REPLICA_PORTS[@]} repliche di Rasa (porte ${REPLICA_PORTS[*]})..."
"$BIN/python" -m urp.tools.wait_http "${health[@]}" --timeout 600 --pids "${pids[@]}"

cat <<MSG

Sportello URP è pronto.
  Profilo di produzione: ${#REPLICA_PORTS[@]} repliche di Rasa dietro nginx su http://${HOST}:${RASA_PORT}
    conversazioni: PostgreSQL (URP_TRACKER_STORE_URL), lock: Redis ${URP_REDIS_HOST}:${URP_REDIS_PORT} db ${URP_LOCK_DB},
    eventi: RabbitMQ ${RABBITMQ_HOST}:${RABBITMQ_PORT} (coda ${RABBITMQ_QUEUE}), archivio: URP_DB_URL
  Chatta dal terminale:
    curl -s ${HOST}:${RASA_PORT}/webhooks/rest/webhook -d '{"sender":"prova","message":"ciao"}'
  Console degli operatori: http://${HOST}:${CONSOLE_PORT}
  Sito di prova con la chat del Comune: http://127.0.0.1:${WIDGET_PORT}
  Guida: docs/deployment.md
Premi Ctrl-C per fermare tutto.
MSG

wait_children
