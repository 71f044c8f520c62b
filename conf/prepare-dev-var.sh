#!/bin/sh
# Prepares make run's state directory: prepare-dev-var.sh VAR
# Secrets are made once and kept (0600): the admin password and the
# Authorization value 8x8 must send with webhooks. Nothing here is readable
# by other users: files 0600/0640, directories 0750.
set -eu
var=$1
umask 027
mkdir -p "$var/www" "$var/run"
# What an earlier make run left open (logs, pid file) is closed as well.
chmod -R g-w,o-rwx "$var"

secret() {   # file, then the text before the random part
  if [ ! -s "$1" ]; then
    (umask 077; printf '%s%s\n' "$2" "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$1.tmp")
    mv -f "$1.tmp" "$1"
  fi
  chmod 600 "$1"
}
secret "$var/admin-password" ""
secret "$var/webhook-authorization" "Bearer "

# bcrypt, cost 10 (htpasswd's -B default is 5).
htpasswd -bcB -C 10 "$var/htpasswd" admin "$(cat "$var/admin-password")" 2>/dev/null
if [ "$(id -u)" = 0 ]; then
  # httpd's children (www-data) read htpasswd and serve www; root keeps the secrets.
  chown -R www-data:www-data "$var/www" "$var/run"
  chgrp www-data "$var" "$var/htpasswd"
  chmod 640 "$var/htpasswd"
else
  chmod 600 "$var/htpasswd"
fi
