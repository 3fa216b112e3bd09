#!/usr/bin/python3
"""libxen is a drop-in for Xen 4.4.0's tools/libxen: every public function,
record/struct member, handle type and enum constant of its headers (the
manifest api-4.4.0.txt, derived by extract.py) must exist in
<xen/api/xen_all.h> with the same name and a type a 4.4.0 program can use
unchanged.  One C file calls each function with arguments of the 4.4.0
parameter types (its result kept in the 4.4.0 return type), reads and
writes each member as its 4.4.0 type, names each handle type and enum
constant: what a program written for 4.4.0 does.  The compiler (-Werror:
incompatible pointers and lost qualifiers are errors) judges each line, each
line is one check, and the program is linked against the built libxenapi
(every function must be exported).  Every line must pass: there is no list
of known gaps (the last two, VM's cpu_pool and pool_name, were closed)."""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("XEND_SRCDIR", os.path.join(HERE, "..", "..", ".."))
BUILD = os.environ.get("XEND_BUILDDIR", os.getcwd())
CC = os.environ.get("CC", "cc")
HEAD = ["#include <stdbool.h>", "#include <stddef.h>", "#include <stdint.h>", "#include <time.h>",
        "#include <xen/api/xen_all.h>", "#define UNUSED __attribute__((unused))"]


def read_lines(name):
    with open(os.path.join(HERE, name)) as f:
        return [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]


def check_line(i, it, handles):
    kind, rest = it.split(" ", 1)
    f = rest.split("|")
    if kind == "F":
        params = [] if f[2] == "void" else f[2].split(",")
        decl = ", ".join("%s a%d" % (t, k) if "(*)" not in t else t.replace("(*)", "(*a%d)" % k)
                         for k, t in enumerate(params)) or "void"
        args = ", ".join("a%d" % k for k in range(len(params)))
        if f[1] == "void":
            return "void c%d(%s); void c%d(%s) { %s(%s); }" % (i, decl, i, decl, f[0], args)
        return "%s c%d(%s); %s c%d(%s) { %s r = %s(%s); return r; }" % (
            f[1], i, decl, f[1], i, decl, f[1], f[0], args)
    if kind == "M" and f[2].endswith("[]"):
        # a set's elements, read as 4.4 programs read them; 4.4 declared a
        # ref set's elements as pointers to handles but stored handles
        t = f[2][:-2]
        if t.endswith("*") and t[:-1] in handles:
            t = t[:-1]
        return "UNUSED static %s m%d(struct %s *r) { %s v = r->%s[0]; return v; }" % (t, i, f[0], t, f[1])
    if kind == "M":
        return "UNUSED static void m%d(struct %s *r, %s v) { %s w = r->%s; r->%s = v; (void)w; }" % (
            i, f[0], f[2], f[2], f[1], f[1])
    if kind == "T":
        return "UNUSED static %s t%d;" % (f[1], i)
    return "UNUSED static const int e%d = (int)(enum %s)%s;" % (i, f[0], f[1])


def compile_lines(tmp, lines, link):
    """Compile (and link) HEAD + lines; returns (ok, {line index: error}, stderr)."""
    c = os.path.join(tmp, "compat44.c")
    with open(c, "w") as fh:
        fh.write("\n".join(HEAD + lines) + "\nint main(void) { return 0; }\n")
    cmd = [CC, "-std=gnu11", "-O0", "-Wall", "-Werror", "-Werror=incompatible-pointer-types", "-fmax-errors=0",
           "-I" + os.path.join(SRC, "libxen", "include"), "-I" + os.path.join(BUILD, "libxen", "gen"),
           "-I" + BUILD, c]
    cmd += ["-o", os.path.join(tmp, "compat44"), "-L" + os.path.join(BUILD, "libxen", ".libs"), "-lxenapi"] \
        if link else ["-fsyntax-only"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    errs = {}
    for m in re.finditer(r"compat44\.c:(\d+):\d+: (?:error|warning): (.*)", r.stderr):
        errs.setdefault(int(m.group(1)) - len(HEAD) - 1, m.group(2))
    return r.returncode == 0, errs, r.stderr


def main():
    items = read_lines("api-4.4.0.txt")
    handles = {it.split("|")[1] for it in items if it.startswith("T handle|")}
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        ok, errs, stderr = compile_lines(tmp, [check_line(i, it, handles) for i, it in enumerate(items)], True)
        exported = {it.split(" ", 1)[1].split("|")[0]: n for n, it in enumerate(items) if it.startswith("F ")}
        for m in re.finditer(r"undefined reference to `(xen_\w+)'", stderr):
            errs.setdefault(exported.get(m.group(1), -1), "declared, but libxenapi does not export it")
        for n, it in enumerate(items):
            if n in errs:
                failed += 1
                print("not ok - %s: %s" % (it, errs[n]))
            else:
                passed += 1
        if not ok and not errs:
            failed += 1
            print("not ok - the check's program did not build, no line named:\n" + stderr[-3000:])
        elif -1 in errs or any(n >= len(items) for n in errs):
            failed += 1
            print("not ok - the check's own code: %s" % stderr[-2000:])
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
