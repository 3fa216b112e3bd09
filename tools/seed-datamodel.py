#!/usr/bin/env python3
"""One-time seeding of datamodel/xenapi.json from the XenAPI 1.0 reference facts.

Kept for provenance only: datamodel/xenapi.json is the source of truth and is
edited by hand from now on.  Usage: seed-datamodel.py REFERENCE.json > xenapi.json
"""
import json, sys

ref = json.load(open(sys.argv[1]))

def norm(t):
    # Normalise the spec's irregular spellings to one type grammar.
    t = t.strip()
    fixes = {"integer": "int", "(host_cpu) Set": "(host_cpu ref) Set",
             "(cpu_pool) Set": "(cpu_pool ref) Set", "xs ref": "XSPolicy ref",
             "vm ref": "VM ref", "xs_ref": "XSPolicy ref"}
    return fixes.get(t, t)

out = {"api_revision": ref["meta"]["api_revision"],
       "enums": {e["name"]: e["values"] for e in ref["enums"]},
       "structs": {s["name"]: [[m["name"], norm(m["type"])] for m in s["members"]] for s in ref["structs"]},
       "errors": [[e["name"], e["params"]] for e in ref["errors"]],
       "classes": []}
for c in ref["classes"]:
    fields = []
    for f in c["fields"]:
        t = norm(f["type"])
        if c["name"] == "cpu_pool" and f["name"] == "host_CPUs":
            t = "(host_cpu ref) Set"
        if c["name"] == "session" and f["name"] == "this_user":
            t = "string"          # libxen and xend: the login name
        if c["name"] == "session" and f["name"] == "last_active":
            t = "datetime"        # libxen and xend: a datetime
        fields.append([f["name"], t, f["qualifier"]])
    msgs = []
    for m in c["messages"]:
        ent = {"name": m["name"], "kind": m["kind"]}
        if m["kind"] in ("getter", "setter", "map_add", "map_remove", "set_add", "set_remove"):
            base = m["name"].split("_", 1)[1]
            if m["kind"] in ("map_add", "map_remove", "set_add", "set_remove"):
                base = m["name"].split("_", 2)[2]
            if any(f[0] == base for f in fields):
                ent["field"] = base
            else:
                ent["kind"] = "explicit"
        params = []
        for p in m["params"]:
            t = norm(p["type"])
            if c["name"] in ("XSPolicy", "ACMPolicy") and m["kind"] == "get_record":
                t = c["name"] + " ref"
            params.append([p["name"], t])
        if "field" in ent and ent["kind"] == "getter":
            ret = [f[1] for f in fields if f[0] == ent["field"]][0]
        else:
            ret = norm(m["returns"])
            if c["name"] == "ACMPolicy" and m["kind"] == "get_record":
                ret = "ACMPolicy record"
        ent["params"] = params
        ent["returns"] = ret
        if m["errors"]:
            ent["errors"] = m["errors"]
        if not m["session_param"]:
            ent["session"] = False
        if m["async_per_spec"]:
            ent["async"] = True
        msgs.append(ent)
    out["classes"].append({"name": c["name"], "fields": fields, "messages": msgs})
json.dump(out, sys.stdout, indent=1)
