#!/usr/bin/env bash
# Builds the stand-in images for docker-compose.yml on a machine that reaches no image
# registry (so `docker pull postgres:16` fails) but does reach the Debian mirror, PyPI, npm
# and crates.io. With a registry, you do not need this: the compose file's defaults are the
# upstream images.
#
#   scripts/compose-images.sh                   build what is missing, print the image variables
#   scripts/compose-images.sh --env-file .env   ...and write them into .env (other lines kept)
#
# What it builds (docs/docker-compose.md, "Without an image registry"):
#   tp4-standin/debian:bookworm-<hash>   debootstrap --variant=minbase bookworm, imported
#   tp4-standin/<name>:<hash>            FROM it, one per docker/standins/<name>/: postgres,
#                                        redis, rabbitmq, search (tools/search-node on Java 17),
#                                        mongo (secantusd-rs + mongosh), python (3.11),
#                                        zipkin (the Zipkin server jar on Java 17)
# Each tag carries the content hash of what went into it, so a second run builds nothing and a
# changed Dockerfile, entrypoint or engine build gives a new image. The base's root file system
# is also kept as a tarball in ~/.cache/tp4-ticketing/compose/ (TP4_CACHE_DIR), so an emptied
# Docker data folder does not cost a new debootstrap. The MongoDB-wire server, the search node
# and mongosh come from the native route's cache (scripts/infra.sh install mongo opensearch
# mongosh builds them once when missing); they are copied into the images, never rebuilt there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${TP4_CACHE_DIR:-$HOME/.cache/tp4-ticketing}"
STANDINS="$ROOT/docker/standins"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Bump when the way the base is made changes (the cleanup below, the sources list).
BASE_RECIPE=1

log() { printf '[compose-images] %s\n' "$*" >&2; }
die() { printf '[compose-images] ERROR: %s\n' "$*" >&2; exit 1; }

env_file=""
while (( $# )); do
  case "$1" in
    --env-file) env_file=${2:?--env-file needs a file}; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info); start Docker first"
mkdir -p "$CACHE_DIR/compose"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# hash_files DIR: one hash over every file's relative path, mode and content, and every link.
hash_files() {
  (
    cd "$1"
    find . \( -type f -printf '%p %m\n' \) -o \( -type l -printf '%p -> %l\n' \) | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  ) | sha256sum | cut -c1-16
}

# ---- the Debian base ------------------------------------------------------------------------
base_hash=$(printf '%s %s %s %s\n' "$SUITE" minbase "$MIRROR" "$BASE_RECIPE" | sha256sum | cut -c1-16)
BASE="tp4-standin/debian:$SUITE-$base_hash"
base_tar="$CACHE_DIR/compose/debian-$SUITE-minbase-$base_hash.tar"

if ! image_exists "$BASE"; then
  if [[ ! -s "$base_tar" ]]; then
    command -v debootstrap >/dev/null || {
      log "installing debootstrap (apt)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    (( EUID == 0 )) || die "debootstrap needs root (sudo $0)"
    rootfs="$CACHE_DIR/compose/rootfs.$$"
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap --variant=minbase $SUITE from $MIRROR (once, about 75 s)"
    started=$SECONDS
    debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$CACHE_DIR/compose/debootstrap.log" 2>&1 \
      || die "debootstrap failed, see $CACHE_DIR/compose/debootstrap.log"
    # Security updates beside the release; no package cache or lists in the image.
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
      "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SUITE" >"$rootfs/etc/apt/sources.list"
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
    # Keep images small: no man pages or docs from the packages installed on top of it.
    printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n' \
      >"$rootfs/etc/dpkg/dpkg.cfg.d/01-nodoc"
    tar -C "$rootfs" -cf "$base_tar.part" . && mv "$base_tar.part" "$base_tar"
    rm -rf "$rootfs"
    trap - EXIT
    log "base root file system made in $((SECONDS - started)) s -> $base_tar"
  fi
  docker import \
    --change 'ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    "$base_tar" "$BASE" >/dev/null
  log "imported $BASE"
fi

# ---- what the native route builds: the MongoDB-wire server, the search node, mongosh ----------
secantus_bin="$CACHE_DIR/secantus/bin/secantusd-rs"
mongosh_dir="$CACHE_DIR/mongosh"
search_dir=$(ROOT="$ROOT" CACHE_DIR="$CACHE_DIR" bash -c '
  # shellcheck source=engines/opensearch.sh
  source "$ROOT/scripts/engines/opensearch.sh"; _opensearch_build_dir')
if [[ ! -x "$secantus_bin" || ! -f "$search_dir/.complete" || ! -x "$mongosh_dir/node_modules/.bin/mongosh" ]]; then
  log "building the MongoDB-wire server, the search node and mongosh the native way (scripts/infra.sh install mongo opensearch mongosh)"
  TP4_CACHE_DIR="$CACHE_DIR" "$ROOT/scripts/infra.sh" install mongo opensearch mongosh
fi
# Zipkin's jar, fetched once by the native route (scripts/engines/zipkin.sh).
zipkin_jar=$(ROOT="$ROOT" CACHE_DIR="$CACHE_DIR" bash -c '
  # shellcheck source=engines/zipkin.sh
  source "$ROOT/scripts/engines/zipkin.sh"; _zipkin_jar')
if [[ ! -s "$zipkin_jar" ]]; then
  log "fetching Zipkin's jar the native way (scripts/infra.sh install zipkin)"
  TP4_CACHE_DIR="$CACHE_DIR" "$ROOT/scripts/infra.sh" install zipkin
fi
[[ -s "$zipkin_jar" ]] || die "no Zipkin jar at $zipkin_jar"
[[ -x "$secantus_bin" ]] || die "no $secantus_bin (the native route fell back to the Python server; see .data/logs/mongo-build.log)"
[[ -f "$search_dir/search-node.jar" ]] || die "no search node in $search_dir"
# mongosh's native add-ons were built for the node that installed them: that node goes along.
node_bin=$(readlink -f "$(command -v node)") || die "no node on this machine (mongosh needs it)"

# ---- one image per stand-in ---------------------------------------------------------------------
# build NAME [SOURCE DEST]...: the folder docker/standins/NAME, plus files or folders copied
# into the build context as DEST (the server binary, the search node, mongosh). The tag is the
# hash of all of them and of the base, computed before anything is copied.
declare -A TAG
build() {
  local name=$1 ctx hash started
  shift
  local extras=("$@")
  hash=$(
    {
      printf '%s\n' "$BASE"
      hash_files "$STANDINS/$name"
      while (( $# >= 2 )); do
        if [[ -d "$1" ]]; then printf '%s %s\n' "$2" "$(hash_files "$1")"
        else printf '%s %s\n' "$2" "$(sha256sum <"$1" | cut -d' ' -f1)"; fi
        shift 2
      done
    } | sha256sum | cut -c1-16
  )
  TAG[$name]="tp4-standin/$name:$hash"
  if image_exists "${TAG[$name]}"; then
    log "${TAG[$name]} already built"
    return 0
  fi
  log "building ${TAG[$name]}"
  started=$SECONDS
  ctx=$(mktemp -d)
  cp -a "$STANDINS/$name/." "$ctx/"
  set -- "${extras[@]}"
  while (( $# >= 2 )); do
    cp -a "$1" "$ctx/$2"
    shift 2
  done
  docker build -q --build-arg "BASE=$BASE" -t "${TAG[$name]}" "$ctx" >/dev/null 2>"$ctx.err" \
    || { cat "$ctx.err" >&2; rm -rf "$ctx" "$ctx.err"; die "building $name failed"; }
  rm -rf "$ctx" "$ctx.err"
  log "built ${TAG[$name]} in $((SECONDS - started)) s"
}

# The machine's own certificate authorities (Debian's folder for local additions), for pip.
local_ca=$(mktemp -d)
find /usr/local/share/ca-certificates -name '*.crt' -exec cp {} "$local_ca/" \; 2>/dev/null || true
build python "$local_ca" local-ca
rm -rf "$local_ca"
build postgres
build redis
build rabbitmq
build search "$search_dir" search-node
build mongo "$secantus_bin" secantusd-rs "$mongosh_dir" mongosh "$node_bin" node
build zipkin "$zipkin_jar" zipkin.jar

lines=(
  "PYTHON_IMAGE=${TAG[python]}"
  "POSTGRES_IMAGE=${TAG[postgres]}"
  "REDIS_IMAGE=${TAG[redis]}"
  "RABBITMQ_IMAGE=${TAG[rabbitmq]}"
  "OPENSEARCH_IMAGE=${TAG[search]}"
  "MONGO_IMAGE=${TAG[mongo]}"
  "ZIPKIN_IMAGE=${TAG[zipkin]}"
)
if [[ -n "$env_file" ]]; then
  touch "$env_file"
  for line in "${lines[@]}"; do
    key=${line%%=*}
    if grep -q "^$key=" "$env_file"; then
      sed -i "s|^$key=.*|$line|" "$env_file"
    else
      printf '%s\n' "$line" >>"$env_file"
    fi
  done
  log "image variables written to $env_file"
fi
printf '%s\n' "${lines[@]}"
