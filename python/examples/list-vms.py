#!/usr/bin/python3
"""List every VM of a xend host with its power state.

usage: list-vms.py URL [USER [PASSWORD]]
  URL   http://host:9363/, https://host:9367/ or unix:///var/run/xend/xen-api.sock
  USER, PASSWORD default to root and "" (enough on the local Unix socket).
Prints one line per VM: name<TAB>power state, sorted by name."""
import os
import sys

try:
    from xen.xenapi import Session, Failure
except ImportError:  # run from the source tree: python/examples/ -> python/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from xen.xenapi import Session, Failure


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    url = argv[1]
    user = argv[2] if len(argv) > 2 else "root"
    password = argv[3] if len(argv) > 3 else ""
    s = Session(url)
    try:
        s.login_with_password(user, password)
    except Failure as e:
        print("login failed: %s" % e, file=sys.stderr)
        return 1
    try:
        records = s.xenapi.VM.get_all_records()
        for rec in sorted(records.values(), key=lambda r: (r["name_label"], r["uuid"])):
            print("%s\t%s" % (rec["name_label"], rec["power_state"]))
    except Failure as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    finally:
        s.logout()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
