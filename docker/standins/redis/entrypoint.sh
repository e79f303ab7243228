#!/bin/sh
# As the official redis image: without a config file, protected mode would refuse every
# client outside the container; the server runs as user redis with its files in /data.
set -eu
if [ "${1:-}" = redis-server ]; then
    shift
    set -- redis-server --protected-mode no "$@"
fi
if [ "$(id -u)" = 0 ]; then
    chown redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
