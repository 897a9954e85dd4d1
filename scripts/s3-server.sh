#!/usr/bin/env bash
# Starts or stops a local S3 server (versitygw, posix backend) for manual
# use, e.g. to run corpus-audit against s3:// locations:
#
#   scripts/s3-server.sh start    # prints the environment to use it
#   scripts/s3-server.sh env      # prints it again
#   scripts/s3-server.sh stop
#
# It listens on 127.0.0.1:${S3_PORT:-7070} and keeps buckets as folders
# under ${S3_DATA:-$CACHE/s3-data}. Keys: $S3_ACCESS_KEY / $S3_SECRET_KEY
# (default: corpus-audit / corpus-audit-secret). Tests do not use this
# script: package lake/s3test starts a server of their own.
set -euo pipefail

cache="${CORPUS_AUDIT_CACHE:-$HOME/.cache/corpus-audit}"
port="${S3_PORT:-7070}"
data="${S3_DATA:-$cache/s3-data}"
access="${S3_ACCESS_KEY:-corpus-audit}"
secret="${S3_SECRET_KEY:-corpus-audit-secret}"
run="$cache/run"
pidfile="$run/versitygw-$port.pid"
logfile="$run/versitygw-$port.log"

binary() {
  if [ -n "${CORPUS_AUDIT_VERSITYGW:-}" ]; then echo "$CORPUS_AUDIT_VERSITYGW"
  elif [ -x "$cache/bin/versitygw" ]; then echo "$cache/bin/versitygw"
  elif command -v versitygw >/dev/null; then command -v versitygw
  else
    "$(dirname "$0")/install-s3-server.sh" >&2
    echo "$cache/bin/versitygw"
  fi
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

print_env() {
  cat <<ENV
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=$access
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_REGION=us-east-1
# path-style addressing: corpus-audit's S3 path-style option
ENV
}

case "${1:-}" in
  start)
    if running; then
      echo "already running (pid $(cat "$pidfile"))" >&2
      print_env
      exit 0
    fi
    bin="$(binary)"
    mkdir -p "$data" "$run"
    nohup "$bin" --access "$access" --secret "$secret" --port "127.0.0.1:$port" \
      --region us-east-1 --keep-alive --quiet posix "$data" >"$logfile" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "versitygw listening on http://127.0.0.1:$port (pid $(cat "$pidfile")), data in $data" >&2
        echo "create a bucket:  mkdir $data/BUCKET   (each folder is a bucket)" >&2
        print_env
        exit 0
      fi
      running || break
      sleep 0.1
    done
    echo "versitygw did not start; its log ($logfile):" >&2
    cat "$logfile" >&2
    exit 1
    ;;
  stop)
    if running; then
      kill "$(cat "$pidfile")"
      rm -f "$pidfile"
      echo "stopped" >&2
    else
      rm -f "$pidfile"
      echo "not running" >&2
    fi
    ;;
  env) print_env ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
