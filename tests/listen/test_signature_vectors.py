"""Terra's published signature vectors (TERRA-API.md §5), checked with a fixed clock."""

from __future__ import annotations

import pytest

from terra_cli.webhooks.signature import Verdict, compute, parse_header, sign, verify

OURS = "0123456789abcdef0123456789abcdef0123456789abcdef"
HEALTHCHECK = (
    b'{"type":"healthcheck","status":"normal","creation_timestamp":"2024-08-16 11:45:00.000000'
    b'+00:00","trend_percentage":0,"sent_webhooks_last_hour":0,"version":"2022-03-16"}'
)
DEAUTH = (
    b'{"user": {"last_webhook_update": null, "provider": "FITBIT", "user_id": '
    b'"d81ea08d-ad4d-44bd-8394-ee4b68a3f96f", "scopes": null}, "type": "deauth", "status": '
    b'"success", "message": "User has deauthenticated", "version": "2022-03-16"}'
)

VECTORS = [
    (
        OURS,
        "1723808700",
        HEALTHCHECK,
        "4ce5725fbe0b8abb40116036a3f7df0c36f62fe50af7740ce7cbd90396f5a817",
    ),
    (
        OURS,
        "1723808701",
        HEALTHCHECK,
        "86f177fa66133aa1ef018700a6d6240b86b898feeded2159bbea5140f8ea96ed",
    ),
    (
        OURS,
        "1723808700",
        HEALTHCHECK + b"\n",
        "73f48cbb2c90be44e546d6942f4716d34ba54e032715ae047bdc73886f5ac6bd",
    ),
    (
        "66142e0c2960f788b19830807d4aa25cfd27a610ec65fd36",
        "1669742999",
        DEAUTH,
        "c885ce58891b69ab5b6c8fc7536544f4f515f2e22ec811152849295b3d995c93",
    ),
    ("secret", "10", b"b", "ad2da523c6d08e6ba4d8c36d86d5ca1f31f26992aabde11659556ced1d96509b"),
    (
        "foo",
        "12345678",
        b"{'bar':'baz'}",
        "599aa529690b885a43f184327c582375068d70705b7a471af15e10682c6f5313",
    ),
]


def test_healthcheck_vector_is_168_bytes() -> None:
    assert len(HEALTHCHECK) == 168


@pytest.mark.parametrize(("secret", "t", "body", "mac"), VECTORS)
def test_vectors_compute(secret: str, t: str, body: bytes, mac: str) -> None:
    assert compute(secret, t, body) == mac


@pytest.mark.parametrize(("secret", "t", "body", "mac"), VECTORS)
def test_vectors_verify_ok_with_a_fixed_clock(secret: str, t: str, body: bytes, mac: str) -> None:
    header = f"t={t},v1={mac}"
    assert verify(header, body, secret, now=int(t) + 299) is Verdict.OK
    assert verify(header, body, secret, now=int(t) - 299) is Verdict.OK


@pytest.mark.parametrize(("secret", "t", "body", "mac"), VECTORS)
def test_vectors_outside_the_window_are_stale(secret: str, t: str, body: bytes, mac: str) -> None:
    header = f"t={t},v1={mac}"
    assert verify(header, body, secret, now=int(t) + 301) is Verdict.STALE
    assert verify(header, body, secret, now=int(t) - 301) is Verdict.STALE
    assert verify(header, body, secret, now=int(t) + 301, tolerance=400) is Verdict.OK


@pytest.mark.parametrize(("secret", "t", "body", "mac"), VECTORS)
def test_vectors_tampered_are_bad(secret: str, t: str, body: bytes, mac: str) -> None:
    header = f"t={t},v1={mac}"
    assert verify(header, body + b" ", secret, now=int(t)) is Verdict.BAD
    assert verify(header, body, secret + "x", now=int(t)) is Verdict.BAD
    assert verify(f"t={int(t) + 1},v1={mac}", body, secret, now=int(t)) is Verdict.BAD


def test_lenient_header_with_spaces_v0_and_several_v1() -> None:
    t, mac = "1723808700", VECTORS[0][3]
    header = f"t={t}, v0=abc, v1=bad, v1={mac}"
    assert parse_header(header).signatures == ("bad", mac)
    assert verify(header, HEALTHCHECK, OURS, now=1723808700) is Verdict.OK


def test_v0_alone_is_never_accepted() -> None:
    header = f"t=1723808700,v0={VECTORS[0][3]}"
    assert verify(header, HEALTHCHECK, OURS, now=1723808700) is Verdict.BAD


def test_no_secret_is_unchecked_and_no_header_is_unsigned() -> None:
    assert verify(None, b"{}", None, now=0) is Verdict.UNCHECKED
    assert verify("t=1,v1=00", b"{}", "", now=0) is Verdict.UNCHECKED
    assert verify(None, b"{}", OURS, now=0) is Verdict.UNSIGNED
    assert verify("  ", b"{}", OURS, now=0) is Verdict.UNSIGNED


def test_sign_round_trips() -> None:
    assert sign(OURS, HEALTHCHECK, 1723808700) == f"t=1723808700,v1={VECTORS[0][3]}"
