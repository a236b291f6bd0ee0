#!/usr/bin/env bash
# Starts or stops the storage emulators the app tests run against:
# Azurite (Storage Queue + Table), dynalite (DynamoDB) and goaws (SQS).
# All listen on 127.0.0.1 only. `start` installs them on first use and writes
# the endpoints as shell exports to build/emulators.env; `stop` ends exactly
# the processes `start` recorded; `install` only installs. EDW_EMULATORS_STATE
# and EDW_EMULATORS_ENV move the state folder and the exports file (the lab
# runs a second set in its own network namespace).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
state=${EDW_EMULATORS_STATE:-$build/emulators}
envfile=${EDW_EMULATORS_ENV:-$build/emulators.env}

readonly SQS_PORT=4100 DYNAMODB_PORT=4567 QUEUE_PORT=10001 TABLE_PORT=10002 BLOB_PORT=10000
# The emulator's well-known development account (public, not a secret).
readonly DEV_ACCOUNT=devstoreaccount1
readonly DEV_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

install() {
  if [ ! -x "$root/scripts/emulators/node_modules/.bin/azurite" ] || [ ! -x "$root/scripts/emulators/node_modules/.bin/dynalite" ]; then
    echo "emulators: installing azurite and dynalite from npm" >&2
    (cd "$root/scripts/emulators" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  # Built every time (a no-op when nothing changed), so that a changed
  # launcher never runs as its old binary.
  (cd "$root/scripts/tools" && GOPROXY=$(go env GOPROXY | sed "s/,direct$//") go build -o "$build/bin/sqs-emulator" ./sqs-emulator)
}

# spawn NAME CMD...: starts CMD in the background, logs to $state/NAME.log,
# records its PID in $state/NAME.pid.
spawn() {
  local name=$1; shift
  "$@" >"$state/$name.log" 2>&1 &
  echo $! >"$state/$name.pid"
}

wait_port() {
  local name=$1 port=$2
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$(cat "$state/$name.pid")" 2>/dev/null; then
      echo "emulators: $name exited; its log:" >&2; cat "$state/$name.log" >&2; return 1
    fi
    sleep 0.2
  done
  echo "emulators: $name not listening on 127.0.0.1:$port after 20 s" >&2
  return 1
}

start() {
  install
  stop quiet
  mkdir -p "$state"
  cat >"$state/goaws.yaml" <<YAML
Local:
  Host: 127.0.0.1
  Port: $SQS_PORT
  Region: us-east-1
  AccountId: "000000000000"
  LogToFile: false
  QueueAttributeDefaults:
    VisibilityTimeout: 30
    ReceiveMessageWaitTimeSeconds: 0
    MaximumMessageSize: 262144
YAML
  local bin="$root/scripts/emulators/node_modules/.bin"
  spawn azurite "$bin/azurite" --silent --inMemoryPersistence --disableTelemetry --loose --skipApiVersionCheck \
    --blobHost 127.0.0.1 --blobPort $BLOB_PORT --queueHost 127.0.0.1 --queuePort $QUEUE_PORT \
    --tableHost 127.0.0.1 --tablePort $TABLE_PORT
  spawn dynalite "$bin/dynalite" --host 127.0.0.1 --port $DYNAMODB_PORT \
    --createTableMs 0 --deleteTableMs 0 --updateTableMs 0
  spawn sqs "$build/bin/sqs-emulator" -addr "127.0.0.1:$SQS_PORT" -config "$state/goaws.yaml"
  wait_port azurite $QUEUE_PORT
  wait_port azurite $TABLE_PORT
  wait_port dynalite $DYNAMODB_PORT
  wait_port sqs $SQS_PORT
  cat >"$envfile" <<ENV
export EDW_EMULATORS=1
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=emulator
export AWS_SECRET_ACCESS_KEY=emulator
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$SQS_PORT
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DYNAMODB_PORT
export AZURE_STORAGE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=$DEV_ACCOUNT;AccountKey=$DEV_KEY;BlobEndpoint=http://127.0.0.1:$BLOB_PORT/$DEV_ACCOUNT;QueueEndpoint=http://127.0.0.1:$QUEUE_PORT/$DEV_ACCOUNT;TableEndpoint=http://127.0.0.1:$TABLE_PORT/$DEV_ACCOUNT;'
ENV
  echo "emulators: ready; source $envfile" >&2
}

stop() {
  local pidfile pid
  for pidfile in "$state"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then kill "$pid"; fi
    rm -f "$pidfile"
  done
  rm -f "$envfile"
  [ "${1:-}" = quiet ] || echo "emulators: stopped" >&2
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
