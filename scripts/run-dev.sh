#!/usr/bin/env bash
# Starts the whole system on loopback in the dev profile: Mailpit, mfa-api
# (with embedded JetStream), the email and SMS workers. Ctrl-C stops all of
# it. MFA_* variables in the environment override the dev defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

export MFA_PROFILE=dev
export MFA_DATA_DIR="${MFA_DATA_DIR:-var}"
mkdir -p "$MFA_DATA_DIR"

pids=()
stopping=
stop() {
	stopping=1
	trap - INT TERM EXIT
	echo
	echo "stopping..."
	for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
	wait 2>/dev/null || true
	echo "stopped."
}
trap stop INT TERM EXIT

start() { # name, command...
	local name=$1; shift
	# The prefixing sed ignores Ctrl-C, so that it outlives the program it
	# reads from and the program's last log lines still have somewhere to go.
	"$@" > >(trap '' INT TERM; exec sed -u "s/^/[$name] /") 2>&1 &
	pids+=($!)
}

wait_for() { # url, what
	for _ in $(seq 1 100); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	echo "$2 did not come up; see the output above" >&2
	exit 1
}

# A second make run would find the first one's servers answering and
# report success while its own programs fail to bind. The addresses are
# the ones this run will take (an MFA_NATS_URL means no embedded server).
addrs=("${MFA_HTTP_ADDR:-127.0.0.1:8080}" "${MFA_ADMIN_ADDR:-127.0.0.1:8081}" 127.0.0.1:1025 127.0.0.1:8025)
[ -n "${MFA_NATS_URL:-}" ] || addrs+=("${MFA_NATS_LISTEN:-127.0.0.1:4222}")
for addr in "${addrs[@]}"; do
	if (exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null; then
		echo "something already listens on $addr: is make run already running?" >&2
		trap - INT TERM EXIT
		exit 1
	fi
done

start mailpit bin/mailpit --disable-version-check --smtp 127.0.0.1:1025 --listen 127.0.0.1:8025 \
	--database "$MFA_DATA_DIR/mailpit.db"
wait_for http://127.0.0.1:8025/api/v1/info "Mailpit"
start api bin/mfa-api
wait_for http://127.0.0.1:8080/readyz "mfa-api"
start email bin/mfa-email-worker
start sms bin/mfa-sms-worker

cat <<TXT

  CIAM MFA is running (dev profile).
    API          http://127.0.0.1:8080      (OpenAPI: /openapi.yaml)
    admin API    http://127.0.0.1:8081
    NATS         nats://127.0.0.1:4222
    Mailpit      SMTP 127.0.0.1:1025, mail at http://127.0.0.1:8025/view/latest.txt
    SMS outbox   $MFA_DATA_DIR/sms-outbox.jsonl
    credentials  $MFA_DATA_DIR/dev.env

  Try it (README "Try it"):  . $MFA_DATA_DIR/dev.env   then the curl commands.
  Ctrl-C stops everything.

TXT
status=0
wait -n "${pids[@]}" || status=$?
# Ctrl-C reaches the programs too, and they may end (cleanly, or as
# interrupted) before this shell runs its trap: only another end is a
# failure to report.
if [ -z "$stopping" ] && [ "$status" -ne 0 ] && [ "$status" -ne 130 ]; then
	echo "a process exited with status $status; stopping the rest (see its output above)" >&2
	exit "$status"
fi
