#!/bin/sh
# Writes the local httpd config: gen-dev-conf.sh VAR PORT MODULE ROOT
set -eu
var=$1 port=$2 module=$3 root=$4
if [ "$(id -u)" = 0 ]; then user="User www-data
Group www-data"; else user=""; fi
# The webhook's secret (conf/prepare-dev-var.sh makes it): read by httpd at
# start, as root, so the file stays 0600.
extra=""
if [ -s "$var/webhook-authorization" ]; then
  extra="Blu8x8WebhookAuthorization \"file:$var/webhook-authorization\""
fi
awk -v var="$var" -v port="$port" -v module="$module" -v root="$root" -v user="$user" \
    -v extra="$extra" '{
  gsub(/@VAR@/, var); gsub(/@PORT@/, port); gsub(/@MODULE@/, module); gsub(/@ROOT@/, root);
  gsub(/@USER@/, user); gsub(/@EXTRA@/, extra); print }' "$root/conf/httpd-dev.conf.in"
