#!/usr/bin/env python3
"""Writes schema/cw-manage-published.json: ConnectWise Manage's whole published API as data.

pyconnectwise 0.6.1.2 (PyPI) is generated from ConnectWise's published OpenAPI document: one
endpoint class per path, whose methods are the path's operations and whose annotations name
the models, and one pydantic model per schema. This script reads them back out:

- `x-endpoints`: every path (camelCase, as ConnectWise spells it) with its operations, each
  with the model it answers (`Company`, `list[Company]`, `None`) and whether it takes a body;
- `components.schemas`: every model those operations name, and every model they refer to,
  as JSON Schema (wire names; `title` and `default: null` dropped, as the sandbox reads
  neither).

The output has the shape of `cw-manage-schema.json` (the subset the bridge uses), so the
sandbox reads both with the same code. Run from the workspace root, with pyconnectwise
installed (`.ci/run` puts it in ~/.cache/cwbridge-tools/venv):

    ~/.cache/cwbridge-tools/venv/bin/python crates/connectwise-sandbox/schema/derive.py [OUT]

`tests/it/published.rs` fails when the checked-in file differs from what this writes.
"""

import ast
import inspect
import json
import re
import sys
from pathlib import Path

import pyconnectwise.endpoints.manage as endpoints
import pyconnectwise.models.manage as models
from pydantic import BaseModel

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("cw-manage-published.json")
OPERATIONS = ("get", "post", "put", "patch", "delete")
PATH_IN_DOC = re.compile(r"against the (/\S+) endpoint")


def endpoint_sources():
    """Each endpoint class's module source, parsed (not imported: a few of pyconnectwise's
    endpoint modules import models it does not define, and cannot be imported)."""
    for source in sorted(Path(endpoints.__path__[0]).glob("*Endpoint.py")):
        tree = ast.parse(source.read_text())
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == source.stem:
                yield node


def derive_endpoints():
    """Paths with their operations, and the names of the models they answer."""
    paths, names = {}, set()
    for cls in endpoint_sources():
        methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
        ops, path = {}, None
        for op in OPERATIONS:
            fn = methods.get(op)
            if fn is None:
                continue
            found = PATH_IN_DOC.search(ast.get_docstring(fn) or "")
            if found is None:
                sys.exit(f"{cls.name}.{op}: no path in its docstring")
            if path is not None and found.group(1) != path:
                sys.exit(f"{cls.name}: two paths, {path} and {found.group(1)}")
            path = found.group(1)
            answer = ast.unparse(fn.returns) if fn.returns is not None else "None"
            if op == "get" and path.endswith("/count"):
                # Every count answers `{"count": n}`; pyconnectwise labels three otherwise.
                answer = "Count"
            model = answer.removeprefix("list[").removesuffix("]")
            if model != "None":
                names.add(model)
            args = [a.arg for a in fn.args.args]
            entry = {"body": op in ("post", "put", "patch") and "data" in args, "returns": answer}
            if op == "get" and "paginated" in methods:
                entry["paginated"] = True
            ops[op] = entry
        if path is None:
            continue
        if path in paths and paths[path] != ops:
            sys.exit(f"{path}: two endpoint classes disagree")
        paths[path] = ops
    return dict(sorted(paths.items())), names


def restore_lost(paths):
    """Restores the list and record reads of collections pyconnectwise lost.

    pyconnectwise names an endpoint class after its path without regard to case, so where
    two paths differ only in case (`/schedule/holidayLists/...` and
    `/schedule/holidaylists/info`) one class overwrote the other: the collection's `/count`
    survives but its list and record reads do not. ConnectWise serves them (sync engines read
    `/schedule/holidayLists`). Where the model can be told from a surviving sibling (a `copy`
    answering it, or an `/info` view answering `XInfo`) the list and the record read are put
    back, marked `"restored": true`; writes, which nothing survives to describe, are not.
    """
    lower = {p.lower(): p for p in paths}

    def op(path, method):
        spelled = lower.get(path.lower())
        return paths.get(spelled, {}).get(method) if spelled else None

    def model_of(base):
        copy = op(base + "/copy", "post")
        if copy and copy["returns"] != "None":
            return copy["returns"]
        for info in (op(base + "/info", "get"), op(base + "/{id}/info", "get")):
            if info:
                name = info["returns"].removeprefix("list[").removesuffix("]")
                name = name.removesuffix("Info")
                if inspect.isclass(getattr(models, name, None)):
                    return name
        return None

    restored = []
    for path in sorted(paths):
        ops = paths[path]
        if not path.endswith("/count") or "get" not in ops:
            continue
        base = path.removesuffix("/count")
        if base.endswith("/info") or op(base, "get"):
            continue
        model = model_of(base)
        if model is None:
            continue
        paths.setdefault(base, {})["get"] = {
            "body": False,
            "returns": f"list[{model}]",
            "paginated": True,
            "restored": True,
        }
        paths.setdefault(base + "/{id}", {}).setdefault(
            "get", {"body": False, "returns": model, "restored": True}
        )
        restored.append(base)
    return restored


def clean(schema):
    """Drops what the sandbox never reads (titles, `default: null`) from a schema, recursively;
    a field named `title` in `properties` is a field, and stays."""
    if isinstance(schema, list):
        return [clean(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for k, v in schema.items():
        if k == "title" or (k == "default" and v is None):
            continue
        if k in ("properties", "$defs"):
            out[k] = {name: clean(sub) for name, sub in v.items()}
        else:
            out[k] = clean(v)
    return out


def derive_schemas(names):
    """JSON Schemas of the named models and the models they refer to. A name pyconnectwise
    does not define (its generator skipped a few) gets an open object schema with the `id`
    and `_info` every ConnectWise record has, listed in `x-undefined-models`."""
    schemas, undefined = {}, []
    for name in sorted(names):
        model = getattr(models, name, None)
        if not (inspect.isclass(model) and issubclass(model, BaseModel)):
            undefined.append(name)
            schemas[name] = {
                "type": "object",
                "properties": {
                    "id": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                    "_info": {
                        "anyOf": [
                            {"additionalProperties": {"type": "string"}, "type": "object"},
                            {"type": "null"},
                        ]
                    },
                },
                "additionalProperties": True,
            }
            continue
        doc = model.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}"
        )
        for sub, sub_schema in doc.pop("$defs", {}).items():
            schemas.setdefault(sub, clean(sub_schema))
        schemas[name] = clean(doc)
    return dict(sorted(schemas.items())), undefined


def main():
    paths, names = derive_endpoints()
    restored = restore_lost(paths)
    paths = dict(sorted(paths.items()))
    for ops in paths.values():
        for entry in ops.values():
            model = entry["returns"].removeprefix("list[").removesuffix("]")
            if model != "None":
                names.add(model)
    schemas, undefined = derive_schemas(names)
    document = {
        "openapi": "3.0.3",
        "info": {
            "title": "ConnectWise Manage API v3.0 — every published path",
            "version": "derived from pyconnectwise 0.6.1.2",
            "description": "Every path and operation of ConnectWise's published API with the "
            "models they answer, read from the endpoint classes and pydantic models that "
            "pyconnectwise generated from ConnectWise's published OpenAPI document. Written by "
            "schema/derive.py; field names are the wire (camelCase) names.",
        },
        "x-endpoints": paths,
        "x-undefined-models": undefined,
        "x-restored": restored,
        "components": {"schemas": schemas},
    }
    text = json.dumps(document, indent=None, separators=(",", ":"), sort_keys=False)
    OUT.write_text(text + "\n")
    operations = sum(len(ops) for ops in paths.values())
    print(
        f"{OUT}: {len(paths)} paths, {operations} operations, "
        f"{len(schemas)} models ({len(undefined)} undefined by pyconnectwise), "
        f"{len(restored)} collections restored, {len(text)} bytes"
    )


if __name__ == "__main__":
    main()
