#!/bin/bash
# The Debian packages, built and tried as a Debian 12 user would:
#   1. dpkg-buildpackage builds them from a copy of the source tree;
#   2. lintian finds no error in them;
#   3. they install into a fresh Debian 12 root (debootstrap from Debian's
#      archive; the base root is cached as BUILD/pkg-cache/bookworm-root.tar.gz,
#      so that a re-run needs neither debootstrap nor the network);
#   4. the packaged xend starts there as its systemd unit would start it
#      (xend -n, then xend --foreground; no systemd in the chroot) and answers
#      the packaged python3-xenapi, the packaged xm and a client outside the
#      root over its Unix socket; it stops cleanly on SIGTERM.
# Usage (as root): tests/pkg/debian-root.sh [BUILD_DIR]   (default: ./build)
# Prints 'N passed, M failed' and the time each step took.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-${XEND_BUILDDIR:-$top/build}}" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
cache=$build/pkg-cache
work=$build/pkg-work
root=$work/root
pass=0; fail=0; daemon=""
t0=$(date +%s); tstep=$t0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '  %s\n' "$@"; fail=$((fail + 1)); }
step() { local now; now=$(date +%s); echo "--- $1 (previous step $((now - tstep)) s)"; tstep=$now; }
finish() {
    [ -n "$daemon" ] && kill -KILL "$daemon" 2>/dev/null
    umount "$root/proc" 2>/dev/null; umount "$root/dev" 2>/dev/null
    echo "--- total $(( $(date +%s) - t0 )) s"
    echo "$pass passed, $fail failed"
    [ $fail = 0 ]
    exit $?
}
trap 'fail=$((fail + 1)); finish' INT TERM
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (debootstrap, chroot)"; exit 77; }
for tool in dpkg-buildpackage lintian debootstrap chroot; do
    command -v $tool >/dev/null || { bad "tools" "$tool is missing (scripts/install-deps.sh installs it)"; finish; }
done
if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc"; fi
if mountpoint -q "$root/dev" 2>/dev/null; then umount "$root/dev"; fi
rm -rf "$work"; mkdir -p "$work/src" "$cache"

step "1. dpkg-buildpackage"
tar -C "$top" --exclude=./.git --exclude='./build*' --exclude=node_modules --exclude=./debian/.debhelper \
    -cf - . | tar -C "$work/src" -xf -
(cd "$work/src" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -b -uc -us) > "$work/build.log" 2>&1
debs=$(ls "$work"/*.deb 2>/dev/null | grep -v -- -dbgsym_ | tr '\n' ' ')
want="xend_ xend-common_ libxenapi1_ libxenapi-dev_ python3-xenapi_ xm_"
missing=""
for p in $want; do ls "$work"/${p}*.deb >/dev/null 2>&1 || missing="$missing ${p%_}"; done
if [ -n "$debs" ] && [ -z "$missing" ]; then
    ok "dpkg-buildpackage built: $(cd "$work" && ls *.deb | tr '\n' ' ')"
else
    bad "dpkg-buildpackage" "missing packages:${missing:- all}" "$(tail -30 "$work/build.log")"
    finish
fi

step "2. lintian"
lintian --fail-on error --suppress-tags-from-file /dev/null "$work"/*.changes > "$work/lintian.log" 2>&1; rc=$?
errors=$(grep -c '^E:' "$work/lintian.log"); warnings=$(grep -c '^W:' "$work/lintian.log")
if [ $rc = 0 ] && [ "$errors" = 0 ]; then
    ok "lintian: no errors ($warnings warnings, in $work/lintian.log)"
else
    bad "lintian: $errors errors" "$(grep '^E:' "$work/lintian.log" | head -20)"
fi

step "3. a fresh Debian 12 root"
if [ -f "$cache/bookworm-root.tar.gz" ]; then
    mkdir -p "$root" && tar -C "$root" -xzf "$cache/bookworm-root.tar.gz"
    echo "  from the cached base root $cache/bookworm-root.tar.gz"
else
    if ! debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1; then
        bad "debootstrap bookworm from $mirror" "$(tail -15 "$work/debootstrap.log")"
        finish
    fi
    # a Debian 12 system has its updates and security updates (the build
    # host's Xen libraries may come from there)
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
        "$mirror" "$mirror" "$security" > "$root/etc/apt/sources.list"
    # the packages' dependencies go into the cached base: install ours once
    # to pull them in, then purge ours again
    mkdir -p "$root/tmp/debs" && cp $debs "$root/tmp/debs/"
    if chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends /tmp/debs/*.deb && \
            dpkg --purge xm python3-xenapi libxenapi-dev xend xend-common libxenapi1 && apt-get clean' \
            > "$work/deps.log" 2>&1; then
        rm -rf "$root/tmp/debs" "$root/var/lib/xend" "$root/etc/xen/xend.conf"
        tar -C "$root" -czf "$cache/bookworm-root.tar.gz.tmp" . && \
            mv "$cache/bookworm-root.tar.gz.tmp" "$cache/bookworm-root.tar.gz"
        echo "  debootstrapped from $mirror; base root cached in $cache/bookworm-root.tar.gz"
    else
        bad "the packages' dependencies in the new root" "$(tail -15 "$work/deps.log")"
        finish
    fi
fi
grep -q '^12\.' "$root/etc/debian_version" && ok "Debian $(cat "$root/etc/debian_version") root in $root" ||
    bad "the root is Debian 12" "$(cat "$root/etc/debian_version" 2>&1)"
if chroot "$root" dpkg-query -W xend >/dev/null 2>&1; then
    bad "the root is fresh" "xend is already installed there"
fi

step "4. install the packages"
mkdir -p "$root/tmp/debs" && cp $debs "$root/tmp/debs/"
if chroot "$root" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        /tmp/debs/*.deb' > "$work/install.log" 2>&1; then
    ok "apt-get installs $(cd "$root/tmp/debs" && ls | tr '\n' ' ')"
else
    bad "installing the packages" "$(tail -20 "$work/install.log")"
    finish
fi
for f in /usr/sbin/xend /usr/bin/xm /etc/xen/xend.conf /etc/pam.d/xend /etc/logrotate.d/xend \
         /lib/systemd/system/xend.service /etc/init.d/xend /usr/share/man/man8/xend.8.gz \
         /usr/share/man/man5/xend.conf.5.gz /usr/include/xen/api/xen_common.h \
         /usr/lib/python3/dist-packages/xen/xenapi.py; do
    [ -e "$root$f" ] || missing="$missing $f"
done
ls "$root"/usr/lib/*/libxenapi.so.1 >/dev/null 2>&1 || missing="$missing libxenapi.so.1"
ls "$root"/usr/lib/*/pkgconfig/xenapi.pc >/dev/null 2>&1 || missing="$missing xenapi.pc"
[ -z "$missing" ] && ok "installed files in place" || bad "installed files" "missing:$missing"

step "5. the packaged daemon, started as its unit starts it"
mount -t proc proc "$root/proc"
[ -c "$root/dev/null" ] || mount --bind /dev "$root/dev"
unit=$root/lib/systemd/system/xend.service
pre=$(sed -n 's/^ExecStartPre=//p' "$unit"); start=$(sed -n 's/^ExecStart=//p' "$unit")
if out=$(chroot "$root" $pre 2>&1); then ok "ExecStartPre: $pre: $out"; else bad "ExecStartPre $pre" "$out"; fi
chroot "$root" $start > "$work/xend.out" 2>&1 &
daemon=$!
sock=$root/run/xend/xen-api.sock
for _ in $(seq 300); do [ -S "$sock" ] && break; kill -0 $daemon 2>/dev/null || break; sleep 0.1; done
if [ -S "$sock" ]; then ok "ExecStart: $start serves $sock"; else
    bad "ExecStart $start" "$(tail -20 "$work/xend.out")"; finish; fi

# the packaged Python module, inside the root
if out=$(chroot "$root" python3 -c '
import XenAPI
s = XenAPI.xapi_local()
s.login_with_password("root", "")
hosts = s.xenapi.host.get_all()
print(len(hosts), "host(s), xend", s.xenapi.host.get_software_version(hosts[0])["xend"])
s.logout()' 2>&1); then ok "python3-xenapi in the root: host.get_all: $out"
else bad "python3-xenapi in the root" "$out"; fi
# the packaged xm, inside the root
if out=$(chroot "$root" xm list 2>&1) && echo "$out" | grep -q "Domain-0"; then
    ok "xm list in the root: $(echo "$out" | wc -l) lines"
else bad "xm list in the root" "$out"; fi
# a client outside the root, over the socket
if out=$(python3 - "$sock" <<'PY' 2>&1
import http.client, socket, sys, xmlrpc.client
class T(xmlrpc.client.Transport):
    def make_connection(self, host):
        class C(http.client.HTTPConnection):
            def connect(self):
                self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sys.argv[1])
        return C("localhost")
p = xmlrpc.client.ServerProxy("http://localhost/", transport=T())
s = p.session.login_with_password("root", "")["Value"]
r = p.VM.get_all_records(s)
assert r["Status"] == "Success", r
print(len(r["Value"]), "VM records")
PY
); then ok "outside client over the root's socket: $out"; else bad "outside client" "$out"; fi

step "6. stop"
kill -TERM $daemon
for _ in $(seq 300); do kill -0 $daemon 2>/dev/null || break; sleep 0.1; done
if kill -0 $daemon 2>/dev/null; then bad "SIGTERM stops xend within 30 s"; else
    wait $daemon; rc=$?; daemon=""
    [ $rc = 0 ] && [ ! -e "$root/run/xend.pid" ] && ok "stopped cleanly (status 0, pid file removed)" ||
        bad "clean stop" "status $rc" "$(tail -5 "$work/xend.out")"
fi
umount "$root/proc" 2>/dev/null; umount "$root/dev" 2>/dev/null
rm -rf "$root"
finish
