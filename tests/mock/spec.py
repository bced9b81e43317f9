"""Terra's published OpenAPI spec, when it is beside the checkout, as a response validator.

The spec (../shared/terra/openapi, OpenAPI 3.1 = JSON Schema 2020-12) is
reference material, not part of the project. Where it is absent the checks
here find nothing to check (the tests' own field-by-field assertions still
run) and `test_spec.py` reports the absence as a skip with its reason.
Response schemas are looked up by path, method and status; a top-level
`oneOf` of response shapes is checked as "matches one of them" (or one named
arm), since Terra's open object schemas (no required fields, no
additionalProperties) let a body match several branches at once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "terra" / "openapi"
V2 = SPEC_DIR / "v2-bundled.yaml"
WIDGET = SPEC_DIR / "widget-bundled.yaml"


@lru_cache(maxsize=2)
def _load(path: Path) -> dict[str, Any]:
    import yaml

    with path.open(encoding="utf-8") as fh:
        return dict(yaml.safe_load(fh))


def present(path: Path = V2) -> bool:
    return path.is_file()


def spec(path: Path = V2) -> dict[str, Any]:
    """The parsed spec, or skip the test saying where it was looked for."""
    if not present(path):
        pytest.skip(f"Terra's OpenAPI spec is not at {path} (CI has it beside the checkout)")
    return _load(path)


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource(
        "urn:terra-spec", Resource.from_contents(document, default_specification=DRAFT202012)
    )
    return Draft202012Validator(_rebase(schema), registry=registry)


def _rebase(node: Any) -> Any:
    """Point the spec's local `#/...` references at the registered document."""
    if isinstance(node, dict):
        return {
            k: (
                f"urn:terra-spec{v}"
                if k == "$ref" and isinstance(v, str) and v.startswith("#")
                else _rebase(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        target: Any = document
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def errors_for_schema(name: str, instance: Any, path: Path = V2) -> list[str]:
    """Validation errors of `instance` against components/schemas/NAME (none without a spec)."""
    if not present(path):
        return []
    document = spec(path)
    validator = _validator(document, {"$ref": f"#/components/schemas/{name}"})
    return [_say(e) for e in validator.iter_errors(instance)]


def response_errors(
    api_path: str,
    method: str,
    status: int,
    content_type: str,
    body: Any,
    path: Path = V2,
    branch: int | None = None,
) -> list[str]:
    """Validation errors of a response body against the spec's schema for that answer.

    `branch` picks one arm of a `oneOf` (e.g. 0: data in the answer, 1: sent to webhook).
    None found without a spec.
    """
    if not present(path):
        return []
    document = spec(path)
    operation = document["paths"][api_path][method.lower()]
    response = _resolve(document, operation["responses"][str(status)])
    media = response["content"]
    assert content_type in media, f"the spec's {status} for {api_path} is {list(media)}"
    schema = media[content_type]["schema"]
    if "oneOf" in schema:
        schema = schema["oneOf"][branch] if branch is not None else {"anyOf": schema["oneOf"]}
    return [_say(e) for e in _validator(document, schema).iter_errors(body)]


def _say(error: Any) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
    return f"{where}: {error.message[:200]}"
