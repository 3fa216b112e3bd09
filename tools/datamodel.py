"""Loader for datamodel/xenapi.json, the single source of the XenAPI surface.

Shared by every generator (daemon tables, libxen, pyxen, the method manifest).
A type is parsed into a Type tree:
    Type(kind, name=None, elem=None, key=None)
with kind one of: string int float bool datetime void ref record enum struct set map.
"""
import json

PRIMITIVES = {"string", "int", "float", "bool", "datetime", "void"}


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
    def __init__(self, path):
        d = json.load(open(path))
        self.raw = d
        self.api_revision = d["api_revision"]
        self.enums = d["enums"]
        self.structs = d["structs"]
        self.errors = [(e[0], e[1]) for e in d["errors"]]
        self.classes = [Class(self, c) for c in d["classes"]]
        self.class_by_name = {c.name: c for c in self.classes}
        for c in self.classes:
            c.resolve()

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
        if s.endswith(" ref"):
            return Type("ref", name=s[:-4].strip())
        if s.endswith(" record"):
            return Type("record", name=s[:-7].strip())
        if s in self.enums:
            return Type("enum", name=s)
        if s in self.structs:
            return Type("struct", name=s)
        raise ValueError("unknown type: " + s)

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
    def __init__(self, model, idx, f):
        self.idx = idx
        self.name, self.type_str, self.qual = f[0], f[1], f[2]
        self.type = model.parse_type(self.type_str)


class Message:
    def __init__(self, model, cls, m):
        self.cls = cls
        self.name = m["name"]
        self.kind = m["kind"]
        self.field_name = m.get("field")
        self.params = [(p[0], model.parse_type(p[1])) for p in m["params"]]
        self.returns = model.parse_type(m["returns"])
        self.errors = m.get("errors", [])
        self.session = m.get("session", True)
        self.async_ = m.get("async", False)
        self.origin = m.get("origin", "1.0")
        self.field = None

    def signature(self):
        ps = (["session ref session_id"] if self.session else []) + \
             ["%s %s" % (t, n) for n, t in self.params]
        return "(%s) -> %s" % (", ".join(ps), self.returns)


class Class:
    def __init__(self, model, c):
        self.model = model
        self.name = c["name"]
        self.origin = c.get("origin", "1.0")
        self.pseudo = c.get("pseudo", False)
        self.fields = [Field(model, i, f) for i, f in enumerate(c["fields"])]
        self.field_by_name = {f.name: f for f in self.fields}
        self.messages = [Message(model, self, m) for m in c["messages"]]

    def resolve(self):
        for m in self.messages:
            if m.field_name:
                m.field = self.field_by_name[m.field_name]

    def has(self, kind):
        return any(m.kind == kind for m in self.messages)
