#!/usr/bin/env python3
"""Names stay out of Xen's name spaces (HACKING.md, "Naming"):

- no C identifier starting with xc_, XC_, xs_, XS_, libxl_, LIBXL_ or xtl_
  (libxenctrl's, libxenstore's, libxl's and libxentoollog's) in the project's
  C code, hand-written or generated (gen/ and libxen's generated sources in
  the build tree), outside the code that uses, implements or fakes them:
  the xen backend (xenops/xen/) and the fake Xen host (tests/xen/mock/);
- the other tests of the xen backend (tests/xen/) may use such names only
  when Xen's own headers declare them (they test code that calls Xen);
- XenAPI's own names that happen to start so are the wire's and stay
  (ALLOWED).

Comments, string literals and #include lines do not count: only code.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from xendtest import run  # noqa: E402

SRC = os.environ.get("XEND_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BUILD = os.environ.get("XEND_BUILDDIR") or os.path.join(SRC, "build")

XEN_SPACE = re.compile(r"\b(?:xc_|XC_|xs_|XS_|libxl_|LIBXL_|xtl_)\w*")
# Where Xen's names are at home: the xen backend and the fake Xen host.
HOME = ("xenops/xen/", "tests/xen/mock/")
# Tests of the xen backend: they may use names Xen's headers declare.
XEN_USERS = ("tests/xen/",)
# XenAPI 1.0's own names (datamodel/xenapi.json; libxen 4.4's public
# xen_compat44.h): the wire's, not Xen's libraries'.
ALLOWED = {"xs_type", "xs_instantiationflags", "xs_policystate", "xs_ref",
           "XS_POLICY_ACM", "XS_INST_NONE", "XS_INST_BOOT", "XS_INST_LOAD"}
XEN_HEADERS = ("xenctrl.h", "xenctrl_compat.h", "xenstore.h", "xs.h", "xs_lib.h", "xenstore_lib.h",
               "xentoollog.h", "xenguest.h", "libxl.h", "libxl_event.h", "libxl_utils.h", "libxl_uuid.h",
               "libxl_json.h", "_libxl_types.h", "_libxl_types_json.h", "libxlutil.h")
TOPS = ("util", "config", "xenops", "daemon", "rpc", "gen", "libxen", "xm", "tests", "bench", "tools",
        "examples", "pam", "fuzz", "web")

TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|^[ \t]*#[ \t]*include[^\n]*',
                   re.S | re.M)


def code_of(text):
    """text without comments, string and character literals, #include lines
    (each replaced by a space, newlines kept for line numbers)."""
    return TOKEN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def xen_names_in(text):
    """[(line, name)] of the identifiers in Xen's name spaces in C text."""
    code = code_of(text)
    return [(code.count("\n", 0, m.start()) + 1, m.group(0)) for m in XEN_SPACE.finditer(code)]


def c_files():
    """(label, path): every C file of the source tree, and the generated
    ones of the build tree."""
    for top in TOPS:
        for base, label in ((SRC, ""), (BUILD, "build/")):
            root = os.path.join(base, top)
            if base == BUILD and (top not in ("gen", "libxen") or os.path.realpath(BUILD) == os.path.realpath(SRC)):
                continue
            for d, dirs, files in os.walk(root):
                rel_d = os.path.relpath(d, base)
                dirs[:] = sorted(x for x in dirs if x not in (".git", ".libs", ".deps")
                                 and not (base == SRC and x.startswith("build")))
                for f in sorted(files):
                    if f.endswith((".c", ".h")):
                        yield label + os.path.join(rel_d, f), os.path.join(d, f)


_XEN_DECLARED = None


def xen_declared():
    """The identifiers Xen's installed headers contain (empty without them)."""
    global _XEN_DECLARED
    if _XEN_DECLARED is None:
        _XEN_DECLARED = set()
        for h in XEN_HEADERS:
            p = os.path.join("/usr/include", h)
            if os.path.exists(p):
                with open(p, encoding="utf-8", errors="replace") as f:
                    _XEN_DECLARED |= {n for _, n in xen_names_in(f.read())}
    return _XEN_DECLARED


def offences(label, text):
    if label.startswith(HOME):
        return []
    users = label.startswith(XEN_USERS)
    if users and not xen_declared():
        return []                       # said by test_tests_of_the_xen_backend_use_xen_names
    return ["%s:%d: %s" % (label, line, name) for line, name in xen_names_in(text)
            if name not in ALLOWED and not (users and name in xen_declared())]


def test_no_name_in_xen_spaces():
    bad, n, generated = [], 0, 0
    for label, path in c_files():
        with open(path, encoding="utf-8", errors="replace") as f:
            bad += offences(label, f.read())
        n += 1
        generated += label.replace("build/", "", 1).startswith(("gen/", "libxen/gen/"))
    print("  %d C files read (%d generated)" % (n, generated))
    assert n > 100, "only %d C files under %s" % (n, SRC)
    assert generated >= 8, "no generated C files under %s: build first" % BUILD
    assert not bad, "names in Xen's name spaces (HACKING.md, Naming):\n  " + "\n  ".join(bad)


def test_tests_of_the_xen_backend_use_xen_names():
    """The names tests/xen uses are found in Xen's headers (or the check
    above would let anything through there)."""
    if not os.path.exists("/usr/include/libxl.h"):
        print("  Xen's headers are not installed: the names tests/xen/ uses are not checked")
        return
    assert "libxl_domain_config" in xen_declared() and "xc_interface_open" in xen_declared()
    assert "libxl_not_a_name" not in xen_declared()


def test_checker_sees_a_new_name():
    """The rules catch what they are meant to (a self-test)."""
    src = ('#include <xenctrl.h>\n/* xc_comment */ int xc_new(void);\n'
           'const char *s = "XC_str"; enum { XC_VM, XCL_VM };\n#define LIBXL_X 1\n'
           'typedef int xs_type; int xtl_y; int xen_xs_policystate;\n')
    assert xen_names_in(src) == [(2, "xc_new"), (3, "XC_VM"), (4, "LIBXL_X"), (5, "xs_type"), (5, "xtl_y")]
    assert offences("daemon/x.c", src) == ["daemon/x.c:2: xc_new", "daemon/x.c:3: XC_VM",
                                           "daemon/x.c:4: LIBXL_X", "daemon/x.c:5: xtl_y"]
    assert offences("build/gen/xapi_model.h", "enum { XC_VM };") == ["build/gen/xapi_model.h:1: XC_VM"]
    assert offences("xenops/xen/xen_host.c", src) == []
    assert offences("tests/xen/mock/xenmock.c", src) == []
    if xen_declared():
        assert offences("tests/xen/test_x.c", "int libxl_mine;") == ["tests/xen/test_x.c:1: libxl_mine"]


if __name__ == "__main__":
    run([test_checker_sees_a_new_name, test_tests_of_the_xen_backend_use_xen_names,
         test_no_name_in_xen_spaces])
