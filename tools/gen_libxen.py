#!/usr/bin/python3
"""Generate libxen (the C client bindings) from datamodel/xenapi.json.

usage: gen_libxen.py DATAMODEL OUTDIR

Writes, under OUTDIR:
  xen/api/xen_<class>.h, xen_<class>_decl.h   one pair per class (not pseudo)
  xen/api/xen_<enum>.h                        one per enum
  xen/api/xen_<struct>.h                      one per struct (event_batch, ...)
  xen/api/xen_<k>_<v>_map.h, xen_string_set.h container types not tied to a class
  xen/api/xen_all.h                           includes everything
  xen_gen_internal.h                          descriptor declarations (private)
  xen_gen.c                                   descriptors + thin API wrappers
  roundtrip.c                                 the generated round-trip test
  all_records.c                               get_all_records of every class (integration test)
  headers.list                                the generated public headers

The API shape follows Xen's historical libxen: lowercase names, handles are
char * typedefs (xen_vm), refs inside records are record_opts, every message
is `bool xen_<class>_<message>(xen_session *session, [result,] params...)`.
The generated C is thin: descriptor tables plus one-line wrappers; all the
logic is in the hand-written libxen/src/xen_common.c.
Files are rewritten only when their content changes.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from datamodel import Model, write_if_changed  # noqa: E402

PRIM = ("string", "int", "float", "bool", "datetime")
PRIM_C = {"string": "char *", "int": "int64_t", "float": "double",
          "bool": "bool", "datetime": "time_t"}
C_RESERVED = set("""auto break case char const continue default do double else enum
extern float for goto if inline int long register restrict return short signed
sizeof static struct switch typedef union unsigned void volatile while bool true
false session result args""".split())
# Classes whose records carry no handle and have no handle type.
NO_HANDLE = ("session", "event")
# Record members that Xen 4.4.0's libxen spelled otherwise, for the same wire
# key: (class, member) -> 4.4.0's name.  Both names are members of one
# anonymous union, so either reads and writes the same slot (the record's
# layout does not change).  A C spelling only: the wire is the datamodel's.
MEMBER_ALIASES = {("host_cpu", "cpu_pool"): "cpu_pools"}
# Messages whose C result is Xen 4.4.0's int64_t rather than the datamodel's
# type (the wire keeps the datamodel's).  Their functions are declared here
# and written by hand in libxen/src/xen_compat44.c, which also keeps the
# XENAPI_1.0 form of each for binaries linked against it (libxenapi.map).
RESULT_INT44 = {("XSPolicy", "get_xstype"), ("VDI", "set_security_label"), ("VIF", "set_security_label")}


def lc(s):
    return s.lower()


def ident(s):
    return re.sub(r"[^A-Za-z0-9_]", "_", s)


# ---------------------------------------------------------------- lib types
# An ltype is a tuple: (prim,) | ("enum", E) | ("ref", C) | ("opt", C) |
# ("record", C) | ("struct", S) | ("set", lt) | ("map", lt, lt)

def lt(t, ctx):
    """Map a datamodel Type to an ltype; ctx is 'field' inside records."""
    k = t.kind
    if k in PRIM:
        return (k,)
    if k == "ref":
        if t.name == "session":
            return ("string",)
        return ("opt", t.name) if ctx == "field" else ("ref", t.name)
    if k == "record":
        return ("record", t.name)
    if k == "struct":
        return ("struct", t.name)
    if k == "enum":
        return ("enum", t.name)
    if k == "set":
        return ("set", lt(t.elem, "field" if ctx == "field" else "elem"))
    if k == "map":
        return ("map", lt(t.key, "elem"), lt(t.elem, "elem"))
    raise ValueError("unsupported type %s" % t)


def mpart(l):
    k = l[0]
    if k in PRIM:
        return k
    if k == "enum":
        return l[1]
    if k == "ref":
        return lc(l[1])
    if k == "record":
        return "xen_%s_record" % lc(l[1])
    if k == "set":
        return mpart(l[1]) + "_set"
    raise ValueError("unsupported map part %r" % (l,))


def setname(l):
    e = l[1]
    if e[0] == "string":
        return "xen_string_set"
    if e[0] == "int":
        return "xen_int_set"
    if e[0] == "ref":
        return "xen_%s_set" % lc(e[1])
    if e[0] == "opt":
        return "xen_%s_record_opt_set" % lc(e[1])
    if e[0] == "record":
        return "xen_%s_record_set" % lc(e[1])
    if e[0] == "enum":
        return "xen_%s_set" % e[1]
    raise ValueError("unsupported set %r" % (l,))


def mapname(l):
    return "xen_%s_%s_map" % (mpart(l[1]), mpart(l[2]))


def ctype(l):
    """C type of a slot holding l."""
    k = l[0]
    if k in PRIM:
        return PRIM_C[k]
    if k == "enum":
        return "enum xen_%s" % l[1]
    if k == "ref":
        return "xen_%s" % lc(l[1])
    if k == "opt":
        return "struct xen_%s_record_opt *" % lc(l[1])
    if k == "record":
        return "struct xen_%s_record *" % lc(l[1])
    if k == "struct":
        return "struct xen_%s *" % l[1]
    if k == "set":
        return "struct %s *" % setname(l)
    if k == "map":
        return "struct %s *" % mapname(l)
    raise ValueError(l)


def decl(ct, name):
    return ct + name if ct.endswith("*") else ct + " " + name


def did(l):
    """Descriptor id (xeni_t_<id>)."""
    k = l[0]
    if k in PRIM:
        return k
    if k == "ref":
        return "string"
    if k == "enum":
        return "enum_" + l[1]
    if k in ("record", "struct"):
        return "rec_" + l[1]
    if k == "opt":
        return "opt_" + l[1]
    if k == "set":
        return setname(l)[4:]
    return mapname(l)[4:]


def owner_class(l):
    """The class whose header defines this container (None: own header)."""
    for p in (l[1:] if l[0] in ("set", "map") else []):
        if p[0] in ("ref", "record", "opt"):
            return p[1]
        if p[0] == "set":
            o = owner_class(p)
            if o:
                return o
    return None


def walk(l):
    yield l
    if l[0] == "set":
        yield from walk(l[1])
    elif l[0] == "map":
        yield from walk(l[1])
        yield from walk(l[2])


class Gen:
    def __init__(self, model):
        self.m = model
        self.classes = [c for c in model.classes if not c.pseudo]
        self.cls = {c.name: c for c in self.classes}
        self.structs = {s: [(n, model.parse_type(t)) for n, t in fs]
                        for s, fs in model.structs.items()}
        self.ltypes = {}          # did -> ltype, everything needing a descriptor
        self.symbols = {}         # global C identifier -> origin (uniqueness)
        self.maps_own = {}        # mapname -> ltype (own header)
        self.sets_own = {}        # setname -> ltype (own header, non-class)
        self.collect()

    # ------------------------------------------------------------ collect
    def sym(self, name, origin):
        if name in self.symbols and self.symbols[name] != origin:
            raise SystemExit("gen_libxen: identifier %s clashes (%s, %s)"
                             % (name, self.symbols[name], origin))
        self.symbols[name] = origin

    def need(self, l):
        for x in walk(l):
            self.ltypes.setdefault(did(x), x)
            if x[0] == "map" and owner_class(x) is None:
                self.maps_own[mapname(x)] = x
            if x[0] == "set" and owner_class(x) is None and x[1][0] in ("string", "int"):
                self.sets_own[setname(x)] = x
            if x[0] == "opt":
                self.need(("record", x[1]))
            if x[0] == "record" and x[1] not in self.cls:
                raise SystemExit("gen_libxen: record of unknown class %s" % x[1])

    def collect(self):
        for c in self.classes:
            self.need(("record", c.name))
            if c.name not in NO_HANDLE:
                self.need(("set", ("ref", c.name)))
                self.need(("set", ("opt", c.name)))
            self.need(("set", ("record", c.name)))
            for f in c.fields:
                self.need(lt(f.type, "field"))
            for msg in self.messages(c):
                for _, t in msg.params:
                    self.need(lt(t, "param"))
                if msg.returns.kind != "void":
                    self.need(lt(msg.returns, "result"))
        for s, fs in self.structs.items():
            self.need(("struct", s))
            for _, t in fs:
                self.need(lt(t, "field"))
        self.need(("set", ("string",)))
        for e in self.m.enums:
            self.need(("set", ("enum", e)))

    def messages(self, c):
        for msg in c.messages:
            if c.name == "session" and msg.name in ("login_with_password", "logout"):
                continue   # hand-written in xen_common.c
            yield msg

    # ------------------------------------------------------------ helpers
    def record_members(self, owner):
        """[(wire name, C name, ltype, create)] of a class or struct."""
        if owner in self.cls:
            return [(f.name, ident(lc(f.name)), lt(f.type, "field"),
                     f.qual in ("RW", "RO/ins")) for f in self.cls[owner].fields]
        return [(n, ident(lc(n)), lt(t, "field"), True) for n, t in self.structs[owner]]

    def rec_ctype(self, l):
        return ("xen_%s_record" % lc(l[1])) if l[0] == "record" else ("xen_%s" % l[1])

    def includes_for(self, ls, self_header):
        inc = set()
        for l in ls:
            for x in walk(l):
                k = x[0]
                if k in ("ref", "opt", "record"):
                    inc.add("xen_%s_decl.h" % lc(x[1]))
                elif k == "enum":
                    inc.add("xen_%s.h" % x[1])
                elif k == "struct":
                    inc.add("xen_%s.h" % x[1])
                elif k == "set" and x[1][0] in ("string", "int"):
                    inc.add(setname(x)[0:] + ".h")
                elif k == "set" and x[1][0] == "enum":
                    inc.add("xen_%s.h" % x[1][1])
                if k == "map":
                    o = owner_class(x)
                    inc.add(("xen_%s.h" % lc(o)) if o else mapname(x) + ".h")
        inc.discard(self_header)
        inc.discard("xen_session_decl.h")
        return sorted(inc)

    # ------------------------------------------------------------ headers
    def guard(self, fname):
        return ident(fname.upper())

    def h_open(self, fname, desc):
        g = self.guard(fname)
        return ["/* Generated by tools/gen_libxen.py from datamodel/xenapi.json: do not edit. */",
                "/* %s */" % desc, "#ifndef %s" % g, "#define %s" % g, ""]

    def set_typedef(self, name, elem_ct, what):
        self.sym(name, "set")
        self.sym(name + "_alloc", "set")
        self.sym(name + "_free", "set")
        return ["typedef struct %s {" % name,
                "    size_t size;",
                "    %s;" % decl(elem_ct, "contents[]"),
                "} %s;" % name,
                "/* Allocate a %s with size zeroed entries; yours to free with %s_free(). */" % (name, name),
                "extern %s *%s_alloc(size_t size);" % (name, name),
                "/* Free the set and %s. NULL is fine. */" % what,
                "extern void %s_free(%s *set);" % (name, name), ""]

    def map_typedef(self, l):
        name = mapname(l)
        for s in (name, name + "_contents", name + "_alloc", name + "_free"):
            self.sym(s, "map")
        return ["typedef struct %s_contents {" % name,
                "    %s;" % decl(ctype(l[1]), "key"),
                "    %s;" % decl(ctype(l[2]), "val"),
                "} %s_contents;" % name, "",
                "typedef struct %s {" % name,
                "    size_t size;",
                "    %s_contents contents[];" % name,
                "} %s;" % name,
                "/* Allocate a %s with size zeroed entries; yours to free with %s_free(). */" % (name, name),
                "extern %s *%s_alloc(size_t size);" % (name, name),
                "/* Free the map, its keys and values. NULL is fine. */",
                "extern void %s_free(%s *map);" % (name, name), ""]

    def enum_header(self, e, values):
        f = "xen_%s.h" % e
        out = self.h_open(f, "The enumeration %s." % e)
        out += ["#include <xen/api/xen_common.h>", ""]
        out.append("enum xen_%s {" % e)
        for v in values:
            n = "XEN_%s_%s" % (e.upper(), ident(v).upper())
            self.sym(n, "enum")
            out.append("    %s, /* %s */" % (n, v))
        n = "XEN_%s_UNDEFINED" % e.upper()
        self.sym(n, "enum")
        out.append("    %s /* a value this client does not know */" % n)
        out += ["};", ""]
        out += self.set_typedef("xen_%s_set" % e, "enum xen_%s" % e, "nothing else")
        self.sym("xen_%s_to_string" % e, "enum")
        self.sym("xen_%s_from_string" % e, "enum")
        out += ["/* The wire name of val (\"undefined\" for _UNDEFINED); static, do not free. */",
                "extern const char *xen_%s_to_string(enum xen_%s val);" % (e, e),
                "/* The value named str (exact match), or XEN_%s_UNDEFINED.  session may be NULL;" % e.upper(),
                " * an unknown name is not an error. */",
                "extern enum xen_%s xen_%s_from_string(xen_session *session, const char *str);" % (e, e),
                "", "#endif", ""]
        return f, out

    def own_map_header(self, l):
        f = mapname(l) + ".h"
        out = self.h_open(f, "The map type %s." % mapname(l))
        out += ["#include <xen/api/xen_common.h>"]
        out += ["#include <xen/api/%s>" % i for i in self.includes_for([l[1], l[2]], f)]
        out += [""] + self.map_typedef(l) + ["#endif", ""]
        return f, out

    def own_set_header(self, l):
        name = setname(l)
        f = name + ".h"
        out = self.h_open(f, "The set type %s." % name)
        out += ["#include <xen/api/xen_common.h>", ""]
        out += self.set_typedef(name, ctype(l[1]),
                                "its strings" if l[1][0] == "string" else "nothing else")
        out += ["#endif", ""]
        return f, out

    def struct_header(self, s):
        f = "xen_%s.h" % s
        out = self.h_open(f, "The struct %s." % s)
        mem = self.record_members(s)
        out += ["#include <xen/api/xen_common.h>"]
        out += ["#include <xen/api/%s>" % i for i in self.includes_for([m[2] for m in mem], f)]
        out += ["", "typedef struct xen_%s {" % s]
        for wire, cn, l, _ in mem:
            out.append("    %s;" % decl(ctype(l), cn))
        out += ["} xen_%s;" % s, ""]
        for n in ("xen_%s" % s, "xen_%s_alloc" % s, "xen_%s_free" % s):
            self.sym(n, "struct")
        out += ["/* Allocate a zeroed xen_%s; yours to free with xen_%s_free(). */" % (s, s),
                "extern xen_%s *xen_%s_alloc(void);" % (s, s),
                "/* Free the struct and everything it points to. NULL is fine. */",
                "extern void xen_%s_free(xen_%s *value);" % (s, s), "", "#endif", ""]
        return f, out

    def decl_header(self, c):
        n = lc(c.name)
        f = "xen_%s_decl.h" % n
        out = self.h_open(f, "Forward declarations for the %s class." % c.name)
        if c.name not in NO_HANDLE:
            out += ["/* A handle (the ref string) of a %s; free with xen_%s_free(). */" % (c.name, n),
                    "typedef char *xen_%s;" % n, "",
                    "struct xen_%s_set;" % n,
                    "struct xen_%s_record_opt;" % n,
                    "struct xen_%s_record_opt_set;" % n]
        out += ["struct xen_%s_record;" % n, "struct xen_%s_record_set;" % n, "", "#endif", ""]
        return f, out

    # ---------------------------------------------------------- messages
    def msg_sig(self, c, msg, async_=False):
        """(function name, [C params], [arg initialisers], result ltype or None)."""
        n = lc(c.name)
        fname = "xen_%s_%s" % (n, lc(msg.name)) + ("_async" if async_ else "")
        cparams = ["xen_session *session"]
        args = []
        rl = None
        if async_:
            rl = ("ref", "task")
        elif (c.name, msg.name) in RESULT_INT44:
            rl = ("int",)
        elif msg.returns.kind != "void":
            rl = lt(msg.returns, "result")
        if rl is not None:
            cparams.append("%s *result" % ctype(rl) if not ctype(rl).endswith("*")
                           else "%s*result" % ctype(rl))
        used = set()
        for pname, t in msg.params:
            cn = lc(pname)
            if cn == "self" and n not in used and n not in [lc(p) for p, _ in msg.params]:
                cn = n
            if c.name == "session" and t.kind == "ref" and t.name == "session":
                cn = "self_session"
            if cn in C_RESERVED or cn in used:
                cn += "_"
            used.add(cn)
            pl = lt(t, "param")
            if c.name == "session" and t.kind == "ref" and t.name == "session":
                cparams.append("xen_session *%s" % cn)
                args.append("{ &xeni_t_string, &%s->session_id, 0 }" % cn)
                continue
            if pl == ("string",):
                ct = "const char *"
            elif pl[0] in ("record", "struct"):
                ct = "%s *" % self.rec_ctype(pl)
            else:
                ct = ctype(pl)
            cparams.append(decl(ct, cn))
            flags = "XENI_CREATE" if (msg.kind == "constructor" and pl[0] == "record") else "0"
            args.append("{ &xeni_t_%s, &%s, %s }" % (did(pl), cn, flags))
        return fname, cparams, args, rl

    def ownership_note(self, rl):
        if rl is None:
            return ""
        k = rl[0]
        if k in ("int", "float", "bool", "datetime", "enum"):
            return " *result is set on success."
        if k == "ref":
            return " *result is a handle, yours to free with xen_%s_free()." % lc(rl[1])
        if k == "string":
            return " *result is yours to free with free()."
        if k == "record":
            return " *result is yours to free with xen_%s_record_free()." % lc(rl[1])
        if k == "struct":
            return " *result is yours to free with xen_%s_free()." % rl[1]
        name = setname(rl) if k == "set" else mapname(rl)
        return " *result is yours to free with %s_free()." % name

    def msg_doc(self, c, msg, async_):
        if async_:
            return ("/* Async.%s.%s: start the call as a task; *result is the task handle, yours to"
                    " free with xen_task_free(). */" % (c.name, msg.name))
        what = msg.doc        # the datamodel's doc string (derived messages: derived text)
        return "/* %s Arguments are borrowed.%s */" % (
            what, self.ownership_note(self.msg_sig(c, msg)[3]))

    def class_header(self, c):
        n = lc(c.name)
        f = "xen_%s.h" % n
        out = self.h_open(f, "The %s class." % c.name)
        mem = self.record_members(c.name)
        ls = [m[2] for m in mem] + [("ref", "task")]
        for msg in self.messages(c):
            ls += [lt(t, "param") for _, t in msg.params]
            if msg.returns.kind != "void":
                ls.append(lt(msg.returns, "result"))
        out += ["#include <xen/api/xen_common.h>"]
        if c.name != "session":
            out.append("#include <xen/api/xen_%s_decl.h>" % n)
        out += ["#include <xen/api/%s>" % i for i in self.includes_for(ls, f)
                if i != "xen_%s_decl.h" % n]
        out.append("")
        has_handle = c.name not in NO_HANDLE
        if has_handle:
            self.sym("xen_%s_free" % n, "class")
            out += ["/* Free a handle (NULL is fine). */",
                    "extern void xen_%s_free(xen_%s handle);" % (n, n), ""]
            out += self.set_typedef("xen_%s_set" % n, "xen_%s" % n, "its handles")
        # record
        self.sym("xen_%s_record" % n, "class")
        out.append("typedef struct xen_%s_record {" % n)
        if has_handle:
            out.append("    xen_%s handle;" % n)
        for wire, cn, l, _ in mem:
            alias = MEMBER_ALIASES.get((c.name, cn))
            if alias:
                out += ["    union { /* %s; %s is Xen 4.4.0's name for it */" % (wire, alias),
                        "        %s;" % decl(ctype(l), cn), "        %s;" % decl(ctype(l), alias), "    };"]
                continue
            out.append("    %s;%s" % (decl(ctype(l), cn),
                                      "" if cn == wire else " /* %s */" % wire))
        if not mem and not has_handle:
            out.append("    char unused_;")
        out += ["} xen_%s_record;" % n, ""]
        for s in ("xen_%s_record_alloc" % n, "xen_%s_record_free" % n):
            self.sym(s, "class")
        out += ["/* Allocate a zeroed record; yours to free with xen_%s_record_free(). */" % n,
                "extern xen_%s_record *xen_%s_record_alloc(void);" % (n, n),
                "/* Free the record and everything it points to. NULL is fine. */",
                "extern void xen_%s_record_free(xen_%s_record *record);" % (n, n), ""]
        if has_handle:
            for s in ("xen_%s_record_opt" % n, "xen_%s_record_opt_alloc" % n,
                      "xen_%s_record_opt_free" % n):
                self.sym(s, "class")
            out += ["/* Either a handle or a full record (is_record says which). */",
                    "typedef struct xen_%s_record_opt {" % n,
                    "    bool is_record;",
                    "    union {",
                    "        xen_%s handle;" % n,
                    "        xen_%s_record *record;" % n,
                    "    } u;",
                    "} xen_%s_record_opt;" % n, "",
                    "/* Allocate a zeroed record_opt; yours to free with xen_%s_record_opt_free(). */" % n,
                    "extern xen_%s_record_opt *xen_%s_record_opt_alloc(void);" % (n, n),
                    "/* Free the record_opt and its handle or record. NULL is fine. */",
                    "extern void xen_%s_record_opt_free(xen_%s_record_opt *record_opt);" % (n, n), ""]
        out += self.set_typedef("xen_%s_record_set" % n, "xen_%s_record *" % n, "its records")
        if has_handle:
            out += self.set_typedef("xen_%s_record_opt_set" % n, "xen_%s_record_opt *" % n,
                                    "its record_opts")
        for name in sorted(d for d in self.ltypes):
            l = self.ltypes[name]
            if l[0] == "map" and owner_class(l) == c.name:
                out += self.map_typedef(l)
        for msg in self.messages(c):
            for a in ([False, True] if (msg.async_ and c.name not in ("session", "task")) else [False]):
                fname, cparams, _, _ = self.msg_sig(c, msg, a)
                self.sym(fname, "message")
                out.append(self.msg_doc(c, msg, a))
                out.append("extern bool %s(%s);" % (fname, ", ".join(cparams)))
                out.append("")
        out += ["#endif", ""]
        return f, out

    # --------------------------------------------------------------- C code
    def descriptors(self):
        out = []
        for name in sorted(self.ltypes):
            l = self.ltypes[name]
            k = l[0]
            if k in PRIM or k == "ref":
                continue
            v = "xeni_t_" + name
            if k == "enum":
                vals = self.m.enums[l[1]]
                out.append("static const char *const xeni_names_%s[] = { %s };"
                           % (l[1], ", ".join('"%s"' % x for x in vals)))
                out.append("const xeni_type %s = { .kind = XK_ENUM, .name = \"%s\", .names = xeni_names_%s, .n_names = %d };"
                           % (v, l[1], l[1], len(vals)))
            elif k == "opt":
                out.append("const xeni_type %s = { .kind = XK_OPT, .name = \"%s ref\", .elem = &xeni_t_rec_%s };"
                           % (v, l[1], l[1]))
            elif k == "set":
                sn = setname(l)
                out.append("const xeni_type %s = { .kind = XK_SET, .name = \"%s\", .elem = &xeni_t_%s,"
                           " .contents_offset = offsetof(%s, contents), .entry_size = sizeof(((%s *)0)->contents[0]) };"
                           % (v, sn, did(l[1]), sn, sn))
            elif k == "map":
                mn = mapname(l)
                out.append("const xeni_type %s = { .kind = XK_MAP, .name = \"%s\", .key = &xeni_t_%s, .elem = &xeni_t_%s,"
                           " .contents_offset = offsetof(%s, contents), .entry_size = sizeof(%s_contents),"
                           " .val_offset = offsetof(%s_contents, val) };"
                           % (v, mn, did(l[1]), did(l[2]), mn, mn, mn))
            elif k in ("record", "struct"):
                owner = l[1]
                st = self.rec_ctype(l)
                mem = self.record_members(owner)
                if mem:
                    out.append("static const xeni_member xeni_members_%s[] = {" % owner)
                    for wire, cn, ml, cr in mem:
                        out.append("    { \"%s\", &xeni_t_%s, offsetof(%s, %s), %s },"
                                   % (wire, did(ml), st, cn, "true" if cr else "false"))
                    out.append("};")
                ho = ("offsetof(%s, handle)" % st) if (k == "record" and owner not in NO_HANDLE) else "-1"
                out.append("const xeni_type %s = { .kind = XK_RECORD, .name = \"%s\", .struct_size = sizeof(%s),"
                           " .members = %s, .n_members = %d, .handle_offset = %s };"
                           % (v, owner, st, ("xeni_members_%s" % owner) if mem else "NULL", len(mem), ho))
        return out

    def internal_header(self):
        out = ["/* Generated by tools/gen_libxen.py: do not edit.  Private descriptors. */",
               "#ifndef XENI_GEN_INTERNAL_H", "#define XENI_GEN_INTERNAL_H",
               "#include \"xen_internal.h\"", "#include <xen/api/xen_all.h>", ""]
        for name in sorted(self.ltypes):
            l = self.ltypes[name]
            if l[0] in PRIM or l[0] == "ref":
                continue
            out.append("extern const xeni_type xeni_t_%s;" % name)
        out += ["", "#endif", ""]
        return out

    def c_file(self):
        out = ["/* Generated by tools/gen_libxen.py from datamodel/xenapi.json: do not edit. */",
               "#include <stdlib.h>", "#include <stddef.h>",
               "#include \"xen_gen_internal.h\"", ""]
        out += self.descriptors()
        out.append("")
        # enums
        for e in sorted(self.m.enums):
            out += ["const char *xen_%s_to_string(enum xen_%s val) { return xeni_enum_to_string(&xeni_t_enum_%s, (int)val); }" % (e, e, e),
                    "enum xen_%s xen_%s_from_string(xen_session *session, const char *str)" % (e, e),
                    "{ (void)session; return (enum xen_%s)xeni_enum_from_string(&xeni_t_enum_%s, str); }" % (e, e)]
        # containers
        for name in sorted(self.ltypes):
            l = self.ltypes[name]
            if l[0] in ("set", "map"):
                cn = setname(l) if l[0] == "set" else mapname(l)
                out.append("%s *%s_alloc(size_t size) { return xeni_set_alloc(&xeni_t_%s, size); }" % (cn, cn, name))
                out.append("void %s_free(%s *p) { xeni_free_ptr(&xeni_t_%s, p); }" % (cn, cn, name))
            elif l[0] == "struct":
                s = l[1]
                out.append("xen_%s *xen_%s_alloc(void) { return xeni_record_alloc(&xeni_t_rec_%s); }" % (s, s, s))
                out.append("void xen_%s_free(xen_%s *p) { xeni_free_ptr(&xeni_t_rec_%s, p); }" % (s, s, s))
        out.append("")
        for c in self.classes:
            n = lc(c.name)
            if c.name not in NO_HANDLE:
                out.append("void xen_%s_free(xen_%s handle) { free(handle); }" % (n, n))
                out.append("xen_%s_record_opt *xen_%s_record_opt_alloc(void) { return xeni_opt_alloc(); }" % (n, n))
                out.append("void xen_%s_record_opt_free(xen_%s_record_opt *p) { xeni_free_ptr(&xeni_t_opt_%s, p); }" % (n, n, c.name))
            out.append("xen_%s_record *xen_%s_record_alloc(void) { return xeni_record_alloc(&xeni_t_rec_%s); }" % (n, n, c.name))
            out.append("void xen_%s_record_free(xen_%s_record *p) { xeni_free_ptr(&xeni_t_rec_%s, p); }" % (n, n, c.name))
            out.append("")
            for msg in self.messages(c):
                for a in ([False, True] if (msg.async_ and c.name not in ("session", "task")) else [False]):
                    if not a and (c.name, msg.name) in RESULT_INT44:
                        continue            # hand-written (xen_compat44.c)
                    fname, cparams, args, rl = self.msg_sig(c, msg, a)
                    wire = ("Async." if a else "") + c.name + "." + msg.name
                    out.append("bool\n%s(%s)\n{" % (fname, ", ".join(cparams)))
                    if args:
                        out.append("    const xeni_arg args[] = {")
                        out += ["        %s," % x for x in args]
                        out.append("    };")
                    call = "xeni_call(session, \"%s\", %s, %d, %s, %s)" % (
                        wire, "args" if args else "NULL", len(args),
                        ("&xeni_t_" + did(rl)) if rl else "NULL", "result" if rl else "NULL")
                    if msg.kind == "get_record" and not a and c.name not in NO_HANDLE:
                        out.append("    if (!%s)\n        return false;" % call)
                        out.append("    xeni_record_set_handle(&xeni_t_rec_%s, *result, %s);"
                                   % (c.name, cparams[2].split()[-1]))
                        out.append("    return true;")
                    else:
                        out.append("    return %s;" % call)
                    out.append("}\n")
        return out

    # ----------------------------------------------------------- roundtrip
    def roundtrip(self):
        """A test building every record type with non-default values."""
        out = ["/* Generated by tools/gen_libxen.py: do not edit.  Round-trip test. */",
               "#include \"roundtrip_support.h\"", "#include \"xen_gen_internal.h\"", ""]
        order = sorted(self.ltypes)
        for name in order:
            l = self.ltypes[name]
            if l[0] in PRIM or l[0] == "ref":
                continue
            ct = ctype(l)
            out.append("static %s mk_%s(int seed);" % (ct, name))
            out.append("static bool eq_%s(%s, %s, const char *path);" % (name, decl(ct, "a"), decl(ct, "b")))
        out.append("")
        for name in order:
            l = self.ltypes[name]
            k = l[0]
            if k in PRIM or k == "ref":
                continue
            ct = ctype(l)
            if k == "enum":
                nv = len(self.m.enums[l[1]])
                out += ["static %s mk_%s(int seed) { return (%s)(%d > 1 ? 1 + seed %% %d : 0); }"
                        % (ct, name, ct, nv, max(nv - 1, 1)),
                        "static bool eq_%s(%s, %s, const char *path) { return rt_check(a == b, path); }"
                        % (name, decl(ct, "a"), decl(ct, "b"))]
            elif k == "opt":
                out += ["static %s mk_%s(int seed)" % (ct, name), "{",
                        "    %s o = xen_%s_record_opt_alloc();" % (ct, lc(l[1])),
                        "    o->u.handle = mk_string(seed);", "    return o;", "}",
                        "static bool eq_%s(%s, %s, const char *path)" % (name, decl(ct, "a"), decl(ct, "b")),
                        "{ return rt_check(!a->is_record && !b->is_record, path) && eq_string(a->u.handle, b->u.handle, path); }"]
            elif k == "set":
                e = l[1]
                sn = setname(l)
                out += ["static %s mk_%s(int seed)" % (ct, name), "{",
                        "    %s *s = %s_alloc(2);" % (sn, sn),
                        "    for (size_t i = 0; i < 2; i++)",
                        "        s->contents[i] = mk_%s(seed + (int)i + 1);" % did(e),
                        "    return s;", "}",
                        "static bool eq_%s(%s, %s, const char *path)" % (name, decl(ct, "a"), decl(ct, "b")), "{",
                        "    if (!rt_check(a->size == b->size, path))", "        return false;",
                        "    for (size_t i = 0; i < a->size; i++)",
                        "        if (!eq_%s(a->contents[i], b->contents[i], path))" % did(e),
                        "            return false;", "    return true;", "}"]
            elif k == "map":
                mn = mapname(l)
                out += ["static %s mk_%s(int seed)" % (ct, name), "{",
                        "    %s *m = %s_alloc(2);" % (mn, mn),
                        "    for (size_t i = 0; i < 2; i++) {",
                        "        m->contents[i].key = mk_%s(seed + 7 * (int)i + 1);" % did(l[1]),
                        "        m->contents[i].val = mk_%s(seed + (int)i + 2);" % did(l[2]),
                        "    }", "    return m;", "}",
                        "static bool eq_%s(%s, %s, const char *path)" % (name, decl(ct, "a"), decl(ct, "b")), "{",
                        "    if (!rt_check(a->size == b->size, path))", "        return false;",
                        "    for (size_t i = 0; i < a->size; i++)",
                        "        if (!eq_%s(a->contents[i].key, b->contents[i].key, path) ||" % did(l[1]),
                        "            !eq_%s(a->contents[i].val, b->contents[i].val, path))" % did(l[2]),
                        "            return false;", "    return true;", "}"]
            elif k in ("record", "struct"):
                owner = l[1]
                st = self.rec_ctype(l)
                mem = self.record_members(owner)
                alloc = ("xen_%s_record_alloc()" % lc(owner)) if k == "record" else ("xen_%s_alloc()" % owner)
                out += ["static %s mk_%s(int seed)" % (ct, name), "{",
                        "    %s *r = %s;" % (st, alloc), "    (void)seed;"]
                for i, (wire, cn, ml, _) in enumerate(mem):
                    out.append("    r->%s = mk_%s(seed + %d);" % (cn, did(ml), 10 * (i + 1)))
                out += ["    return r;", "}",
                        "static bool eq_%s(%s, %s, const char *path)" % (name, decl(ct, "a"), decl(ct, "b")), "{",
                        "    bool ok = rt_check(a != NULL && b != NULL, path);",
                        "    if (!ok)", "        return false;", "    (void)path;"]
                for wire, cn, ml, _ in mem:
                    out.append("    ok &= eq_%s(a->%s, b->%s, \"%s.%s\");" % (did(ml), cn, cn, owner, wire))
                out += ["    return ok;", "}"]
        out.append("")
        out.append("const rt_case rt_cases[] = {")
        cases = [n for n in order if self.ltypes[n][0] in ("record", "struct", "set", "map", "opt")]
        for name in cases:
            l = self.ltypes[name]
            if l[0] in ("record", "struct"):
                mem = self.record_members(l[1])
                out.append("    { \"%s\", &xeni_t_%s, %d, %d, rt_mk_%s, rt_eq_%s },"
                           % (l[1], name, len(mem), sum(1 for x in mem if x[3]), name, name))
            else:
                out.append("    { \"%s\", &xeni_t_%s, RT_NA, RT_NA, rt_mk_%s, rt_eq_%s },"
                           % (name, name, name, name))
        out += ["};", "const size_t rt_ncases = sizeof(rt_cases) / sizeof(rt_cases[0]);", ""]
        # trampolines with uniform signatures
        tr = []
        for name in cases:
            l = self.ltypes[name]
            tr += ["static void *rt_mk_%s(int seed) { return mk_%s(seed); }" % (name, name),
                   "static bool rt_eq_%s(const void *a, const void *b) { return eq_%s((%s)a, (%s)b, \"%s\"); }"
                   % (name, name, ctype(l), ctype(l), name)]
        i = out.index("const rt_case rt_cases[] = {")
        out[i:i] = tr + [""]
        return out


def all_records(g):
    """For the integration test: get_all_records (and get_all, get_record)
    of every class, through the public API only."""
    out = ["/* Generated by tools/gen_libxen.py: do not edit.  Integration-test table. */",
           "#include \"all_records.h\"", ""]
    names = []
    for c in g.classes:
        kinds = {m.kind: m for m in c.messages}
        if "get_all_records" not in kinds or c.name in NO_HANDLE:
            continue
        n = lc(c.name)
        mn = "xen_%s_xen_%s_record_map" % (n, n)
        has_uuid = "uuid" in c.field_by_name
        out += ["static void ar_%s(xen_session *s, ar_result *r)" % n, "{",
                "    %s *m = NULL;" % mn,
                "    r->ok = xen_%s_get_all_records(s, &m);" % n,
                "    if (!r->ok)", "        return;",
                "    r->n = m->size;",
                "    for (size_t i = 0; i < m->size; i++)",
                "        if (!m->contents[i].val || !m->contents[i].val->handle ||",
                "            strcmp(m->contents[i].key, m->contents[i].val->handle) != 0)",
                "            r->bad++;"]
        if "get_all" in kinds:
            out += ["    struct xen_%s_set *all = NULL;" % n,
                    "    if (xen_%s_get_all(s, &all)) {" % n,
                    "        r->n_all = all->size;",
                    "        xen_%s_set_free(all);" % n,
                    "    } else {", "        r->n_all = (size_t)-1;", "    }"]
        else:
            out.append("    r->n_all = m->size;")
        if "get_record" in kinds:
            out += ["    if (m->size > 0) {",
                    "        xen_%s_record *rec = NULL;" % n,
                    "        r->record_ok = xen_%s_get_record(s, &rec, m->contents[0].key);" % n]
            if has_uuid:
                out += ["        if (r->record_ok && strcmp(rec->uuid, m->contents[0].val->uuid) != 0)",
                        "            r->bad++;"]
            out += ["        xen_%s_record_free(rec);" % n, "    } else {",
                    "        r->record_ok = true;", "    }"]
        else:
            out.append("    r->record_ok = true;")
        out += ["    %s_free(m);" % mn, "}", ""]
        names.append((c.name, n))
    out.append("const ar_case ar_cases[] = {")
    out += ["    { \"%s\", ar_%s }," % (c, n) for c, n in names]
    out += ["};", "const size_t ar_ncases = sizeof(ar_cases) / sizeof(ar_cases[0]);", ""]
    return out


def write(path, lines):
    text = "\n".join(lines)
    write_if_changed(path, text if text.endswith("\n") else text + "\n")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    m = Model(sys.argv[1])
    out = sys.argv[2]
    api = os.path.join(out, "xen", "api")
    os.makedirs(api, exist_ok=True)
    g = Gen(m)
    files = []
    for e, vals in sorted(m.enums.items()):
        files.append(g.enum_header(e, vals))
    for name, l in sorted(g.sets_own.items()):
        files.append(g.own_set_header(l))
    for name, l in sorted(g.maps_own.items()):
        files.append(g.own_map_header(l))
    for s in sorted(g.structs):
        files.append(g.struct_header(s))
    for c in g.classes:
        if c.name != "session":
            files.append(g.decl_header(c))
        files.append(g.class_header(c))
    names = [f for f, _ in files]
    allh = g.h_open("xen_all.h", "Every libxen header.")
    allh += ["#include <xen/api/xen_common.h>", "#include <xen/api/xen_transport.h>"]
    allh += ["#include <xen/api/%s>" % f for f in names]
    allh += ["#include <xen/api/xen_compat44.h>"]     # hand-written: Xen 4.4.0's other spellings
    allh += ["", "#endif", ""]
    files.append(("xen_all.h", allh))
    for f, lines in files:
        write(os.path.join(api, f), lines)
    # remove stale generated headers (a class or type that disappeared)
    keep = set(f for f, _ in files)
    for f in os.listdir(api):
        if f.endswith(".h") and f not in keep:
            os.unlink(os.path.join(api, f))
    write(os.path.join(out, "headers.list"), sorted(keep))
    write(os.path.join(out, "xen_gen_internal.h"), g.internal_header())
    write(os.path.join(out, "xen_gen.c"), g.c_file())
    write(os.path.join(out, "roundtrip.c"), g.roundtrip())
    write(os.path.join(out, "all_records.c"), all_records(g))


if __name__ == "__main__":
    main()
