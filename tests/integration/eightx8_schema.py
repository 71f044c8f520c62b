"""8x8's official OpenAPI documents as JSON Schema validators.

The request bodies of the send endpoints are read from
``tests/reference/8x8/business_messaging_api.json`` (copies of shared/reference/) (Chat Apps) and
``sms_api.json`` (SMS), with every ``$ref`` inlined (they point into
``components/schemas`` and, in these documents, into other paths' schemas),
and checked with python3-jsonschema. Used by the 8x8 stand-in (it refuses a
body 8x8 would refuse) and by the schema tests.

One documented deviation: the send schema's ``type`` enum lacks
``"buttons"``, yet the same document's own Viber examples
(``viberRichMediaTextButton``, ``viberRichMediaTextImageButton``) and 8x8's
Viber usage samples send ``"type": "buttons"`` for a message with a button.
The validator accepts it, and only because the document's examples say so
(``documented_buttons_type`` checks that they still do).
"""

from __future__ import annotations

import copy
import json
import pathlib
from functools import lru_cache
from typing import Any, Optional
from urllib.parse import unquote

import jsonschema

ROOT = pathlib.Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference" / "8x8"
CHATAPPS = REFERENCE / "business_messaging_api.json"
SMS = REFERENCE / "sms_api.json"


@lru_cache(maxsize=None)
def _document(path: pathlib.Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _pointer(doc: dict, ref: str) -> Any:
    """The value a local ``#/a/b~1c`` reference names (percent-decoded)."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are used by 8x8's documents: {ref}")
    node: Any = doc
    for part in ref[2:].split("/"):
        part = unquote(part).replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def inline_refs(doc: dict, node: Any, seen: tuple = ()) -> Any:
    """A copy of ``node`` with every ``$ref`` replaced by what it names.

    A reference to one of its own ancestors (a recursive schema) becomes an
    empty schema (anything goes there) rather than an endless copy.
    """
    if isinstance(node, list):
        return [inline_refs(doc, item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and isinstance(node["$ref"], str):
        ref = node["$ref"]
        if ref in seen:
            return {}
        target = inline_refs(doc, _pointer(doc, ref), seen + (ref,))
        rest = {k: inline_refs(doc, v, seen) for k, v in node.items() if k != "$ref"}
        return {**target, **rest} if rest else target
    return {k: inline_refs(doc, v, seen) for k, v in node.items()}


def _request_schema(path: pathlib.Path, route: str) -> dict:
    doc = _document(path)
    body = doc["paths"][route]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return inline_refs(doc, body)


def documented_buttons_type() -> bool:
    """True while 8x8's send document shows Viber messages of type buttons."""
    doc = _document(CHATAPPS)
    examples = (doc["paths"]["/api/v1/subaccounts/{subAccountId}/messages"]["post"]
                ["requestBody"]["content"]["application/json"].get("examples", {}))
    return any(isinstance(e, dict) and e.get("value", {}).get("type") == "buttons"
               and e.get("value", {}).get("content", {}).get("button") is not None
               for name, e in examples.items() if name.startswith("viber"))


@lru_cache(maxsize=None)
def _validators() -> dict:
    viber = _request_schema(CHATAPPS, "/api/v1/subaccounts/{subAccountId}/messages")
    if documented_buttons_type():
        viber = copy.deepcopy(viber)
        viber["properties"]["type"]["enum"] = viber["properties"]["type"]["enum"] + ["buttons"]
    return {
        "viber": jsonschema.Draft4Validator(viber),
        "viber_batch": jsonschema.Draft4Validator(
            _request_schema(CHATAPPS, "/api/v1/subaccounts/{subAccountId}/messages/batch")),
        "sms": jsonschema.Draft4Validator(
            _request_schema(SMS, "/api/v1/subaccounts/{subAccountId}/messages")),
        "sms_batch": jsonschema.Draft4Validator(
            _request_schema(SMS, "/api/v1/subaccounts/{subAccountId}/messages/batch")),
    }


def errors(kind: str, body: Any) -> list[str]:
    """Every way ``body`` breaks 8x8's schema for ``kind`` (viber, viber_batch,
    sms, sms_batch), as readable lines; empty when it is valid."""
    validator = _validators()[kind]
    found = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(body)'}: {e.message}"
            for e in found]


def kind_of(path: str, body: Any) -> Optional[str]:
    """Which schema a request to ``path`` with ``body`` is checked against."""
    batch = path.rstrip("/").endswith("/batch")
    if not isinstance(body, dict):
        return None
    if batch:
        template = body.get("template") or {}
        first = (body.get("messages") or [{}])[0]
        sms = "destination" in first or "destinations" in body or "source" in template
        return "sms_batch" if sms else "viber_batch"
    return "viber" if "user" in body else "sms"
