"""The `terra listen --register` / `--cleanup` side of the listen command (thin wiring).

The logic lives in terra_cli.webhooks.registration; this module builds it from
settings, hands the destination's secret to the receiver and says what happened.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from terra_cli import render
from terra_cli.errors import InputError, UsageError
from terra_cli.render import admin as show
from terra_cli.settings import KEYS, Settings

if TYPE_CHECKING:
    from terra_cli.webhooks.registration import Registration
    from terra_cli.webhooks.session import ListenSession


def cleanup(settings: Settings) -> None:
    """`terra listen --cleanup`: delete the destinations crashed runs left behind."""
    from terra_cli.commands.admin import admin_client
    from terra_cli.webhooks.registration import cleanup as engine_cleanup
    from terra_cli.webhooks.registration import kept, leftovers

    with admin_client(settings) as client:
        if leftovers(client.base_url):
            done = engine_cleanup(client, show.notice)
            render.info(f"Cleaned up {len(done)} destination{'s' if len(done) != 1 else ''}.")
        else:
            render.info("No leftover destinations: nothing to clean up.")
        for record in kept(client.base_url):
            show.notice(
                f"Left kept destination {record.destination_id} ({record.url}): it was kept on "
                "purpose; a 'terra listen --register --delete-destination' run on that URL "
                "deletes it when it stops."
            )


def prepare(
    settings: Settings,
    env: str | None,
    keep: bool,
    delete: bool,
    no_tunnel: bool,
    session_ref: list[ListenSession],
) -> tuple[Registration, str]:
    """Check the token, scopes and environment before the tunnel; the registration and
    the environment's name. `session_ref` gets the session once it exists."""
    from terra_cli.commands.admin import admin_client
    from terra_cli.webhooks.registration import Registration, leftovers

    if keep and delete:
        raise UsageError(
            "--keep-destination and --delete-destination contradict each other.",
            hint="Give one of them (without either, only a reserved domain's is kept).",
        )
    if no_tunnel:
        raise UsageError(
            "--register needs the public tunnel URL, and --no-tunnel turns the tunnel off.",
            hint="Drop --no-tunnel, or drop --register and add the URL to Terra yourself.",
        )
    dev_id = env or settings.get("dev-id")
    if not dev_id:
        raise InputError(
            "--register needs to know which Terra environment (dev-id) should deliver here.",
            hint="Pass --env DEV_ID, or run 'terra config set dev-id'.",
        )
    client = admin_client(settings)

    def set_secret(secret: str) -> None:
        session = session_ref[0]
        receiver = session.receiver
        receiver.config = replace(receiver.config, secret=secret)

    registration = Registration(
        client,
        dev_id,
        keep=True if keep else (False if delete else None),
        reserved=bool(settings.get("ngrok-domain")),
        set_secret=set_secret,
        notify=show.notice,
        warn=show.caution,
        fallback_secret=settings.get("signing-secret"),
    )
    try:
        name = registration.check()
    except BaseException:
        client.close()
        raise
    for record in leftovers(client.base_url):
        show.leftover(record.describe())
    return registration, name


def attach(
    registration: Registration, public_url: str, name: str, settings: Settings
) -> str | None:
    """Point Terra at the public URL; the signing secret verdicts now use (None: none)."""
    attached = registration.attach(public_url)
    show.delivers_here(public_url, name)
    secret = attached.secret
    if attached.created and secret and registration.reserved and registration.keep:
        settings.file.set(settings.profile, KEYS["signing-secret"], secret)
        settings.file.save()
        show.notice(
            f"Saved the new destination's signing secret as signing-secret in profile "
            f"'{settings.profile}' (the reserved domain's destination is kept)."
        )
    if attached.created:
        what = "kept on stop" if registration.keep else "deleted again on stop"
        render.info(f"Created destination {attached.destination.id}; it is {what}.")
    return secret or settings.get("signing-secret")
