#!/bin/sh
# Writes the local httpd config: gen-dev-conf.sh VAR PORT MODULE ROOT
set -eu
var=$1 port=$2 module=$3 root=$4
if [ "$(id -u)" = 0 ]; then user="User www-data
Group www-data"; else user=""; fi
awk -v var="$var" -v port="$port" -v module="$module" -v root="$root" -v user="$user" '{
  gsub(/@VAR@/, var); gsub(/@PORT@/, port); gsub(/@MODULE@/, module); gsub(/@ROOT@/, root);
  gsub(/@USER@/, user); gsub(/@EXTRA@/, ""); print }' "$root/conf/httpd-dev.conf.in"
