"""OpenAI's chat-completions request schema, from the OpenAPI document in
tests/reference/ (a copy of shared/reference/; openai/openai-openapi), as a JSON Schema validator.

The document is OpenAPI: schemas live under components/schemas, refer to
each other with "$ref": "#/components/schemas/<Name>", and mark null with
"nullable": true. The loader turns "nullable" into JSON Schema's null type
and roots a validator at CreateChatCompletionRequest with the components
beside it, so every $ref resolves inside the same document (Debian's
python3-jsonschema)."""

from __future__ import annotations

import copy
import functools
import json
import pathlib
from typing import Any, Optional

import jsonschema

REPO = pathlib.Path(__file__).resolve().parents[2]
REFERENCE = REPO / "tests" / "reference" / "openai-chat-completions.json"


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's nullable as JSON Schema (recursively)."""
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = list(out["enum"]) + [None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@functools.lru_cache(maxsize=None)
def document() -> dict:
    return json.loads(REFERENCE.read_text())


@functools.lru_cache(maxsize=None)
def validator(name: str = "CreateChatCompletionRequest") -> jsonschema.protocols.Validator:
    """A validator for components/schemas/<name>."""
    components = _nullable(copy.deepcopy(document()["components"]))
    if name not in components["schemas"]:
        raise KeyError(f"{name} is not in {REFERENCE}")
    root = {"$ref": f"#/components/schemas/{name}", "components": components}
    cls = jsonschema.validators.validator_for(root, default=jsonschema.Draft202012Validator)
    cls.check_schema(root)
    return cls(root)


def problems(body: Any, name: str = "CreateChatCompletionRequest") -> list[str]:
    """Every way body breaks the schema, as "path: message" (empty: valid)."""
    out = []
    for e in sorted(validator(name).iter_errors(body), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in e.absolute_path) or "(body)"
        out.append(f"{path}: {e.message}")
    return out


def first_problem(body: Any, name: str = "CreateChatCompletionRequest") -> Optional[tuple[str, str]]:
    """(param, message) of the first problem, as OpenAI names them; None when valid."""
    errors = sorted(validator(name).iter_errors(body), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    e = jsonschema.exceptions.best_match(errors)
    param = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p))
                    for i, p in enumerate(e.absolute_path)) or None
    return param, e.message
