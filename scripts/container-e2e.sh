#!/usr/bin/env bash
# The container end-to-end check (CI's last step): builds the serving image from
# a locally made base image (no registry) and runs one generation through
# lm, dit, vae and gateway containers (deploy/e2e, testcontainers); then brings
# up the one-box compose file (deploy/compose/compose.yaml) from the same image:
# up, one generation through its gateway port, down.
#
# Idempotent and CI-safe:
#   - installs docker.io and debootstrap with apt when missing;
#   - uses the Docker daemon that answers (DOCKER_HOST or the default socket);
#     if none does, starts its own dockerd on a private socket with its data
#     under .tmp/container-e2e/ (kept, so the base image and the layer cache
#     survive to the next run), and on exit stops it by PID and removes what it
#     left on the host (docker0 and other bridges, Docker's iptables rules,
#     ip_forward back to its old value);
#   - the base image is built only when its tag is missing; the serving image
#     build is cached by Docker's layer cache;
#   - every wait is bounded; each step prints its time.
# Environment: BASE_IMAGE (default local/debian:bookworm), IMAGE (default
# acestep/serving:dev-cpu), EXPORTER_IMAGE (default acestep/exporter:dev),
# CONTAINER_E2E_DIR (default .tmp/container-e2e),
# ACESTEP_E2E_MODELS (default models/tiny: the model set the containers mount).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export ONNXRUNTIME_NODE_INSTALL=skip ORT_DISABLE_TELEMETRY=1

BASE_IMAGE=${BASE_IMAGE:-local/debian:bookworm}
IMAGE=${IMAGE:-acestep/serving:dev-cpu}
EXPORTER_IMAGE=${EXPORTER_IMAGE:-acestep/exporter:dev}
COMPOSE_PROJECT=acestep-e2e-compose-$$
WORK=${CONTAINER_E2E_DIR:-$ROOT/.tmp/container-e2e}
RUN_ID=$(date +%s)-$$
mkdir -p "$WORK"

log() { printf '[container-e2e] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
t0=$(date +%s)
current_step=''
timed() { # timed "step name" command...: runs the command, prints its duration
  local name=$1 start
  shift
  start=$(date +%s)
  current_step=$name
  log "$name ..."
  "$@"
  log "$name: $(($(date +%s) - start)) s"
  current_step=''
}

# ---- packages ----
install_packages() {
  local need=()
  { command -v dockerd && command -v docker; } >/dev/null || need+=(docker.io)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  [ "${#need[@]}" -gt 0 ] || return 0
  log "apt-get install ${need[*]}"
  as_root timeout 120 apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root timeout 300 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# ---- the daemon ----
dockerd_pid=''
host_links_before=''
ip_forward_before=''
forward_policy_before=''

daemon_answers() { timeout 10 docker info >/dev/null 2>&1; }
alive() { as_root kill -0 "$1" 2>/dev/null; }

start_dockerd() {
  if daemon_answers; then
    log "using the running Docker daemon (${DOCKER_HOST:-default socket})"
    return 0
  fi
  local sock="$WORK/docker.sock"
  export DOCKER_HOST="unix://$sock"
  if daemon_answers; then # ours, from an earlier run that did not get to stop it: adopt it
    dockerd_pid=$(cat "$WORK/dockerd.pid" 2>/dev/null || true)
    log "using dockerd ${dockerd_pid:-?} already on $sock (left by an earlier run; stopped on exit)"
    return 0
  fi
  host_links_before=$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | sort)
  ip_forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
  forward_policy_before=$(as_root iptables -S FORWARD | sed -n 's/^-P FORWARD //p')
  rm -f "$sock" "$WORK/dockerd.pid"
  # The exec root holds containerd's sockets: a short path (unix socket names are limited to 108 bytes).
  local exec_root
  exec_root=$(mktemp -d /tmp/acestep-e2e-exec.XXXXXX)
  echo "$exec_root" >"$WORK/exec-root"
  as_root dockerd --data-root "$WORK/data" --exec-root "$exec_root" --pidfile "$WORK/dockerd.pid" \
    -H "$DOCKER_HOST" >"$WORK/dockerd.log" 2>&1 &
  local launcher=$!
  for _ in $(seq 1 60); do
    # From here on the exit trap stops it (its own PID, from its pidfile).
    [ -n "$dockerd_pid" ] || dockerd_pid=$(cat "$WORK/dockerd.pid" 2>/dev/null || true)
    daemon_answers && { log "dockerd $dockerd_pid answers on $sock"; return 0; }
    alive "$launcher" || break
    sleep 1
  done
  tail -n 30 "$WORK/dockerd.log" >&2
  log "dockerd did not answer within 60 s"
  return 1
}

# Containers and networks of this run (labelled by the test), on any daemon.
remove_run_objects() {
  daemon_answers || return 0
  local ids
  ids=$(docker ps -aq --filter "label=io.acestep.e2e.run=$RUN_ID")
  [ -z "$ids" ] || timeout 60 docker rm -f $ids >/dev/null || true
  ids=$(docker network ls -q --filter "name=^acestep-e2e-$RUN_ID\$")
  [ -z "$ids" ] || timeout 30 docker network rm $ids >/dev/null || true
  # On a daemon we started, everything is ours.
  if [ -n "$dockerd_pid" ]; then
    ids=$(docker ps -aq)
    [ -z "$ids" ] || timeout 60 docker rm -f $ids >/dev/null || true
    timeout 30 docker network prune -f >/dev/null || true
  fi
}

stop_dockerd() {
  [ -n "$dockerd_pid" ] || return 0
  local children
  children=$(pgrep -P "$dockerd_pid" || true) # the containerd dockerd started
  as_root kill -TERM "$dockerd_pid" 2>/dev/null || true
  for _ in $(seq 1 30); do alive "$dockerd_pid" || break; sleep 1; done
  ! alive "$dockerd_pid" || as_root kill -KILL "$dockerd_pid" || true
  for pid in $children; do
    for _ in $(seq 1 10); do alive "$pid" || break; sleep 1; done
    ! alive "$pid" || as_root kill -KILL "$pid" || true
  done
  wait 2>/dev/null || true # the launcher (as_root)
  # Leftovers on the host: bridges, Docker's iptables rules and chains, ip_forward.
  local link
  for link in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | sort); do
    case "$link" in docker0 | br-* | veth*) ;; *) continue ;; esac
    grep -qx "$link" <<<"$host_links_before" || as_root ip link delete "$link" 2>/dev/null || true
  done
  local table rule chain
  for table in nat filter; do
    as_root iptables -t "$table" -S 2>/dev/null | grep -E '^-A ' | grep -E 'DOCKER|docker0|br-[0-9a-f]{12}' |
      while read -r rule; do eval "as_root iptables -t $table ${rule/#-A/-D}" 2>/dev/null || true; done
    for chain in $(as_root iptables -t "$table" -S 2>/dev/null | sed -nE 's/^-N (DOCKER[A-Z0-9_-]*)$/\1/p'); do
      as_root iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(as_root iptables -t "$table" -S 2>/dev/null | sed -nE 's/^-N (DOCKER[A-Z0-9_-]*)$/\1/p'); do
      as_root iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
  [ -z "$forward_policy_before" ] || as_root iptables -P FORWARD "$forward_policy_before" || true
  [ -z "$ip_forward_before" ] || echo "$ip_forward_before" | as_root tee /proc/sys/net/ipv4/ip_forward >/dev/null
  local exec_root
  exec_root=$(cat "$WORK/exec-root" 2>/dev/null || true)
  case "$exec_root" in /tmp/acestep-e2e-exec.*) as_root rm -rf "$exec_root" ;; esac
  rm -f "$WORK/docker.sock" "$WORK/exec-root"
  log "stopped dockerd $dockerd_pid and removed its bridges and iptables rules"
}

cleanup() {
  local rc=$? start
  trap - EXIT INT TERM
  [ -z "$current_step" ] || log "$current_step: failed (exit $rc)"
  start=$(date +%s)
  compose_down
  remove_run_objects
  stop_dockerd
  log "clean-up: $(($(date +%s) - start)) s"
  log "total: $(($(date +%s) - t0)) s, exit $rc"
  exit "$rc"
}
# Long steps run as a bounded background child, so that INT/TERM stop them at
# once (bash runs a trap only after the foreground command ends) and the
# clean-up still runs. timeout forwards the signal to the step's process group.
bg_pid=''
bounded() { # bounded SECONDS command...
  local limit=$1 rc=0
  shift
  timeout "$limit" "$@" &
  bg_pid=$!
  wait "$bg_pid" || rc=$?
  bg_pid=''
  return "$rc"
}
on_signal() {
  if [ -n "$bg_pid" ]; then
    kill -TERM "$bg_pid" 2>/dev/null || true
    wait "$bg_pid" 2>/dev/null || true
  fi
  exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# ---- steps ----
prerequisites() {
  # CI ran scripts/setup.sh already; a bare checkout gets it here.
  if [ ! -f models/tiny/manifest.json ] || [ ! -d deploy/e2e/node_modules/testcontainers ]; then
    ./scripts/setup.sh
  fi
}

base_image() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "$BASE_IMAGE exists: not rebuilt"
    return 0
  fi
  local root=()
  [ "$(id -u)" = 0 ] || root=(sudo env DOCKER_HOST="$DOCKER_HOST")
  bounded 900 "${root[@]}" deploy/docker/make-base-image.sh "$BASE_IMAGE"
}

serving_image() {
  # No `docker image prune` afterwards: with the legacy builder the toolchain and
  # deps stages are untagged images, and pruning them empties the layer cache.
  # Delete .tmp/container-e2e to reclaim the space.
  BASE_IMAGE="$BASE_IMAGE" VARIANT=cpu bounded 900 deploy/docker/build.sh serving "$IMAGE"
}

models() {
  export ACESTEP_E2E_MODELS=${ACESTEP_E2E_MODELS:-$ROOT/models/tiny}
  [ -f "$ACESTEP_E2E_MODELS/manifest.json" ] || { log "no model set in $ACESTEP_E2E_MODELS"; return 1; }
  # The containers run as 10001 and mount the set read-only: it must be world-readable.
  local unreadable
  unreadable=$(find "$ACESTEP_E2E_MODELS" \( -type f ! -perm -o=r \) -o \( -type d ! -perm -o=rx \) | head -n 3)
  [ -z "$unreadable" ] || { log "not readable by the containers' user: $unreadable"; return 1; }
  log "models: $ACESTEP_E2E_MODELS (bind-mounted read-only at /models/default)"
}

containers_test() {
  TESTCONTAINERS_RYUK_DISABLED=true ACESTEP_E2E_IMAGE="$IMAGE" ACESTEP_E2E_RUN="$RUN_ID" \
    bounded 600 pnpm test:containers
}

# ---- one box: deploy/compose/compose.yaml ----
# Its converter service runs from the serving image on the copy path of prepare-models.sh (the
# tiny set as an already converted set in the checkpoints folder): building the exporter image
# (python3-torch) would add ~6 min to CI. E2E_EXPORTER=1 builds it and exports instead.
compose_bin=()
compose() { timeout "${COMPOSE_TIMEOUT:-120}" "${compose_bin[@]}" -p "$COMPOSE_PROJECT" -f deploy/compose/compose.yaml "$@"; }
compose_up=''
compose_down() {
  [ -n "$compose_up" ] && daemon_answers || return 0
  compose down -v --timeout 10 >/dev/null 2>&1 || true
  compose_up=''
}

compose_test() {
  local port out gateway state source
  if docker compose version >/dev/null 2>&1; then compose_bin=(docker compose); else compose_bin=(docker-compose); fi
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  out="$WORK/compose-out-$RUN_ID"
  source="$WORK/compose-source-$RUN_ID"
  mkdir -p "$source"
  if [ "${E2E_EXPORTER:-0}" = 1 ]; then
    BASE_IMAGE="$BASE_IMAGE" bounded 900 deploy/docker/build.sh exporter "$EXPORTER_IMAGE"
    export ACESTEP_EXPORTER_IMAGE="$EXPORTER_IMAGE" ACESTEP_EXPORT_ARGS="--random --preset tiny"
  else
    cp -RL "$ACESTEP_E2E_MODELS" "$source/tiny"
    chmod -R a+rX "$source"
    export ACESTEP_EXPORTER_IMAGE="$IMAGE" ACESTEP_EXPORT_ARGS=""
  fi
  export ACESTEP_IMAGE="$IMAGE" ACESTEP_PORT="$port" ACESTEP_MODEL_SET=tiny ACESTEP_CHECKPOINTS="$source"
  compose_up=1
  COMPOSE_TIMEOUT=300 compose up -d
  gateway=$(compose ps -q gateway)
  for _ in $(seq 1 150); do # healthy only after the converter finished and the stages answer
    state=$(docker inspect -f '{{.State.Health.Status}}' "$gateway" 2>/dev/null || echo missing)
    [ "$state" = healthy ] && break
    sleep 2
  done
  [ "$state" = healthy ] || { compose ps >&2; compose logs --tail 40 >&2; return 1; }
  bounded 300 node packages/cli/src/main.ts generate --url "127.0.0.1:$port" --progress none \
    --caption "compose check" --audio_duration 10 --audio_format wav --out "$out"
  ls "$out"/*.wav >/dev/null
  log "compose: a song through the gateway on port $port: $(ls "$out")"
  compose_down
  [ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT")" ] ||
    { log "compose down left containers"; return 1; }
  rm -rf "$out" "$source"
}

timed "prerequisites (setup.sh if needed)" prerequisites
timed "packages (docker.io, debootstrap)" install_packages
timed "Docker daemon" start_dockerd
export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
timed "base image $BASE_IMAGE" base_image
timed "serving image $IMAGE" serving_image
timed "models volume" models
timed "containers test (pnpm test:containers)" containers_test
timed "one box: compose up, one generation, down" compose_test
