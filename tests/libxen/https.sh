#!/bin/bash
# The libcurl transport over HTTPS against a throw-away TLS server (python,
# self-signed certificate, canned XML-RPC replies): verification is on by
# default, a CA file makes it succeed, a wrong host name still fails.
. "${srcdir:-.}/tests/libxen/common.sh"
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }
passed=0 failed=0
ok() { passed=$((passed + 1)); }
ko() { failed=$((failed + 1)); echo "FAIL: $*"; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/libxen-https.XXXXXX")
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null || { echo "SKIP: openssl req"; exit 77; }
cat > "$dir/server.py" <<'PY'
import http.server, ssl, sys
REPLY = (b'<?xml version="1.0"?><methodResponse><params><param><value><struct>'
         b'<member><name>Status</name><value>Success</value></member>'
         b'<member><name>Value</name><value>tls-session</value></member>'
         b'</struct></value></param></params></methodResponse>')
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(REPLY)))
        self.end_headers()
        self.wfile.write(REPLY)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
PY
/usr/bin/python3 "$dir/server.py" "$dir/cert.pem" "$dir/key.pem" > "$dir/port" &
pid=$!
for _ in $(seq 50); do [ -s "$dir/port" ] && break; sleep 0.1; done
port=$(cat "$dir/port")
[ -n "$port" ] || { echo "ERROR: TLS server did not start"; exit 99; }

out=$(libxen_run tests/libxen/integration --login "https://localhost:$port/" 2>&1)
echo "$out" | grep -q "^TRANSPORT_FAULT 60" && ok || ko "self-signed certificate accepted by default: $out"
out=$(libxen_run tests/libxen/integration --login "https://localhost:$port/" "$dir/cert.pem" 2>&1)
[ "$out" = "ok tls-session" ] && ok || ko "CA file not honoured: $out"
out=$(libxen_run tests/libxen/integration --login "https://127.0.0.2:$port/" "$dir/cert.pem" 2>&1)
echo "$out" | grep -q "^TRANSPORT_FAULT" && ok || ko "wrong host name accepted: $out"
out=$(libxen_run tests/libxen/integration --login "http://localhost:$port/" 2>&1)
echo "$out" | grep -q "^TRANSPORT_FAULT" && ok || ko "plain http to a TLS port: $out"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
