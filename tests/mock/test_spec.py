"""Whether Terra's published spec is there for the other mock tests to check against.

When it is absent those tests still make their own field-by-field checks;
this test then shows the absence as a skip with the place it was looked for.
"""

from __future__ import annotations

from tests.mock import spec


def test_terra_s_spec_is_there_to_check_answers_against() -> None:
    for path in (spec.V2, spec.WIDGET):
        document = spec.spec(path)  # skips, naming the path, when absent
        assert document["openapi"].startswith("3.1")
        assert "/widget/api/session" in document["paths"] or "/activity" in document["paths"]
    assert spec.errors_for_schema("TerraUser", {"user_id": "u", "provider": "OURA"}) == []
    assert spec.errors_for_schema("TerraUser", {"user_id": "u"}) != []  # the checker can fail
