#!/usr/bin/env python3
"""Layers only point down (docs/layers.md):

- an #include may name a header of its own layer or of a layer below it:
      util < config < xenops < daemon (with the generated gen/xapi_*.h) < rpc
  daemon/main.c, the program, sits above them all; the clients (libxen/,
  xm/) may use util/ and libxen/ only;
- Xen's own headers (libxl, libxenctrl, libxenstore, ...) are included only
  under xenops/xen/ (and by the mocks of them under tests/xen/);
- no cycle between the daemon's modules, from the symbols each object file
  of daemon/ takes from another (nm): calls through the generated method
  table do not count (it is the registry), and the files <m>_<part>.c of a
  module with a header daemon/<m>.h are one module;
- one build fragment per directory (its local.mk, included by Makefile.am);
- the daemon's core (daemon/, rpc/, config/, util/, xenops/ without its xen
  backend) takes no symbol from Xen's libraries, and a program linking the
  core alone (tests/unit/test_dispatch) does not load them, as xen-api's
  check-no-xenctrl makes sure of for xapi.
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from xendtest import run  # noqa: E402

SRC = os.environ.get("XEND_SRCDIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BUILD = os.environ.get("XEND_BUILDDIR") or os.path.join(SRC, "build")

LAYERS = {"util": 0, "config": 1, "xenops": 2, "daemon": 3, "gen": 3, "rpc": 4}
PROGRAM = {"daemon/main.c"}
CLIENTS = {"libxen": {"util", "libxen"}, "xm": {"util", "config", "libxen", "xm"}}   # and their own headers
GENERATED = re.compile(r"^xapi_\w+\.h$")          # gen/xapi_*.h, found through -I gen
XEN_HEADER = re.compile(r"^(xenctrl|xenguest|xenstore|xs|xentoollog|xenevtchn|xengnttab|xenforeignmemory|"
                        r"xendevicemodel|xencall|xenhypfs|xentoolcore|xenstat|libxl|libxl_\w+|libxlutil)\.h$"
                        r"|^xen/(?!api/)")
XEN_HEADERS_ALLOWED = ("xenops/xen/", "tests/xen/")
XEN_LIBS = re.compile(r"\blib(xen(light|ctrl|store|toollog|guest|evtchn|gnttab|foreignmemory|devicemodel|"
                      r"call|hypfs|toolcore|stat)|xlutil)\.so")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def sources():
    """Every C file of the project, relative to the source tree."""
    for top in sorted(LAYERS) + sorted(CLIENTS) + ["tests", "bench", "tools", "examples", "pam"]:
        root = os.path.join(SRC, top)
        for d, dirs, files in os.walk(root):
            dirs[:] = sorted(x for x in dirs if x not in ("build", ".git"))
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(d, f), SRC)


def includes(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8", errors="replace") as f:
        for m in INCLUDE.finditer(f.read()):
            yield m.group(1), m.group(2)


def include_layer(rel, name):
    """The top directory a quoted include names (None: not ours)."""
    if name == "config.h":
        return None                                     # autoconf's
    if GENERATED.match(name):
        return "gen"
    if "/" in name:
        return name.split("/", 1)[0]
    return rel.split("/", 1)[0]                        # beside the including file


def test_includes_point_down():
    bad = []
    for rel in sources():
        top = rel.split("/", 1)[0]
        if rel in PROGRAM or (top not in LAYERS and top not in CLIENTS):
            continue
        for kind, name in includes(rel):
            if kind != '"':
                continue
            to = include_layer(rel, name)
            if to is None:
                continue
            if top in CLIENTS:
                if to not in CLIENTS[top] | {top}:
                    bad.append("%s includes \"%s\" (a client may use %s only)" % (rel, name,
                                                                                " and ".join(sorted(CLIENTS[top]))))
            elif to not in LAYERS:
                bad.append("%s includes \"%s\", outside the layers" % (rel, name))
            elif LAYERS[to] > LAYERS[top]:
                bad.append("%s includes \"%s\": %s is above %s" % (rel, name, to, top))
    assert not bad, "includes pointing up:\n  " + "\n  ".join(bad)


def test_xen_headers_only_in_xenops_xen():
    bad = []
    for rel in sources():
        if rel.startswith(XEN_HEADERS_ALLOWED):
            continue
        for kind, name in includes(rel):
            if XEN_HEADER.search(name):
                bad.append("%s includes %s%s%s" % (rel, kind, name, ">" if kind == "<" else '"'))
    assert not bad, "Xen headers outside xenops/xen/:\n  " + "\n  ".join(bad)


def test_checker_sees_a_bad_include():
    """The rules above catch what they are meant to (a self-test)."""
    assert include_layer("util/log.c", "daemon/store.h") == "daemon"
    assert LAYERS[include_layer("util/log.c", "daemon/store.h")] > LAYERS["util"]
    assert include_layer("daemon/vm.c", "xapi_model.h") == "gen"
    assert include_layer("rpc/server.c", "reply.h") == "rpc"
    assert XEN_HEADER.search("xenctrl.h") and XEN_HEADER.search("libxl_utils.h")
    assert XEN_HEADER.search("xen/xen.h") and not XEN_HEADER.search("xen/api/xen_vm.h")


def nm(paths, *flags):
    """{object: [(type, symbol)]} for the objects in paths, by one nm run."""
    r = subprocess.run(["nm", "-A", *flags, *paths], capture_output=True, text=True)
    assert r.returncode == 0, "nm: %s" % r.stderr.strip()
    out = {p: [] for p in paths}
    for line in r.stdout.splitlines():
        path, rest = line.rsplit(":", 1)
        parts = rest.split()
        out.setdefault(path, []).append((parts[-2] if len(parts) >= 2 else "", parts[-1]))
    return out


_MAKEVARS = None


def makevar(name):
    """A variable of the build's Makefile, expanded (only what automake
    writes: plain assignments, continuation lines, $(var) references)."""
    global _MAKEVARS
    if _MAKEVARS is None:
        _MAKEVARS = {}
        with open(os.path.join(BUILD, "Makefile")) as f:
            text = f.read().replace("\\\n", " ")
        for line in text.splitlines():
            m = re.match(r"^([A-Za-z_][\w]*)\s*=(.*)$", line)
            if m:
                _MAKEVARS[m.group(1)] = m.group(2)
    return re.sub(r"\$\((\w+)\)", lambda m: makevar(m.group(1)), _MAKEVARS.get(name, ""))


def canon(la):
    return re.sub(r"[^A-Za-z0-9_]", "_", la)


def lib_objects(la, nodist=True):
    """The (PIC) object files libtool puts in the library la ("daemon/libxend.la"),
    as the Makefile lists them (stale objects of removed sources do not count)."""
    v = canon(la)
    los = makevar("am_%s_OBJECTS" % v).split() + (makevar("nodist_%s_OBJECTS" % v).split() if nodist else [])
    return [os.path.join(BUILD, os.path.dirname(lo), ".libs", os.path.basename(lo)[:-3] + ".o")
            for lo in los if lo.endswith(".lo")]


def lib_closure(las, skip):
    """las and the convenience libraries they add, but those in skip."""
    out, todo = [], list(las)
    while todo:
        la = todo.pop(0)
        if la in out or la in skip or not la.endswith(".la"):
            continue
        out.append(la)
        todo += makevar("%s_LIBADD" % canon(la)).split()
    return out


def source_stem(obj):
    """daemon/api/.libs/libxend_la-vm.o -> ("api/", "vm")"""
    rel = os.path.relpath(os.path.dirname(os.path.dirname(obj)), os.path.join(BUILD, "daemon"))
    sub = "" if rel == "." else rel + "/"
    return sub, re.sub(r"^\w*?_la-", "", os.path.basename(obj))[:-2]


def daemon_module(obj):
    sub, stem = source_stem(obj)
    if "_" in stem:
        m = stem.split("_", 1)[0]
        if os.path.exists(os.path.join(SRC, "daemon", sub, m + ".h")):
            return sub + m
    return sub + stem


def sccs(graph):
    """Strongly connected components with more than one member (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_cycle_between_daemon_modules():
    objs = lib_objects("daemon/libxend.la", nodist=False)   # not the generated table
    assert len(objs) >= 5, "no object files of daemon/ under %s: build first" % BUILD
    defined = {}
    for o, syms in nm(objs, "--defined-only", "--extern-only").items():
        for _, sym in syms:
            defined[sym] = daemon_module(o)
    graph = {}
    for o, syms in nm(objs, "-u").items():
        m = daemon_module(o)
        graph.setdefault(m, set())
        for _, sym in syms:
            to = defined.get(sym)
            if to and to != m:
                graph[m].add(to)
    cycles = sccs(graph)
    print("  %d daemon modules, %d dependencies between them" % (len(graph), sum(map(len, graph.values()))))
    assert not cycles, "cycles between daemon modules:\n  " + "\n  ".join(
        "%s (%s)" % (" <-> ".join(sorted(c)), "; ".join("%s -> %s" % (a, ", ".join(sorted(graph[a] & c)))
                                                       for a in sorted(c))) for c in cycles)


def test_one_build_fragment_per_directory():
    """Makefile.am includes one fragment per directory, its local.mk (HACKING.md)."""
    frags = set()
    for d, dirs, files in os.walk(SRC):
        dirs[:] = [x for x in dirs if x not in (".git", "node_modules", "_build", "_inst")
                   and not (d == SRC and x.startswith("build"))]
        frags |= {os.path.relpath(os.path.join(d, f), SRC) for f in files if f.endswith(".mk")}
    with open(os.path.join(SRC, "Makefile.am")) as f:
        included = re.findall(r"^include\s+(\S+)", f.read(), re.M)
    bad = sorted(f for f in frags if os.path.basename(f) != "local.mk")
    bad += ["%s is not included by Makefile.am" % f for f in sorted(frags - set(included))]
    bad += ["Makefile.am includes %s twice" % f for f in sorted(set(included)) if included.count(f) > 1]
    assert len(frags) >= 10, "only %d fragments under %s" % (len(frags), SRC)
    assert not bad, "build fragments (one per directory, named local.mk):\n  " + "\n  ".join(bad)


def test_sccs_finds_a_cycle():
    assert sccs({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert sccs({"a": {"b"}, "b": set()}) == []


def xen_symbols():
    """Symbols Xen's libraries export (from the libraries the daemon loads);
    by prefix when the Xen libraries are absent (a build without them)."""
    xend = os.path.join(BUILD, "daemon", "xend")
    r = subprocess.run(["ldd", xend], capture_output=True, text=True)
    libs = [l.split("=>")[1].split()[0] for l in r.stdout.splitlines() if "=>" in l and XEN_LIBS.search(l)]
    syms = set()
    for lib in libs:
        out = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True).stdout
        syms |= {l.split()[-1].split("@")[0] for l in out.splitlines() if len(l.split()) == 3}
    return libs, syms


# the backends by name, and the xen backend: only the daemon program links them
NOT_CORE = {"xenops/libxobackends.la", "xenops/xen/libxo_xen.la"}


def core_objects():
    """The objects of every library the daemon links, but the backends'."""
    las = lib_closure(makevar("daemon_xend_LDADD").split(), NOT_CORE)
    assert "daemon/libxend.la" in las, "daemon_xend_LDADD has no daemon/libxend.la: %s" % las
    objs = []
    for la in las:
        objs += lib_objects(la)
    return objs


def test_core_takes_no_xen_symbol():
    libs, syms = xen_symbols()
    prefix = re.compile(r"^(libxl_|xc_|xs_|xtl_|xenevtchn_|xengnttab_|xenforeignmemory_|xendevicemodel_|"
                        r"xencall_|xenhypfs_|xentoolcore_|xenstat_)")
    if libs:
        print("  the daemon links %d Xen libraries (%d symbols)" % (len(libs), len(syms)))
    else:
        print("  this build has no xen backend: Xen symbols recognized by name")
    objs = core_objects()
    assert len(objs) >= 10, "no object files of the core under %s: build first" % BUILD
    bad = []
    for o, used in nm(objs, "-u").items():
        for _, s in used:
            if s in syms or (not libs and prefix.match(s)):
                bad.append("%s: %s" % (os.path.relpath(o, BUILD), s))
    assert not bad, "the daemon's core uses Xen's libraries:\n  " + "\n  ".join(bad)


def test_core_program_loads_no_xen_library():
    prog = os.path.join(BUILD, "tests", "unit", "test_dispatch")
    assert os.path.exists(prog), "%s is missing: build the check programs first" % prog
    out = subprocess.run(["ldd", prog], capture_output=True, text=True).stdout
    bad = [l.strip() for l in out.splitlines() if XEN_LIBS.search(l)]
    assert not bad, "%s (the core alone) loads Xen libraries:\n  %s" % (prog, "\n  ".join(bad))
    # the same check on the daemon finds them when it has the xen backend:
    # proof that the check can see a Xen library at all
    libs, _ = xen_symbols()
    if "HAVE_XEN 1" in open(os.path.join(BUILD, "config.h")).read():
        assert libs, "the daemon has the xen backend, yet ldd shows no Xen library: the check is blind"


if __name__ == "__main__":
    run([test_checker_sees_a_bad_include, test_sccs_finds_a_cycle, test_one_build_fragment_per_directory,
         test_includes_point_down,
         test_xen_headers_only_in_xenops_xen, test_no_cycle_between_daemon_modules,
         test_core_takes_no_xen_symbol, test_core_program_loads_no_xen_library])
