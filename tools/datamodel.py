"""Loader for datamodel/xenapi.json, the single source of the XenAPI surface.

Shared by every generator (daemon tables, libxen, pyxen, the method manifest,
the API reference) and by the tests.  The file states policy once; the loader
derives the rest:

- a class lists its fields with their qualifiers; every field gets get_<f>,
  every RW field set_<f>, every RW Set or Map field add_to_<f>/remove_from_<f>;
- every class gets get_record, get_all, get_all_records and get_by_uuid, a class
  with a name_label field get_by_name_label, and a class that says so create
  and destroy;
- "omit" removes derived messages the XenAPI 1.0 listing does not have, and an
  entry of "messages" without "kind" that names a derived message overrides
  some of its keys (parameter names, errors, flags, role, doc);
- roles: derived reads need read-only, derived writes the class's role (its
  "role"), or a field's "writer_role"; explicit messages the class's role
  unless they name one (XAPI's defaults, ocaml/idl/datamodel_common.ml).

A type is parsed into a Type tree:
    Type(kind, name=None, elem=None, key=None)
with kind one of: string int float bool datetime void ref record enum struct set map.

Model(path) raises DatamodelError listing every problem found, each with a
stable code (tests/gen/test_datamodel.py feeds broken datamodels and expects
these codes).
"""
import json
import os
import re

PRIMITIVES = {"string", "int", "float", "bool", "datetime", "void"}

# XAPI's static roles, most privileged first (ocaml/idl/datamodel_roles.ml).
ROLE_ORDER = ["pool-admin", "pool-operator", "vm-power-admin", "vm-admin", "vm-operator", "read-only"]

QUALIFIERS = ("RO/run", "RO/ins", "RW")
FIELD_KINDS = ("getter", "setter", "map_add", "map_remove", "set_add", "set_remove")
CLASS_KINDS = ("constructor", "destructor", "get_by_uuid", "get_record", "get_by_name_label",
               "get_all", "get_all_records")
READ_KINDS = {"getter", "get_record", "get_all", "get_all_records", "get_by_uuid", "get_by_name_label"}
KINDS = set(FIELD_KINDS) | set(CLASS_KINDS) | {"explicit"}

MESSAGE_KEYS = {"name", "kind", "field", "params", "returns", "errors", "session", "async", "origin",
                "doc", "role", "unsupported", "secret", "blocking", "read_only"}
FIELD_KEYS = {"name", "type", "qual", "doc", "origin", "writer_role", "min", "max", "max_length",
              "no_control", "values"}
CLASS_KEYS = {"name", "doc", "origin", "pseudo", "role", "create", "destroy", "implicit_async", "omit",
              "fields", "messages", "orderings", "hooks"}
TOP_KEYS = {"api_revision", "roles", "enums", "structs", "errors", "relationships", "classes"}
IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
ERROR_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Doc strings are one line of plain prose (they end up in C comments, C strings and Markdown).
DOC_OK = re.compile(r"^(?!.*(/\*|\*/))[^\x00-\x1f\x7f`|<>\\]+$")
DOC_MAX = 300


class DatamodelError(Exception):
    """Every problem found in a datamodel: a list of (code, where, message)."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("\n".join("%s: %s: %s" % p for p in problems))


class Type:
    def __init__(self, kind, name=None, elem=None, key=None):
        self.kind, self.name, self.elem, self.key = kind, name, elem, key

    def __str__(self):
        if self.kind in PRIMITIVES:
            return self.kind
        if self.kind in ("ref", "record"):
            return "%s %s" % (self.name, self.kind)
        if self.kind in ("enum", "struct"):
            return self.name
        if self.kind == "set":
            return "(%s) Set" % self.elem
        return "(%s -> %s) Map" % (self.key, self.elem)

    def ident(self):
        """A C-identifier-safe canonical name of the type."""
        if self.kind in PRIMITIVES:
            return self.kind
        if self.kind in ("ref", "record", "enum", "struct"):
            return "%s_%s" % (self.kind, self.name)
        if self.kind == "set":
            return "set_" + self.elem.ident()
        return "map_%s__%s" % (self.key.ident(), self.elem.ident())


def _strip_parens(s):
    s = s.strip()
    while s.startswith("(") and _matching(s, 0) == len(s) - 1:
        s = s[1:-1].strip()
    return s


def _matching(s, i):
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "(":
            depth += 1
        elif s[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced type: " + s)


class Model:
    def __init__(self, path=None, data=None):
        d = data if data is not None else json.load(open(path))
        self.raw = d
        self.problems = []
        self._check_keys(d, TOP_KEYS, "datamodel", required=TOP_KEYS - {"relationships"})
        self.api_revision = d.get("api_revision", "")
        self.roles = []
        for r in d.get("roles", []):
            self.roles.append(r.get("name"))
            self._check_doc(r.get("doc"), "role %s" % r.get("name"))
        if self.roles != ROLE_ORDER:
            self.problem("bad-roles", "roles", "the roles must be XAPI's six, most privileged first: %s"
                         % ", ".join(ROLE_ORDER))
        self.enums = d.get("enums", {})
        for n, vals in self.enums.items():
            if not IDENT.match(n):
                self.problem("bad-name", "enum %s" % n, "not an identifier")
            if len(set(vals)) != len(vals) or not vals:
                self.problem("bad-enum", "enum %s" % n, "values must be distinct and at least one")
        self.structs = d.get("structs", {})
        self.errors = []
        self.error_doc = {}
        self.error_refs = {}
        seen = set()
        for e in d.get("errors", []):
            if not (isinstance(e, list) and len(e) in (2, 3) and isinstance(e[0], str)
                    and isinstance(e[1], list)):
                self.problem("bad-error", "errors", "an error is [CODE, [params (\"<name> ref\": a ref)], doc?]: %r" % (e,))
                continue
            if not ERROR_CODE.match(e[0]):
                self.problem("bad-error", "error %s" % e[0], "codes are upper case")
            if e[0] in seen:
                self.problem("duplicate-error", "error %s" % e[0], "defined twice")
            seen.add(e[0])
            # a parameter named "<name> ref" is a ref (written in OpaqueRef form to XAPI's clients)
            names = [q[:-4] if isinstance(q, str) and q.endswith(" ref") else q for q in e[1]]
            self.error_refs[e[0]] = [i for i, q in enumerate(e[1]) if isinstance(q, str) and q.endswith(" ref")]
            self.errors.append((e[0], names))
            if len(e) == 3:
                self._check_doc(e[2], "error %s" % e[0])
                self.error_doc[e[0]] = e[2]
        self.error_params = dict(self.errors)
        self.classes = []
        self.class_by_name = {}
        for c in d.get("classes", []):
            cls = Class(self, c)
            if cls.name in self.class_by_name:
                self.problem("duplicate-class", "class %s" % cls.name, "defined twice")
            self.classes.append(cls)
            self.class_by_name[cls.name] = cls
        for cls in self.classes:
            cls.resolve()
        for i, rel in enumerate(d.get("relationships", [])):
            for side in rel[:2]:
                cn, _, fn = side.partition(".")
                if cn not in self.class_by_name or fn not in self.class_by_name[cn].field_by_name:
                    self.problem("unknown-field", "relationship %d" % i, "%s names no field" % side)
        if self.problems:
            raise DatamodelError(self.problems)

    # ---- validation helpers ----
    def problem(self, code, where, msg):
        self.problems.append((code, where, msg))

    def _check_keys(self, obj, allowed, where, required=()):
        if not isinstance(obj, dict):
            self.problem("bad-shape", where, "expected an object")
            return
        for k in sorted(set(obj) - set(allowed)):
            self.problem("unknown-key", where, "unknown key %r" % k)
        for k in sorted(set(required) - set(obj)):
            self.problem("missing-key", where, "missing key %r" % k)

    def _check_doc(self, doc, where):
        if doc is None:
            self.problem("missing-doc", where, "has no doc string")
        elif not isinstance(doc, str) or not DOC_OK.match(doc) or len(doc) > DOC_MAX or doc != doc.strip():
            self.problem("bad-doc", where, "a doc string is one line of plain text, at most %d characters"
                         % DOC_MAX)

    def check_role(self, role, where):
        if role not in ROLE_ORDER:
            self.problem("unknown-role", where, "%r is not one of %s" % (role, ", ".join(ROLE_ORDER)))
            return False
        return True

    def parse(self, s, where):
        try:
            return self.parse_type(s)
        except (ValueError, AttributeError, TypeError) as e:
            self.problem("unknown-type", where, str(e))
            return Type("void")

    def parse_type(self, s):
        s = _strip_parens(s)
        if s.endswith(" Set"):
            return Type("set", elem=self.parse_type(s[:-4]))
        if s.endswith(" Map"):
            inner = _strip_parens(s[:-4])
            # split at the top-level "->"
            depth = 0
            for i, ch in enumerate(inner):
                if ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                elif depth == 0 and inner.startswith("->", i):
                    return Type("map", key=self.parse_type(inner[:i]),
                                elem=self.parse_type(inner[i + 2:]))
            raise ValueError("bad map type: " + s)
        if s in PRIMITIVES:
            return Type(s)
        if s.endswith(" ref") or s.endswith(" record"):
            name = s.rsplit(" ", 1)[0].strip()
            kind = s.rsplit(" ", 1)[1]
            if hasattr(self, "class_names") and name not in self.class_names:
                raise ValueError("unknown class in type: " + s)
            return Type(kind, name=name)
        if s in self.enums:
            return Type("enum", name=s)
        if s in self.structs:
            return Type("struct", name=s)
        raise ValueError("unknown type: " + s)

    @property
    def class_names(self):
        return {c.get("name") for c in self.raw.get("classes", [])}

    def wire_methods(self):
        """Every wire method as (wire name, class, message), sorted by name."""
        out = []
        for c in self.classes:
            for m in c.messages:
                out.append((c.name + "." + m.name, c, m))
                if m.async_ and c.name not in ("session", "task"):
                    out.append(("Async." + c.name + "." + m.name, c, m))
        out.sort(key=lambda t: t[0])
        return out


class Field:
    def __init__(self, model, cls, idx, f):
        where = "field %s.%s" % (cls.name, f.get("name") if isinstance(f, dict) else f)
        model._check_keys(f, FIELD_KEYS, where, required={"name", "type", "qual", "doc"})
        if not isinstance(f, dict):
            f = {"name": "?", "type": "void", "qual": "RO/run"}
        self.idx = idx
        self.cls = cls
        self.name, self.type_str, self.qual = f.get("name", "?"), f.get("type", "void"), f.get("qual")
        self.doc = f.get("doc", "")
        self.origin = f.get("origin")
        self.writer_role = f.get("writer_role")
        if not IDENT.match(self.name):
            model.problem("bad-name", where, "not an identifier")
        if self.qual not in QUALIFIERS:
            model.problem("bad-qualifier", where, "qualifier must be one of %s" % ", ".join(QUALIFIERS))
        model._check_doc(f.get("doc"), where)
        if self.writer_role is not None:
            model.check_role(self.writer_role, where)
        self.type = model.parse(self.type_str, where)
        # constraints, checked by generated code on create and on every setter
        self.min, self.max = f.get("min"), f.get("max")
        self.max_length = f.get("max_length")
        self.no_control = f.get("no_control", False)
        for k in ("min", "max"):
            v = f.get(k)
            if v is not None and (self.type.kind != "int" or not isinstance(v, int) or isinstance(v, bool)):
                model.problem("bad-constraint", where, "%s applies to int fields and takes an integer" % k)
        if self.min is not None and self.max is not None and self.min > self.max:
            model.problem("bad-constraint", where, "min is above max")
        if self.max_length is not None and (self.type.kind != "string" or not isinstance(self.max_length, int)
                                            or self.max_length < 1):
            model.problem("bad-constraint", where, "max_length applies to string fields, a positive integer")
        if self.no_control and self.type.kind != "string":
            model.problem("bad-constraint", where, "no_control applies to string fields")
        if self.qual == "RO/run" and any(f.get(k) is not None for k in ("min", "max", "max_length")):
            model.problem("bad-constraint", where, "a constraint on a field no client writes checks nothing")

    def writable(self):
        return self.qual == "RW"


class Message:
    def __init__(self, model, cls, m, derived=False):
        where = "message %s.%s" % (cls.name, m.get("name"))
        self.cls = cls
        self.name = m.get("name", "?")
        self.kind = m.get("kind", "explicit")
        self.derived = derived
        self.field_name = m.get("field")
        self.params = [(p[0], model.parse(p[1], where)) for p in m.get("params", [])]
        self.returns = model.parse(m.get("returns", "void"), where)
        self.errors = m.get("errors", [])
        self.session = m.get("session", True)
        self.async_ = m.get("async", False)
        self.origin = m.get("origin", "1.0")
        self.doc = m.get("doc", "")
        self.role = m.get("role")
        self.unsupported = m.get("unsupported", False)
        self.secret = m.get("secret", [])
        self.blocking = m.get("blocking", False)
        self.read_only = m.get("read_only", self.kind in READ_KINDS)
        self.field = None
        if not IDENT.match(self.name):
            model.problem("bad-name", where, "not an identifier")
        if self.kind not in KINDS:
            model.problem("bad-kind", where, "kind %r unknown" % self.kind)
        if not derived:
            model._check_doc(m.get("doc"), where)
        for e in self.errors:
            if e not in model.error_params:
                model.problem("unknown-error", where, "error %s is not defined" % e)
        if self.role is not None:
            model.check_role(self.role, where)
        if self.unsupported:
            # [CODE, params...]: the generated handler answers that error; an
            # error of one parameter given none gets the method's wire name
            u = self.unsupported
            if self.kind != "explicit":
                model.problem("bad-flag", where, "only explicit messages can be unsupported")
            if not (isinstance(u, list) and u and all(isinstance(x, str) for x in u)) \
                    or u[0] not in model.error_params:
                model.problem("bad-flag", where, "unsupported is [ERROR_CODE, params...] naming a defined error")
            else:
                want = len(model.error_params[u[0]])
                if len(u) - 1 != want and not (want == 1 and len(u) == 1):
                    model.problem("bad-flag", where, "%s takes %d parameters" % (u[0], want))
                self.unsupported = u + ([self.cls.name + "." + self.name] if want == 1 and len(u) == 1 else [])
        names = [n for n, _ in self.params]
        if not isinstance(self.secret, list) or any(s not in names for s in self.secret):
            model.problem("bad-flag", where, "secret lists parameter names of the message")
        if len(set(names)) != len(names):
            model.problem("duplicate-param", where, "two parameters share a name")

    def signature(self):
        ps = (["session ref session_id"] if self.session else []) + \
             ["%s %s" % (t, n) for n, t in self.params]
        return "(%s) -> %s" % (", ".join(ps), self.returns)

    def wire_name(self):
        return self.cls.name + "." + self.name


class Class:
    def __init__(self, model, c):
        self.model = model
        where = "class %s" % c.get("name")
        model._check_keys(c, CLASS_KEYS, where, required={"name", "doc", "role", "fields", "messages"})
        self.raw = c
        self.name = c.get("name", "?")
        if not IDENT.match(self.name):
            model.problem("bad-name", where, "not an identifier")
        model._check_doc(c.get("doc"), where)
        self.doc = c.get("doc", "")
        self.origin = c.get("origin", "1.0")
        self.pseudo = c.get("pseudo", False)
        self.role = c.get("role", "vm-admin")
        # the class's generic messages call hand-written hooks: <class in lower case>_ops
        self.hooks = c.get("hooks", False)
        model.check_role(self.role, where)
        self.fields = [Field(model, self, i, f) for i, f in enumerate(c.get("fields", []))]
        self.field_by_name = {}
        for f in self.fields:
            if f.name in self.field_by_name:
                model.problem("duplicate-field", "field %s.%s" % (self.name, f.name), "defined twice")
            self.field_by_name[f.name] = f
        self.messages = []

    # ---- derivation ----
    def derived(self):
        """The implicit messages the class's fields and flags imply, in order."""
        n, c = self.name, self.raw
        ref = "%s ref" % n
        out = []
        fasync = False
        for f in self.fields:
            getter = {"name": "get_" + f.name, "kind": "getter", "field": f.name,
                      "params": [["self", ref]], "returns": f.type_str, "async": fasync}
            if f.origin:
                getter["origin"] = f.origin
            out.append(getter)
            if not f.writable():
                continue
            out.append({"name": "set_" + f.name, "kind": "setter", "field": f.name,
                        "params": [["self", ref], ["value", f.type_str]], "returns": "void", "async": fasync})
            if f.type.kind == "map":
                out.append({"name": "add_to_" + f.name, "kind": "map_add", "field": f.name,
                            "params": [["self", ref], ["key", str(f.type.key)], ["value", str(f.type.elem)]],
                            "returns": "void", "async": fasync})
                out.append({"name": "remove_from_" + f.name, "kind": "map_remove", "field": f.name,
                            "params": [["self", ref], ["key", str(f.type.key)]], "returns": "void",
                            "async": fasync})
            elif f.type.kind == "set":
                out.append({"name": "add_to_" + f.name, "kind": "set_add", "field": f.name,
                            "params": [["self", ref], ["value", str(f.type.elem)]], "returns": "void",
                            "async": fasync})
                out.append({"name": "remove_from_" + f.name, "kind": "set_remove", "field": f.name,
                            "params": [["self", ref], ["value", str(f.type.elem)]], "returns": "void",
                            "async": fasync})
        if self.pseudo:
            return out
        casync = c.get("implicit_async", True)
        if c.get("create"):
            out.append({"name": "create", "kind": "constructor", "params": [["args", "%s record" % n]],
                        "returns": ref, "async": casync})
        if c.get("destroy"):
            out.append({"name": "destroy", "kind": "destructor", "params": [["self", ref]],
                        "returns": "void", "async": casync})
        out.append({"name": "get_by_uuid", "kind": "get_by_uuid", "params": [["uuid", "string"]],
                    "returns": ref, "async": casync})
        out.append({"name": "get_record", "kind": "get_record", "params": [["self", ref]],
                    "returns": "%s record" % n, "async": casync})
        if "name_label" in self.field_by_name:
            out.append({"name": "get_by_name_label", "kind": "get_by_name_label",
                        "params": [["label", "string"]], "returns": "(%s) Set" % ref, "async": casync})
        out.append({"name": "get_all", "kind": "get_all", "params": [], "returns": "(%s) Set" % ref,
                    "async": casync})
        out.append({"name": "get_all_records", "kind": "get_all_records", "params": [],
                    "returns": "((%s) -> (%s record)) Map" % (ref, n), "origin": "xend"})
        return out

    def resolve(self):
        model, c = self.model, self.raw
        derived = self.derived()
        by_name = {m["name"]: m for m in derived}
        omit = c.get("omit", [])
        for o in omit:
            if o not in by_name:
                model.problem("omit-unknown", "class %s" % self.name, "omits %s, which is not derived" % o)
        overrides = {}
        explicit = []
        for m in c.get("messages", []):
            where = "message %s.%s" % (self.name, m.get("name"))
            model._check_keys(m, MESSAGE_KEYS, where, required={"name"})
            if "kind" in m:
                if m.get("name") in by_name and m.get("name") not in omit:
                    model.problem("duplicate-message", where, "is derived already; override it without 'kind'")
                if m["kind"] != "explicit":
                    model.problem("bad-kind", where, "only explicit messages are written out")
                model._check_keys(m, MESSAGE_KEYS, where, required={"name", "kind", "params", "returns", "doc"})
                explicit.append(m)
            elif m.get("name") not in by_name or m.get("name") in omit:
                model.problem("override-unknown", where, "overrides a message that is not derived")
            elif m["name"] in overrides:
                model.problem("duplicate-message", where, "overridden twice")
            else:
                overrides[m["name"]] = m
        msgs = []
        for d in derived:
            if d["name"] in omit:
                continue
            if d["name"] in overrides:
                d = dict(d, **overrides[d["name"]])
            msgs.append(Message(model, self, d, derived=True))
        msgs += [Message(model, self, m) for m in explicit]
        seen = set()
        for m in msgs:
            if m.name in seen:
                model.problem("duplicate-message", "message %s.%s" % (self.name, m.name), "defined twice")
            seen.add(m.name)
            if m.field_name:
                m.field = self.field_by_name.get(m.field_name)
                if m.field is None:
                    model.problem("unknown-field", "message %s.%s" % (self.name, m.name),
                                  "names no field of its class")
            if m.role is None:
                if m.read_only:
                    m.role = "read-only"
                elif m.field is not None and m.field.writer_role:
                    m.role = m.field.writer_role
                else:
                    m.role = self.role
            if not m.doc:
                m.doc = self.derived_doc(m)
        self.messages = msgs
        self.orderings = []
        for i, o in enumerate(c.get("orderings", [])):
            where = "class %s ordering %d" % (self.name, i)
            model._check_keys(o, {"fields", "error", "when", "doc", "zero_is_unset"}, where,
                              required={"fields", "error", "when", "doc"})
            fs = o.get("fields", [])
            if len(fs) < 2:
                model.problem("bad-constraint", where, "an ordering names at least two fields")
            for fn in fs:
                f = self.field_by_name.get(fn)
                if f is None:
                    model.problem("unknown-field", where, "%s names no field of the class" % fn)
                elif f.type.kind != "int":
                    model.problem("bad-constraint", where, "%s is not an int field" % fn)
            if o.get("error") not in model.error_params:
                model.problem("unknown-error", where, "error %s is not defined" % o.get("error"))
            elif len(model.error_params[o["error"]]) not in (1, 3):
                model.problem("bad-constraint", where, "the error of an ordering takes 1 parameter (the "
                              "constraint) or 3 (field, value, reason)")
            if o.get("when") not in ("start", "write"):
                model.problem("bad-constraint", where, "when is 'start' or 'write'")
            model._check_doc(o.get("doc"), where)
            self.orderings.append(o)

    def derived_doc(self, m):
        f = m.field
        what = {"getter": "Get the %s field of the given %s." % (f.name if f else "", self.name),
                "setter": "Set the %s field of the given %s." % (f.name if f else "", self.name),
                "map_add": "Add the given key-value pair to the %s field of the given %s."
                           % (f.name if f else "", self.name),
                "map_remove": "Remove the given key and its value from the %s field of the given %s."
                              % (f.name if f else "", self.name),
                "set_add": "Add the given value to the %s field of the given %s." % (f.name if f else "",
                                                                                     self.name),
                "set_remove": "Remove the given value from the %s field of the given %s."
                              % (f.name if f else "", self.name),
                "constructor": "Create a new %s instance, and return its handle." % self.name,
                "destructor": "Destroy the specified %s instance." % self.name,
                "get_by_uuid": "Get a reference to the %s instance with the specified UUID." % self.name,
                "get_record": "Get a record containing the current state of the given %s." % self.name,
                "get_by_name_label": "Get all the %s instances with the given label." % self.name,
                "get_all": "Return a list of all the %s instances known to the system." % self.name,
                "get_all_records": "Return a map from reference to record of every %s instance."
                                   % self.name}
        return what.get(m.kind, "")

    def has(self, kind):
        return any(m.kind == kind for m in self.messages)


def roles_allowed(role):
    """The roles that may call a message needing role: that role and every one above it."""
    return ROLE_ORDER[:ROLE_ORDER.index(role) + 1]


def write_if_changed(path, text):
    """Write the file only when its content changes (keeps make's timestamps), atomically."""
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
