"""Terra's published OpenAPI spec, when it sits beside the checkout (../shared/terra/openapi).

The spec is reference material, not part of the project: tests that need it
skip with a reason when it is absent, and every check that matters also lives
in the project's own words (tests/fidelity/test_samples_schema.py).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO.parent / "shared" / "terra" / "openapi"
V2 = SPEC_DIR / "v2-bundled.yaml"

# Which schema a trigger type's body must satisfy: the webhook it is sent as, or
# (for the types the spec's `webhooks` section leaves out) the component schema
# of the same event. Types missing here have no schema in the spec.
WEBHOOK_OF = {
    "auth": "auth",
    "auth_cancelled": "auth",
    "auth_error": "auth",
    "deauth": "deauth",
    "user_reauth": "user_reauth",
    "access_revoked": "access_revoked",
    "permission_change": "permission_change",
    "connection_error": "connection_error",
    "large_request_sending": "large_request_sending",
    "large_request_processing": "large_request_processing",
    "s3_upload": "s3_upload",
    "s3_payload": "s3_upload",
    "activity": "activity",
    "athlete": "athlete",
    "nutrition": "nutrition",
    "daily": "daily",
    "sleep": "sleep",
    "menstruation": "menstruation",
    "body": "body",
    "lab_report.completed": "lab_report",
    "lab_report.failed": "lab_report",
}
COMPONENT_OF = {
    "planned_workout": "PlannedWorkoutEvent",
    "hormone": "HormoneEvent",
    "health_observation": "HealthObservationEvent",
}
NO_SCHEMA = frozenset({"healthcheck", "processing", "rate_limit_hit", "google_no_datasource"})


@functools.cache
def _load() -> dict[str, Any] | None:
    if not V2.is_file():
        return None
    import yaml

    with V2.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


def spec() -> dict[str, Any]:
    """The parsed v2 spec, or skip the test saying where it was looked for."""
    doc = _load()
    if doc is None:
        pytest.skip(f"Terra's OpenAPI spec is not at {V2} (it sits beside the checkout in CI)")
    return doc


@functools.cache
def _registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    root = Resource.from_contents(spec(), default_specification=DRAFT202012)
    return Registry().with_resource("urn:terra-v2", root)


def _validator(schema: dict[str, Any]) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(_anchor(schema), registry=_registry())


def _anchor(node: Any) -> Any:
    """Point the spec's local `#/components/...` references at the registered document."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            local = key == "$ref" and isinstance(value, str) and value.startswith("#")
            out[key] = "urn:terra-v2" + value if local else _anchor(value)
        return out
    if isinstance(node, list):
        return [_anchor(v) for v in node]
    return node


def webhook_schema(name: str) -> dict[str, Any]:
    """The request-body schema of one of the spec's webhooks."""
    post = spec()["webhooks"][name]["post"]
    schema: dict[str, Any] = post["requestBody"]["content"]["application/json"]["schema"]
    return schema


def webhook_examples(name: str) -> list[Any]:
    """Terra's own example bodies for a webhook (`example` and every `examples` value)."""
    content = spec()["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]
    found = [content["example"]] if "example" in content else []
    found += [e["value"] for e in content.get("examples", {}).values()]
    return found


def schema_for(trigger_type: str) -> dict[str, Any] | None:
    """The schema a `terra trigger TYPE` body must satisfy, or None where the spec has none."""
    if trigger_type in WEBHOOK_OF:
        return webhook_schema(WEBHOOK_OF[trigger_type])
    if trigger_type in COMPONENT_OF:
        return {"$ref": f"#/components/schemas/{COMPONENT_OF[trigger_type]}"}
    return None


def errors(schema: dict[str, Any], payload: Any) -> list[str]:
    """Every way `payload` departs from `schema`, as 'path: message' lines."""
    validator = _validator(schema)
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:200]}"
        for e in validator.iter_errors(payload)
    ]
