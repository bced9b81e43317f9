"""Pure parts: charts drawn from series, and the headers trigger and replay send."""

from __future__ import annotations

from datetime import datetime, timezone

from terra_cli.render.events import hypnogram_chart, hypnogram_segments, series_charts, sparkline
from terra_cli.webhooks import samples
from terra_cli.webhooks.outgoing import event_headers, resigned
from terra_cli.webhooks.replay import replay_headers
from tests.trigger.conftest import independent_verify

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def test_sparkline_scales_between_min_and_max() -> None:
    assert sparkline([60, 90, 120]) == "▁▅█"
    assert sparkline([70, 70]) == "▁▁"
    assert sparkline([]) == ""
    assert len(sparkline(list(range(500)), width=40)) == 40


def test_hypnogram_rows_are_levels_and_each_slice_is_marked_once() -> None:
    # Contract change (issue 11): charts are drawn by duration, so the input is
    # (level, start, seconds) segments rather than one column per sample.
    segments = hypnogram_segments([(0.0, 1), (60.0, 4), (120.0, 5), (240.0, 6), (300.0, 1)], 360.0)
    assert segments == [
        (1, 0.0, 60.0),
        (4, 60.0, 60.0),
        (5, 120.0, 120.0),
        (6, 240.0, 60.0),
        (1, 300.0, 60.0),
    ]
    rows = hypnogram_chart(segments, width=6)
    assert [r.split("│")[0].strip() for r in rows] == ["awake", "REM", "light", "deep"]
    marks = [r.split("│")[1] for r in rows]
    assert marks == ["█    █", "    █ ", " █    ", "  ██  "]
    # each time slice is marked in exactly one row
    assert all(sum(m[i] == "█" for m in marks) == 1 for i in range(6))


def test_series_charts_for_sample_payloads() -> None:
    sleep = series_charts(samples.build("sleep", NOW, seed=2))
    assert sum("heart rate" in line for line in sleep) == 2
    assert sum("sleep stages" in line for line in sleep) == 2
    body = series_charts(samples.build("body", NOW, seed=2))  # heart rate under heart_data
    assert sum("heart rate" in line for line in body) == 3
    assert series_charts(samples.build("deauth", NOW, seed=2)) == []
    assert series_charts({"data": ["odd", {"heart_rate_data": 5}]}) == []
    bare = samples.build("activity", NOW, seed=2, options=samples.SampleOptions(samples=False))
    assert series_charts(bare) == []


def test_event_headers_sign_the_exact_body() -> None:
    headers = dict(event_headers(b'{"a": 1}', "s3cret-value-1234", 1700000000, "ref-1"))
    assert headers["Content-Type"] == "application/json"
    assert headers["Terra-Reference"] == "ref-1"
    t, ok = independent_verify(headers["X-Terra-Signature"], b'{"a": 1}', "s3cret-value-1234")
    assert ok and t == 1700000000
    # The deprecated duplicate Terra still sends carries the same value.
    assert headers["Terra-Signature"] == headers["X-Terra-Signature"]
    assert headers["X-Terra-Ordering-Timestamp"] == "1700000000000"
    assert headers["X-Terra-Trace-Id"]
    unsigned = {k.lower() for k, _ in event_headers(b"{}", None, 1, "r")}
    assert not unsigned & {"terra-signature", "x-terra-signature"}


def test_event_headers_trace_ids_are_fresh_unless_repeated() -> None:
    def trace(trace_id: str | None = None) -> str:
        return dict(event_headers(b"{}", "k" * 16, 1, "r", trace_id=trace_id))["X-Terra-Trace-Id"]

    assert trace() != trace()
    assert trace(trace_id="tr-1") == "tr-1"


def test_event_headers_extra_replaces_by_name_or_appends() -> None:
    out = event_headers(
        b"{}", None, 1, "r", extra=[("content-type", "text/plain"), ("X-Extra", "1")]
    )
    names = [k.lower() for k, _ in out]
    assert names.count("content-type") == 1 and ("content-type", "text/plain") in out
    assert out[-1] == ("X-Extra", "1")


def test_resigned_replaces_in_place_and_keeps_the_name() -> None:
    recorded = [("x-terra-signature", "t=1,v1=old"), ("Content-Type", "application/json")]
    out = resigned(recorded, b"body", "k" * 16, 1234)
    assert [k for k, _ in out] == ["x-terra-signature", "Content-Type"]
    assert independent_verify(out[0][1], b"body", "k" * 16) == (1234, True)
    added = resigned([("content-type", "application/json")], b"b", "k" * 16, 5)
    assert [k for k, _ in added] == ["X-Terra-Signature", "Terra-Signature", "content-type"]
    assert added[0][1] == added[1][1]


def test_replay_headers_keep_the_recorded_signature_without_a_secret() -> None:
    # Contract change (issue 11): a replay is a new delivery, so it gets a fresh
    # X-Terra-Trace-Id unless --same-trace-id repeats the recorded one.
    recorded = {"terra-signature": "t=1,v1=aa", "terra-reference": "r", "x-terra-trace-id": "t1"}
    record = {"headers": recorded}
    assert replay_headers(record, b"x", None, 99, same_trace_id=True) == [
        ("terra-signature", "t=1,v1=aa"),
        ("terra-reference", "r"),
        ("x-terra-trace-id", "t1"),
    ]
    kept = replay_headers(record, b"x", None, 99)
    assert [n for n, _ in kept] == ["terra-signature", "terra-reference", "x-terra-trace-id"]
    assert dict(kept)["x-terra-trace-id"] not in ("t1", "")
    fresh = dict(replay_headers(record, b"x", "k" * 16, 99))
    assert fresh["terra-signature"].startswith("t=99,v1=") and fresh["terra-reference"] == "r"
