#!/bin/sh
# One single-node cluster on every interface of the container; OPENSEARCH_JAVA_OPTS as in the
# official image (default heap 512m, the floor is 256m). exec: the JVM gets SIGTERM and closes
# the node through its shutdown hook.
set -eu
# shellcheck disable=SC2086
exec java ${OPENSEARCH_JAVA_OPTS:--Xms512m -Xmx512m} -XX:+ExitOnOutOfMemoryError \
    -Dfile.encoding=UTF-8 -Djava.awt.headless=true -Dsearch.network.host=0.0.0.0 \
    -jar /opt/search-node/search-node.jar /usr/share/opensearch/data 9200 9300
