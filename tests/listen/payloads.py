"""The project's own Terra-shaped test bodies (field names as TERRA-API.md §4 documents)."""

from __future__ import annotations

import json
from typing import Any

USER_ID = "7d5c1e0a-3b2f-4c69-9e1d-2a4b6c8d0f12"
OLD_USER_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def user(provider: str = "OURA", reference_id: str | None = "athlete-42") -> dict[str, Any]:
    return {
        "user_id": USER_ID,
        "provider": provider,
        "reference_id": reference_id,
        "scopes": "daily,workout",
        "last_webhook_update": None,
        "active": True,
    }


def data_event(kind: str, days: list[str], provider: str = "OURA") -> dict[str, Any]:
    """A data event with one record per day, each with a metadata window."""
    records = [
        {
            "metadata": {
                "start_time": f"{day}T06:00:00.000000+01:00",
                "end_time": f"{day}T07:00:00.000000+01:00",
                "summary_id": f"s-{i}",
            },
            "distance_data": {"summary": {"steps": 1000 + i}},
        }
        for i, day in enumerate(days)
    ]
    return {"type": kind, "user": user(provider), "data": records, "version": "2022-03-16"}


def dumps(doc: Any) -> bytes:
    """Compact JSON bytes, as a sender would put them on the wire."""
    return json.dumps(doc, separators=(",", ":")).encode()


EVENTS: dict[str, dict[str, Any]] = {
    "auth": {
        "type": "auth",
        "status": "success",
        "user": user(),
        "reference_id": "athlete-42",
        "widget_session_id": "w-1",
        "message": "User has successfully authenticated",
        "version": "2022-03-16",
    },
    "auth_error": {
        "type": "auth",
        "status": "error",
        "user": user(),
        "provider": "OURA",
        "reason": "auth_cancelled",
        "reference_id": "athlete-42",
        "message": "User failed to authenticate and has been deleted",
    },
    "auth_cancelled": {
        "type": "auth_cancelled",
        "status": "error",
        "reason": "user_denied",
        "reference_id": "athlete-42",
        "flow_id": "f-9",
    },
    "deauth": {"type": "deauth", "user": user(), "status": "success", "message": "bye"},
    "user_reauth": {
        "type": "user_reauth",
        "status": "warning",
        "old_user": {"user_id": OLD_USER_ID, "provider": "OURA"},
        "new_user": user(),
    },
    "access_revoked": {"type": "access_revoked", "user": user(), "status": "warning"},
    "connection_error": {"type": "connection_error", "user": user(), "status": "warning"},
    "google_no_datasource": {
        "type": "google_no_datasource",
        "user": user("GOOGLE"),
        "status": "warning",
        "message": "No data source for this user",
    },
    "permission_change": {
        "type": "permission_change",
        "user": user(),
        "status": "warning",
        "scopes_added": "heartrate",
        "scopes_removed": "sleep",
    },
    "processing": {
        "type": "processing",
        "status": "success",
        "user": user(),
        "retry_after_seconds": 30,
    },
    "large_request_processing": {
        "type": "large_request_processing",
        "status": "processing",
        "user": user(),
        "reference": "ref-777",
    },
    "large_request_sending": {
        "type": "large_request_sending",
        "user": user(),
        "reference": "ref-777",
        "expected_payloads": 3,
    },
    "rate_limit_hit": {
        "type": "rate_limit_hit",
        "user": user(),
        "start_date": "2026-01-01T00:00:00+00:00",
        "end_date": "2026-02-01T00:00:00+00:00",
        "retrying_at": "2026-02-02T00:00:00+00:00",
    },
    "healthcheck": {
        "type": "healthcheck",
        "status": "normal",
        "creation_timestamp": "2026-11-28 10:00:00+00:00",
        "trend_percentage": 5,
        "sent_webhooks_last_hour": 12,
    },
    "s3_payload": {
        "type": "s3_payload",
        "status": "success",
        "url": "https://bucket.example/p.json?sig=abc",
        "expires_in": 600,
    },
    "s3_upload": {"type": "s3_upload", "status": "success", "url": "https://b.example/x"},
    "athlete": {
        "type": "athlete",
        "user": user(),
        "athlete": {"first_name": "Ada", "last_name": "Lovelace"},
    },
    # Lab reports are report-scoped: no user; `data` holds the session and reference ids.
    "lab_report.completed": {
        "type": "lab_report.completed",
        "event_id": "e-1",
        "occurred_at": "2026-11-01T10:00:00Z",
        "data": {
            "session_id": "sess-1",
            "reference_id": "patient-7",
            "report_date": "2026-10-30",
            "results_count": 2,
            "results": [{"source": {"name": "HbA1c"}}, {"source": {"name": "LDL"}}],
        },
    },
    "lab_report.failed": {
        "type": "lab_report.failed",
        "event_id": "e-2",
        "occurred_at": "2026-11-01T10:05:00Z",
        "data": {
            "session_id": "sess-2",
            "reference_id": "patient-7",
            "error": {"code": "file_unreadable", "message": "Cannot read it.", "retriable": False},
        },
    },
}
for _kind, _days in (
    ("activity", ["2026-11-01", "2026-11-03"]),
    ("body", ["2026-11-02"]),
    ("daily", ["2026-11-01", "2026-11-02", "2026-11-03"]),
    ("sleep", ["2026-11-04"]),
    ("nutrition", ["2026-11-05"]),
    ("menstruation", ["2026-11-06"]),
    ("planned_workout", ["2026-12-01"]),
    ("hormone", ["2026-11-07"]),
    ("health_observation", ["2026-11-08"]),
):
    EVENTS[_kind] = data_event(_kind, _days)
