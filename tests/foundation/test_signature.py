"""Terra's signature algorithm: published vectors (TERRA-API.md §5, the one copy in the
suite), verdicts, the constant-time comparison and properties."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terra_cli.webhooks import samples
from terra_cli.webhooks.signature import (
    ParsedHeader,
    Verdict,
    compute,
    find_header,
    parse_header,
    sign,
    verify,
)

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "terra" / "samples"
OURS = "0123456789abcdef0123456789abcdef0123456789abcdef"
HEALTHCHECK = (
    b'{"type":"healthcheck","status":"normal","creation_timestamp":"2024-08-16 '
    b'11:45:00.000000+00:00","trend_percentage":0,"sent_webhooks_last_hour":0,'
    b'"version":"2022-03-16"}'
)
DEAUTH = (
    b'{"user": {"last_webhook_update": null, "provider": "FITBIT", "user_id": '
    b'"d81ea08d-ad4d-44bd-8394-ee4b68a3f96f", "scopes": null}, "type": "deauth", '
    b'"status": "success", "message": "User has deauthenticated", "version": "2022-03-16"}'
)

VECTORS = [
    (
        OURS,
        1723808700,
        HEALTHCHECK,
        "4ce5725fbe0b8abb40116036a3f7df0c36f62fe50af7740ce7cbd90396f5a817",
    ),
    (
        OURS,
        1723808701,
        HEALTHCHECK,
        "86f177fa66133aa1ef018700a6d6240b86b898feeded2159bbea5140f8ea96ed",
    ),
    (
        OURS,
        1723808700,
        HEALTHCHECK + b"\n",
        "73f48cbb2c90be44e546d6942f4716d34ba54e032715ae047bdc73886f5ac6bd",
    ),
    (
        "66142e0c2960f788b19830807d4aa25cfd27a610ec65fd36",
        1669742999,
        DEAUTH,
        "c885ce58891b69ab5b6c8fc7536544f4f515f2e22ec811152849295b3d995c93",
    ),
    ("secret", 10, b"b", "ad2da523c6d08e6ba4d8c36d86d5ca1f31f26992aabde11659556ced1d96509b"),
    (
        "foo",
        12345678,
        b"{'bar':'baz'}",
        "599aa529690b885a43f184327c582375068d70705b7a471af15e10682c6f5313",
    ),
]


def test_healthcheck_vector_body_is_168_bytes() -> None:
    assert len(HEALTHCHECK) == 168


@pytest.mark.skipif(not SAMPLES.exists(), reason="the shared docs sit beside the repository only")
def test_deauth_body_matches_the_published_sample() -> None:
    assert (SAMPLES / "deauth.json").read_bytes() == DEAUTH


def test_deauth_vector_has_the_shape_terra_trigger_sends() -> None:
    """The facts of Terra's deauth vector, checked against the project's own sample
    (runs in every clone, unlike the byte comparison with the shared file)."""
    published = json.loads(DEAUTH)
    # Terra's bodies use ", " and ": " separators; the sample encoder writes them the same way.
    assert samples.encode(published) == DEAUTH
    ours = samples.build(
        "deauth",
        datetime(2022, 11, 29, tzinfo=timezone.utc),
        options=samples.SampleOptions(user_id=published["user"]["user_id"], provider="FITBIT"),
    )
    for key in ("type", "status", "message", "version"):
        assert ours[key] == published[key]
    assert set(published) <= set(ours)
    assert set(published["user"]) <= set(ours["user"])
    assert {k: ours["user"][k] for k in ("user_id", "provider")} == {
        k: published["user"][k] for k in ("user_id", "provider")
    }


@pytest.mark.parametrize(("secret", "ts", "body", "mac"), VECTORS)
def test_published_vectors(secret: str, ts: int, body: bytes, mac: str) -> None:
    assert compute(secret, str(ts), body) == mac
    assert sign(secret, body, ts) == f"t={ts},v1={mac}"
    assert verify(f"t={ts},v1={mac}", body, secret, now=ts) is Verdict.OK


@pytest.mark.parametrize(("secret", "ts", "body", "mac"), VECTORS)
def test_vectors_inside_the_window_are_ok_and_outside_stale(
    secret: str, ts: int, body: bytes, mac: str
) -> None:
    header = f"t={ts},v1={mac}"
    assert verify(header, body, secret, now=ts + 299) is Verdict.OK
    assert verify(header, body, secret, now=ts - 299) is Verdict.OK
    assert verify(header, body, secret, now=ts + 301) is Verdict.STALE
    assert verify(header, body, secret, now=ts - 301) is Verdict.STALE
    assert verify(header, body, secret, now=ts + 301, tolerance=400) is Verdict.OK


@pytest.mark.parametrize(("secret", "ts", "body", "mac"), VECTORS)
def test_vectors_tampered_are_bad(secret: str, ts: int, body: bytes, mac: str) -> None:
    header = f"t={ts},v1={mac}"
    assert verify(header, body + b" ", secret, now=ts) is Verdict.BAD
    assert verify(header, body, secret + "x", now=ts) is Verdict.BAD
    assert verify(f"t={ts + 1},v1={mac}", body, secret, now=ts) is Verdict.BAD


def test_upper_case_hex_is_accepted() -> None:
    secret, ts, body, mac = VECTORS[0]
    assert verify(f"t={ts},v1={mac.upper()}", body, secret, now=ts) is Verdict.OK


class _CompareSpy:
    """Stands in for hmac.compare_digest and answers what the test decides."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.calls: list[tuple[object, object]] = []

    def __call__(self, a: object, b: object) -> bool:
        self.calls.append((a, b))
        return self.answer


@pytest.mark.parametrize("answer", [True, False])
def test_signatures_are_compared_only_in_constant_time(
    monkeypatch: pytest.MonkeyPatch, answer: bool
) -> None:
    """CONTRACT.md: constant-time comparison. The verdict follows hmac.compare_digest
    alone, and every v1 goes through it, so an `==` anywhere would break this test."""
    secret, ts, body, mac = VECTORS[0]
    spy = _CompareSpy(answer)
    monkeypatch.setattr(hmac, "compare_digest", spy)
    header = f"t={ts},v1={'0' * 64},v1={mac}"
    expected = Verdict.OK if answer else Verdict.BAD
    assert verify(header, body, secret, now=ts) is expected
    assert spy.calls == [(mac.encode(), b"0" * 64), (mac.encode(), mac.encode())]


def test_lenient_header_with_spaces_other_schemes_and_several_v1() -> None:
    secret, ts, body, mac = VECTORS[0]
    header = f"t={ts}, v0=deadbeef, v1=bad, v1={mac}"
    assert parse_header(header).signatures == ("bad", mac)
    assert verify(header, body, secret, now=ts) is Verdict.OK
    # The first t counts; an empty v1 and parts without '=' are ignored.
    assert parse_header(f"t={ts},t=1,v1=,junk,v1={mac}") == ParsedHeader(str(ts), (mac,))
    assert verify(f"t={ts},t=1,v1={mac}", body, secret, now=ts) is Verdict.OK


def test_header_parts_count_by_name_in_any_order() -> None:
    secret, ts, body, mac = VECTORS[0]
    # v1 before t, and unknown names sorting before or after "t"/"v1", change nothing.
    for header in (
        f"v1={mac},t={ts}",
        f"a=1,t={ts},v1={mac}",
        f"s=x, t={ts}, u=y, v1={mac}, w=z",
    ):
        assert parse_header(header) == ParsedHeader(str(ts), (mac,)), header
        assert verify(header, body, secret, now=ts) is Verdict.OK, header


def test_a_matching_mac_under_another_scheme_is_not_accepted() -> None:
    secret, ts, body, mac = VECTORS[0]
    for scheme in ("v2", "v10", "w1", "v"):
        assert parse_header(f"t={ts},{scheme}={mac}").signatures == ()
        assert verify(f"t={ts},{scheme}={mac}", body, secret, now=ts) is Verdict.BAD


def test_a_non_numeric_timestamp_with_a_matching_mac_is_bad_not_an_error() -> None:
    secret, _, body, _ = VECTORS[0]
    for stamp in ("abc", "1.5", "", " "):
        header = f"t={stamp},v1={compute(secret, stamp.strip(), body)}"
        assert verify(header, body, secret, now=1723808700) is Verdict.BAD, stamp


def test_only_v0_is_never_accepted() -> None:
    secret, ts, body, mac = VECTORS[0]
    assert verify(f"t={ts},v0={mac}", body, secret, now=ts) is Verdict.BAD


@pytest.mark.parametrize(
    ("header", "now", "secret", "expected"),
    [
        (None, 1723808700, OURS, Verdict.UNSIGNED),
        ("", 1723808700, OURS, Verdict.UNSIGNED),
        ("garbage", 1723808700, OURS, Verdict.BAD),
        ("t=1723808700", 1723808700, OURS, Verdict.BAD),
        (
            "v1=4ce5725fbe0b8abb40116036a3f7df0c36f62fe50af7740ce7cbd90396f5a817",
            1723808700,
            OURS,
            Verdict.BAD,
        ),
        (
            "t=1723808700,v1=4ce5725fbe0b8abb40116036a3f7df0c36f62fe50af7740ce7cbd90396f5a817",
            1723808700 + 301,
            OURS,
            Verdict.STALE,
        ),
        (
            "t=1723808700,v1=4ce5725fbe0b8abb40116036a3f7df0c36f62fe50af7740ce7cbd90396f5a817",
            1723808700 - 301,
            OURS,
            Verdict.STALE,
        ),
        (
            "t=1723808700,v1=4ce5725fbe0b8abb40116036a3f7df0c36f62fe50af7740ce7cbd90396f5a817",
            1723808700 + 300,
            OURS,
            Verdict.OK,
        ),
        (
            "t=1723808700,v1=4ce5725fbe0b8abb40116036a3f7df0c36f62fe50af7740ce7cbd90396f5a817",
            1723808700,
            None,
            Verdict.UNCHECKED,
        ),
        (
            "t=1723808700,v1=4ce5725fbe0b8abb40116036a3f7df0c36f62fe50af7740ce7cbd90396f5a817",
            1723808700,
            "other-secret",
            Verdict.BAD,
        ),
    ],
)
def test_verdicts(header: str | None, now: int, secret: str | None, expected: Verdict) -> None:
    assert verify(header, HEALTHCHECK, secret, now=now) is expected


def test_tolerance_is_adjustable() -> None:
    secret, ts, body, mac = VECTORS[0]
    header = f"t={ts},v1={mac}"
    assert verify(header, body, secret, now=ts + 1000, tolerance=2000) is Verdict.OK
    assert verify(header, body, secret, now=ts + 10, tolerance=5) is Verdict.STALE


def test_no_secret_is_unchecked_and_blank_header_is_unsigned() -> None:
    assert verify(None, b"{}", None, now=0) is Verdict.UNCHECKED
    assert verify("t=1,v1=00", b"{}", "", now=0) is Verdict.UNCHECKED
    assert verify(None, b"{}", OURS, now=0) is Verdict.UNSIGNED
    assert verify("  ", b"{}", OURS, now=0) is Verdict.UNSIGNED


def test_failed_property() -> None:
    assert {v for v in Verdict if v.failed} == {Verdict.BAD, Verdict.STALE, Verdict.UNSIGNED}


def test_find_header_either_name_any_case() -> None:
    assert find_header({"Terra-Signature": "a"}) == "a"
    assert find_header({"X-Terra-Signature": "b"}) == "b"
    assert find_header({"content-type": "x"}) is None


# Properties: the parser and verifier never raise, and signing round-trips.


@settings(max_examples=300)
@given(header=st.text(), body=st.binary(max_size=256), secret=st.one_of(st.none(), st.text()))
def test_verify_never_raises(header: str, body: bytes, secret: str | None) -> None:
    assert isinstance(verify(header, body, secret, now=1_700_000_000), Verdict)


@given(header=st.text(alphabet=st.sampled_from("tv01=, x\t9af"), max_size=80))
def test_parse_never_raises(header: str) -> None:
    parsed = parse_header(header)
    assert all(isinstance(s, str) for s in parsed.signatures)


@given(
    secret=st.text(min_size=1, max_size=64),
    body=st.binary(max_size=512),
    ts=st.integers(min_value=0, max_value=2**40),
)
def test_sign_then_verify_is_ok(secret: str, body: bytes, ts: int) -> None:
    assert verify(sign(secret, body, ts), body, secret, now=ts) is Verdict.OK
    # Independent check from the documented algorithm.
    expected = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign(secret, body, ts).endswith(expected)


@given(
    secret=st.text(min_size=1, max_size=32),
    body=st.binary(min_size=1, max_size=256),
    ts=st.integers(min_value=1, max_value=2**31),
    data=st.data(),
)
def test_any_changed_body_byte_or_timestamp_is_bad(
    secret: str, body: bytes, ts: int, data: st.DataObject
) -> None:
    header = sign(secret, body, ts)
    i = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    tampered = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
    assert verify(header, tampered, secret, now=ts) is Verdict.BAD
    mac = header.split("v1=")[1]
    other_ts = data.draw(st.integers(min_value=0, max_value=2**31).filter(lambda t: t != ts))
    assert verify(f"t={other_ts},v1={mac}", body, secret, now=other_ts) is Verdict.BAD
