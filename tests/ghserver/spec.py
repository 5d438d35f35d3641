"""The OpenAPI subset as routes and JSON Schema validators.

The description is GitHub's own (``data/openapi-subset.json``, cut from @octokit/openapi
23.0.2, MIT, see ``data/LICENSE-octokit-openapi``). OpenAPI 3.0 schemas are not quite JSON
Schema, so every schema is converted once:

- ``nullable: true`` becomes ``type: [T, "null"]`` (plus ``None`` in an ``enum``), or an
  ``anyOf`` with ``{"type": "null"}`` when the schema has no ``type`` (``oneOf`` / ``$ref``);
- ``$ref: "#/components/..."`` points into one registry resource, so an inline schema taken
  out of ``paths`` still resolves its references;
- only ``format: date-time`` is asserted (GitHub's "uri" fields hold URI templates).

``SPEC_AMENDMENTS`` lists the few places where GitHub accepts more than its description says.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(
    os.environ.get("GHSERVER_OPENAPI", Path(__file__).parent / "data" / "openapi-subset.json")
)
REF_BASE = "urn:ghserver:openapi"

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# GitHub accepts a bare JSON array of label names on these two (PyGithub sends exactly that);
# the operation descriptions say so, the schemas do not.
_LABEL_ARRAY = {"type": "array", "items": {"type": "string"}}
SPEC_AMENDMENTS: dict[str, dict[str, Any]] = {
    "issues/add-labels": _LABEL_ARRAY,
    "issues/set-labels": _LABEL_ARRAY,
}


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time")
    def _is_date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(_DATE_TIME.match(value))

    return checker


FORMAT_CHECKER = _format_checker()


def to_json_schema(node: Any) -> Any:
    """Convert one OpenAPI 3.0 schema object (recursively) to JSON Schema 2020-12."""
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#/"):
            out[key] = REF_BASE + value
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = to_json_schema(value)
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out[key] = [to_json_schema(sub) for sub in value]
        elif key in ("nullable", "discriminator", "x-github-breaking-changes"):
            continue
        else:
            out[key] = value
    if node.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@dataclass
class Param:
    name: str
    location: str  # "path" | "query"
    schema: dict[str, Any]
    required: bool = False
    multi_segment: bool = False


@dataclass
class Operation:
    method: str
    template: str
    operation_id: str
    doc_url: str
    params: list[Param]
    request_schema: dict[str, Any] | None
    request_required: bool
    responses: dict[str, dict[str, Any] | None]  # status -> JSON schema (converted) or None
    regex: re.Pattern[str] = field(repr=False, default=re.compile(""))

    def param(self, name: str, location: str) -> Param | None:
        for p in self.params:
            if p.name == name and p.location == location:
                return p
        return None


class Spec:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        components = raw["components"]
        converted = {
            "components": {
                "schemas": {n: to_json_schema(s) for n, s in components["schemas"].items()}
            }
        }
        self.registry: Registry[Any] = Registry().with_resource(
            REF_BASE, DRAFT202012.create_resource(converted)
        )
        self.operations: list[Operation] = []
        for template, item in raw["paths"].items():
            shared = [self._resolve(p) for p in item.get("parameters", [])]
            for method, op in item.items():
                if method == "parameters":
                    continue
                self.operations.append(self._operation(method.upper(), template, op, shared))
        # Most specific first: more literal segments, then fewer multi-segment parameters.
        self.operations.sort(
            key=lambda o: (
                -sum(1 for s in o.template.split("/") if s and not s.startswith("{")),
                sum(1 for p in o.params if p.multi_segment),
            )
        )
        self._validators: dict[tuple[str, str, str], jsonschema.protocols.Validator] = {}
        self._components: dict[str, jsonschema.protocols.Validator] = {}
        self.by_id = {o.operation_id: o for o in self.operations}

    # -- construction -------------------------------------------------------------------
    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.raw
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def _operation(
        self, method: str, template: str, op: dict[str, Any], shared: list[dict[str, Any]]
    ) -> Operation:
        params = []
        for p in [*shared, *(self._resolve(p) for p in op.get("parameters", []))]:
            params.append(
                Param(
                    name=p["name"],
                    location=p["in"],
                    schema=to_json_schema(p.get("schema", {})),
                    required=bool(p.get("required")),
                    multi_segment=bool(p.get("x-multi-segment")),
                )
            )
        request_schema = None
        request_required = False
        if "requestBody" in op:
            body = self._resolve(op["requestBody"])
            request_required = bool(body.get("required"))
            raw_schema = body.get("content", {}).get("application/json", {}).get("schema")
            if raw_schema is not None:
                request_schema = to_json_schema(raw_schema)
                extra = SPEC_AMENDMENTS.get(op["operationId"])
                if extra is not None:
                    request_schema = {"anyOf": [request_schema, extra]}
        responses: dict[str, dict[str, Any] | None] = {}
        for status, resp in op.get("responses", {}).items():
            resp = self._resolve(resp)
            schema = resp.get("content", {}).get("application/json", {}).get("schema")
            responses[status] = to_json_schema(schema) if schema is not None else None
        operation = Operation(
            method=method,
            template=template,
            operation_id=op["operationId"],
            doc_url=op.get("externalDocs", {}).get("url", "https://docs.github.com/rest"),
            params=params,
            request_schema=request_schema,
            request_required=request_required,
            responses=responses,
        )
        operation.regex = self._compile(template, params)
        return operation

    @staticmethod
    def _compile(template: str, params: list[Param]) -> re.Pattern[str]:
        kinds = {p.name: p for p in params if p.location == "path"}
        out = ""
        for piece in re.split(r"(\{[^}]+\})", template):
            if piece.startswith("{"):
                name = piece[1:-1]
                p = kinds.get(name)
                if p is not None and p.schema.get("type") == "integer":
                    out += rf"(?P<{name}>\d+)"
                elif p is not None and p.multi_segment:
                    last = template.endswith(piece)
                    out += rf"(?P<{name}>.{'*' if last and name == 'path' else '+'})"
                else:
                    out += rf"(?P<{name}>[^/]+)"
            else:
                out += re.escape(piece)
        return re.compile(out + "$")

    # -- lookups ------------------------------------------------------------------------
    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, Any], bool]:
        """Return (operation, path params, path_known). path_known: some method matches."""
        path_known = False
        for op in self.operations:
            m = op.regex.match(path)
            if not m:
                continue
            path_known = True
            if op.method != method:
                continue
            values: dict[str, Any] = {}
            for name, raw in m.groupdict().items():
                value: Any = urllib.parse.unquote(raw)
                p = op.param(name, "path")
                if p is not None and p.schema.get("type") == "integer":
                    value = int(raw)
                values[name] = value
            return op, values, True
        return None, {}, path_known

    def validator(
        self, op: Operation, kind: str, status: str = ""
    ) -> jsonschema.protocols.Validator:
        key = (op.operation_id, kind, status)
        if key not in self._validators:
            schema = op.request_schema if kind == "request" else op.responses.get(status)
            assert schema is not None
            self._validators[key] = jsonschema.Draft202012Validator(
                schema, registry=self.registry, format_checker=FORMAT_CHECKER
            )
        return self._validators[key]

    def schema_validator(self, schema: dict[str, Any]) -> jsonschema.protocols.Validator:
        return jsonschema.Draft202012Validator(
            to_json_schema(schema), registry=self.registry, format_checker=FORMAT_CHECKER
        )

    def component(self, name: str) -> jsonschema.protocols.Validator:
        return self.schema_validator({"$ref": f"#/components/schemas/{name}"})

    def response_errors(self, op: Operation, status: int, body: Any) -> list[str]:
        """Schema violations of a JSON response body; [] when fine or nothing is declared."""
        declared = op.responses.get(str(status))
        if declared is None:
            if str(status) in op.responses or status < 400:
                return []
            validator = self._error_validator()
        else:
            validator = self.validator(op, "response", str(status))
        return [describe(e) for e in sorted(validator.iter_errors(body), key=lambda e: e.path)]

    def _error_validator(self) -> jsonschema.protocols.Validator:
        if "basic-error" not in self._components:
            self._components["basic-error"] = self.component("basic-error")
        return self._components["basic-error"]


def describe(error: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    message = error.message
    if len(message) > 300:
        message = message[:300] + "..."
    if error.context:
        best = jsonschema.exceptions.best_match(error.context)
        inner = "/".join(str(p) for p in best.absolute_path) or "(root)"
        message += f" [closest: at {inner}: {best.message[:200]}]"
    return f"at {where}: {message}"


def github_validation_message(error: jsonschema.ValidationError) -> str:
    """The wording GitHub uses for a request body that does not match its schema."""
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else error.message
        return f'Invalid request.\n\n"{name}" wasn\'t supplied.'
    where = "/".join(f"properties/{p}" if isinstance(p, str) else f"items/{p}" for p in error.path)
    value = json.dumps(error.instance)
    if len(value) > 80:
        value = value[:80] + "..."
    if error.validator == "type":
        return (
            f"Invalid request.\n\nFor '{where}', {value} is not {_article(error.validator_value)}."
        )
    if error.validator == "enum":
        allowed = ", ".join(json.dumps(v) for v in list(error.validator_value))  # type: ignore[arg-type]
        return f"Invalid request.\n\nFor '{where}', {value} is not a member of [{allowed}]."
    return f"Invalid request.\n\nFor '{where}', {value} {error.message.split(' ', 1)[-1]}"


def _article(kind: Any) -> str:
    if isinstance(kind, list):
        return " or ".join(_article(k) for k in kind)
    return f"an {kind}" if str(kind)[:1] in "aeiou" else f"a {kind}"


@functools.cache
def load_spec(path: str = str(SPEC_PATH)) -> Spec:
    with open(path, encoding="utf-8") as fh:
        return Spec(json.load(fh))


def spec_example(name: str) -> Any:
    """A deep copy of ``#/components/examples/<name>/value`` (for shape comparisons)."""
    return copy.deepcopy(load_spec().raw["components"]["examples"][name]["value"])
