#!/usr/bin/python3
"""Derive the manifest of Xen 4.4.0's libxen public API (function names
with their prototypes reduced to types, record/struct members with their
types) from its headers: extract.py DIR > api-4.4.0.txt, where DIR holds
tools/libxen/include/xen/api/*.h of RELEASE-4.4.0.  The manifest, not the
headers, is kept in the tree (tests/libxen/compat44/api-4.4.0.txt).

Lines:  F <name>|<return type>|<param type>,<param type>,...
        M <struct tag>|<member>|<member type> (a flexible array member: "<element type>[]")
        E <enum tag>|<constant>
        T handle|<opaque ref type>   or   T scalar|<scalar typedef>
"""
import os
import re
import sys


def norm(t):
    t = re.sub(r"\s+", " ", t.replace("\n", " ")).strip()
    t = re.sub(r"\s*\*\s*", "*", t)
    t = re.sub(r"\bstruct ", "struct ", t)
    return t


def param_type(p):
    p = norm(p)
    if p in ("void", "..."):
        return p
    if "(*" in p:                        # a function pointer parameter: drop its name
        return re.sub(r"\(\*\s*\w+\)", "(*)", p)
    m = re.match(r"(.*?)(\w+)(\[\])?$", p)
    base = m.group(1).strip() if m.group(1).strip() else p
    return norm(base + ("*" if m.group(3) else ""))


def main(d):
    out = []
    for name in sorted(os.listdir(d)):
        if not name.endswith(".h"):
            continue
        text = open(os.path.join(d, name)).read()
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        text = re.sub(r"^\s*#.*$", "", text, flags=re.M)
        for m in re.finditer(r"(?:^|(?<=[;}]))\s*(?:extern\s+)?([A-Za-z_][^;{}()#]*?)\b(xen_\w+)\s*\(([^;{}]*?)\)\s*;",
                             text, flags=re.S | re.M):
            ret, fname, params = norm(m.group(1)), m.group(2), m.group(3)
            plist = [param_type(p) for p in re.split(r",(?![^(]*\))", params)] if params.strip() else ["void"]
            out.append("F %s|%s|%s" % (fname, ret, ",".join(plist)))
        for m in re.finditer(r"typedef\s+void\s*\*\s*(xen_\w+)\s*;", text):
            out.append("T handle|%s" % m.group(1))
        for m in re.finditer(r"typedef\s+(?:int64_t|bool|char\s*\*)\s*(\w+)\s*;", text):
            out.append("T scalar|%s" % m.group(1))
        for m in re.finditer(r"enum\s+(xen_\w+)\s*\{(.*?)\}", text, flags=re.S):
            for const in re.findall(r"\b(XEN_\w+)", m.group(2)):
                out.append("E %s|%s" % (m.group(1), const))
        for m in re.finditer(r"typedef\s+struct\s+(xen_\w+)\s*\{(.*?)\}\s*\w+\s*;", text, flags=re.S):
            tag, body = m.group(1), m.group(2)
            if "union" in body:                   # record_opt: is_record + u.handle/u.record
                continue
            for decl in body.split(";"):
                decl = norm(decl)
                if not decl:
                    continue
                mm = re.match(r"(.*?)(\w+)(\[\])?$", decl)
                if not mm:
                    continue
                out.append("M %s|%s|%s" % (tag, mm.group(2), norm(mm.group(1)) + (mm.group(3) or "")))
    print("# Xen 4.4.0 libxen public API (tools/libxen/include/xen/api), derived by extract.py")
    for line in sorted(set(out)):
        print(line)


if __name__ == "__main__":
    main(sys.argv[1])
