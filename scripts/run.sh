#!/bin/bash
# Build xend and run it in the foreground on its embedded default backend
# (the simulated host when this machine is not a Xen control domain).
# Usage (as root on Debian 12): scripts/run.sh [extra xend options]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" "$top/build"
b="$top/build"
state=/var/lib/xend
tls=/etc/xen/xend-tls
if [ ! -f "$tls/cert.pem" ]; then
    mkdir -p "$tls" && chmod 700 "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$(hostname)" \
        -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null
    chmod 600 "$tls/key.pem"
fi
[ -f /etc/pam.d/xend ] || install -m 644 "$top/pam/xend" /etc/pam.d/xend
conf=$(mktemp /tmp/xend-run.XXXXXX.conf)
cat > "$conf" <<CONF
state-dir = $state
backend = auto
listen = unix:/var/run/xend/xen-api.sock auth=none
listen = http:127.0.0.1:9363 auth=pam
listen = https:0.0.0.0:9367 auth=pam cert=$tls/cert.pem key=$tls/key.pem
pam-service = xend
CONF
cat <<MSG

xend is starting in the foreground (Ctrl-C stops it). Connect with:
  Unix socket (root only, no password):
    curl -s --unix-socket /var/run/xend/xen-api.sock http://localhost/ -H 'Content-Type: text/xml' \\
      -d '<methodCall><methodName>system.listMethods</methodName></methodCall>'
  HTTP on 127.0.0.1:9363 and HTTPS on port 9367 (self-signed certificate in $tls),
  logging in with any local account through PAM (service /etc/pam.d/xend):
    python3 -c 'import xmlrpc.client as x; p=x.ServerProxy("http://127.0.0.1:9363/");
      s=p.session.login_with_password("USER","PASSWORD")["Value"]; print(p.VM.get_all_records(s))'
  The C bindings: $b/libxen (see examples/), pkg-config name xenapi.
  State (VM records) lives in $state; configuration reference: docs/xend.conf.md.

MSG
exec "$b/daemon/xend" --foreground --config "$conf" "$@"
