#!/bin/bash
# Build xend and run it in the foreground on its embedded default backend:
# the real host's Xen in a Xen control domain, else the simulated host (sim).
# A sim trial keeps everything it writes in /var/lib/xend-sim, apart from a
# real host's state (/var/lib/xend); its configuration is a temporary file,
# removed when xend exits.  Ctrl-C stops it.
# Usage (as root on Debian 12): scripts/run.sh [extra xend options]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" "$top/build"
b="$top/build"
host=$(hostname)
if grep -qs control_d /proc/xen/capabilities; then
    kind="the real Xen host (xen backend)"; backend=xen
    state=/var/lib/xend; tls=/etc/xen/xend-tls
    sock=/var/run/xend/xen-api.sock; pidf=/var/run/xend.pid
else
    kind="a simulated host (sim backend; nothing touches a real Xen)"; backend=sim
    trial=/var/lib/xend-sim
    state=$trial/state; tls=$trial/tls
    sock=/var/run/xend-sim/xen-api.sock; pidf=$trial/xend.pid
    mkdir -p "$trial" && chmod 700 "$trial"
fi
written=()
# a certificate clients can check: subjectAltName for this host name,
# localhost and 127.0.0.1 (made again if an older one lacks them)
if ! openssl x509 -in "$tls/cert.pem" -noout -ext subjectAltName 2>/dev/null | grep -q "IP Address:127.0.0.1"; then
    mkdir -p "$tls" && chmod 700 "$tls"
    openssl req -x509 -newkey rsa:3072 -nodes -days 825 -subj "/CN=$host" \
        -addext "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1" \
        -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null
    chmod 600 "$tls/key.pem"
    written+=("$tls/cert.pem (self-signed certificate, kept for the next run)"
              "$tls/key.pem (its private key, mode 0600)")
fi
if [ ! -f /etc/pam.d/xend ]; then
    install -m 644 "$top/pam/xend" /etc/pam.d/xend
    written+=("/etc/pam.d/xend (PAM service for password logins, kept; remove it when done trying)")
fi
conf=$(mktemp /tmp/xend-run.XXXXXX.conf)
trap 'rm -f "$conf"' EXIT
cat > "$conf" <<CONF
state-dir = $state
pid-file = $pidf
backend = $backend
listen = unix:$sock auth=none
listen = http:127.0.0.1:9363 auth=pam
listen = https:*:9367 auth=pam cert=$tls/cert.pem key=$tls/key.pem
pam-service = xend
CONF
written+=("$conf (this run's configuration, removed when xend exits)"
          "$state/ (VM records and host uuid, kept)")
echo
echo "xend runs on $kind, in the foreground (Ctrl-C stops it)."
echo "Files this run wrote:"
for f in "${written[@]}"; do echo "  $f"; done
cat <<MSG
Connect with:
  Unix socket $sock (root only, no password):
    curl -s --unix-socket $sock http://localhost/ -H 'Content-Type: text/xml' \\
      -d '<methodCall><methodName>system.listMethods</methodName></methodCall>'
  HTTPS on port 9367 (every address), checking the certificate made above,
  logging in with a local account through PAM (/etc/pam.d/xend):
    curl -s --cacert $tls/cert.pem https://localhost:9367/ -H 'Content-Type: text/xml' \\
      -d '<methodCall><methodName>session.login_with_password</methodName><params><param><value>USER</value></param><param><value>PASSWORD</value></param></params></methodCall>'
    python3 -c 'import ssl, xmlrpc.client as x; p=x.ServerProxy("https://localhost:9367/",
      context=ssl.create_default_context(cafile="$tls/cert.pem"));
      s=p.session.login_with_password("USER","PASSWORD")["Value"]; print(p.VM.get_all_records(s))'
    (from another machine: https://$host:9367/ with a copy of $tls/cert.pem)
  HTTP on 127.0.0.1:9363 (passwords in clear: for local trials only).
  The C bindings: $b/libxen (see examples/), pkg-config name xenapi
  (PKG_CONFIG_PATH=$b/libxen uses the build tree's xenapi-uninstalled.pc).
  Configuration reference: man xend.conf / docs/xend.conf.md.

MSG
# not exec: the trap removes the configuration when xend exits
"$b/daemon/xend" --foreground --config "$conf" "$@"
