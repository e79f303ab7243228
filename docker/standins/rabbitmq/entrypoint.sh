#!/bin/sh
# The official image's RABBITMQ_DEFAULT_USER/PASS, and a default user allowed from other
# containers (RabbitMQ lets guest in from localhost only unless loopback_users is cleared).
set -eu
mkdir -p /etc/rabbitmq/conf.d
cat >/etc/rabbitmq/conf.d/10-stand-in.conf <<CONF
default_user = ${RABBITMQ_DEFAULT_USER:-guest}
default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}
loopback_users = none
CONF
if [ "${1:-}" = rabbitmq-server ]; then
    shift
    chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
    exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
fi
exec "$@"
