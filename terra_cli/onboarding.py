"""`terra init`: ask for (or take from the environment), check and save a profile.

The flow lives here; the asking is done through a `Prompter` the command
supplies (render's prompt helpers), so this module never prints and never
exits. Order: dev-id and API key, checked with one authenticated call to
Terra; then signing secret, ngrok authtoken and ngrok domain, each optional.
Values already in the profile are shown masked and kept on Enter. Nothing is
written until the end, and then in one atomic write through the settings
store (0600 from the first byte).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from terra_cli.errors import AuthError, CanceledError, InputError, NetworkError, TerraError
from terra_cli.settings import KEYS, ConfigFile, mask, validate_value

DASHBOARD = "https://dashboard.tryterra.co"
NGROK_TOKEN_PAGE = "https://dashboard.ngrok.com/get-started/your-authtoken"  # noqa: S105 - a URL
_NGROK_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,200}$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class Field:
    """One value `terra init` asks for: its key, what to call it and where it lives."""

    key: str
    label: str
    where: str
    required: bool = False

    @property
    def secret(self) -> bool:
        """Typed hidden: everything secret but the dev-id (an id, shown masked afterwards)."""
        return KEYS[self.key].secret and self.key != "dev-id"

    @property
    def env(self) -> str:
        return str(KEYS[self.key].env)


FIELDS: tuple[Field, ...] = (
    Field(
        "dev-id",
        "Terra dev-id",
        f"In Terra's dashboard ({DASHBOARD}), on the API keys page.",
        required=True,
    ),
    Field(
        "api-key",
        "Terra API key",
        "Same page: the API key of the environment you develop against.",
        required=True,
    ),
    Field(
        "signing-secret",
        "Webhook signing secret",
        "In Terra's dashboard: Connections -> Destinations -> your webhook "
        "destination's settings. Enter skips it (signatures then go unchecked).",
    ),
    Field(
        "ngrok-authtoken",
        "ngrok authtoken",
        f"ngrok's dashboard, 'Your Authtoken' ({NGROK_TOKEN_PAGE}). "
        "Enter skips it (then use 'terra listen --no-tunnel').",
    ),
    Field(
        "ngrok-domain",
        "Reserved ngrok domain (optional)",
        "ngrok's dashboard, Domains: a reserved domain keeps the public URL the same "
        "between runs. Enter skips it.",
    ),
)
BY_KEY = {f.key: f for f in FIELDS}


class Prompter(Protocol):
    """How the flow talks to the person at the terminal (stderr and stdin)."""

    def say(self, text: str) -> None:
        """One line of guidance."""

    def ask(self, label: str, current: str | None, hidden: bool) -> str | None:
        """One answer ('' on Enter); None at end of input."""

    def confirm(self, question: str) -> bool:
        """A yes/no question; only yes is True."""


Verify = Callable[[str, str], None]  # raises AuthError when Terra rejects the pair


@dataclass
class Outcome:
    """What `terra init` saved, for the closing lines."""

    profile: str
    path: str
    saved: dict[str, str] = field(default_factory=dict)  # key -> masked value (or plain)
    kept: list[str] = field(default_factory=list)
    verified: bool | None = None  # None: not checked (--no-verify or declined)
    tunnel: bool = True  # an ngrok authtoken is set
    active: bool = True  # the profile is the active one


def check_value(key: str, raw: str) -> str:
    """Validate one answer as `config set` would, plus ngrok's token and domain shapes."""
    value = validate_value(KEYS[key], raw)
    if key == "ngrok-authtoken" and not _NGROK_TOKEN_RE.match(value):
        raise InputError(
            "That does not look like an ngrok authtoken (letters, digits, '_' and '-', "
            "20 characters or more).",
            hint=f"Copy it again from {NGROK_TOKEN_PAGE}.",
        )
    if key == "ngrok-domain":
        value = value.lower().removeprefix("https://").removeprefix("http://").rstrip("/")
        if not _DOMAIN_RE.match(value):
            raise InputError(
                f"'{raw}' is not a domain name.",
                hint="Give the bare domain, e.g. my-app.ngrok-free.app.",
            )
    return value


def shown(key: str, value: str) -> str:
    """A value as init echoes it: secrets masked, settings plain."""
    return mask(value) if KEYS[key].secret else value


class Setup:
    """One `terra init` run over a config file and a profile."""

    def __init__(self, file: ConfigFile, profile: str, verify: Verify | None) -> None:
        self.file = file
        self.profile = profile
        self.verify = verify
        self.values: dict[str, str] = {}

    def current(self, key: str) -> str | None:
        return self.file.get(self.profile, KEYS[key])

    def value(self, key: str) -> str | None:
        """The answer given in this run, else what the profile already holds."""
        return self.values.get(key) or self.current(key)

    # -- on a terminal ----------------------------------------------------------

    def guided(self, prompter: Prompter) -> Outcome:
        """Ask for every field in turn, check the Terra pair, save once."""
        prompter.say(
            f"terra init: setting up profile '{self.profile}' in {self.file.path}. "
            "Enter keeps the value shown in [brackets]."
        )
        verified: bool | None = None
        for fld in FIELDS:
            self._ask(prompter, fld)
            if fld.key == "api-key":
                verified = self._verify_guided(prompter)
        return self._save(verified)

    def _ask(self, prompter: Prompter, fld: Field) -> None:
        prompter.say("")
        prompter.say(f"{fld.label}")
        prompter.say(f"  {fld.where}")
        current = self.current(fld.key)
        label = fld.key + (" (input hidden)" if fld.secret else "")
        for _attempt in range(5):
            answer = prompter.ask(label, shown(fld.key, current) if current else None, fld.secret)
            if answer is None:
                raise CanceledError(
                    "Input ended before terra init finished; nothing was saved.",
                    hint="Run 'terra init' again, or set the variables and pipe nothing in.",
                )
            answer = answer.strip()
            if not answer:
                if current:
                    prompter.say(f"  {fld.key}: kept {shown(fld.key, current)}")
                    return
                if fld.required:
                    prompter.say(f"  {fld.key} is needed: every call to Terra carries it.")
                    continue
                prompter.say(f"  {fld.key}: skipped")
                if fld.key == "ngrok-authtoken":
                    prompter.say("  Without it, run 'terra listen --no-tunnel' (local URL only).")
                return
            try:
                value = check_value(fld.key, answer)
            except InputError as exc:
                prompter.say(f"  {exc.message} {exc.hint or ''}".rstrip())
                continue
            self.values[fld.key] = value
            if fld.secret or value != answer:  # hidden input, or normalised: show what is kept
                prompter.say(f"  {fld.key}: {shown(fld.key, value)}")
            return
        raise InputError(
            f"No usable {fld.key} after five tries; nothing was saved.",
            hint=f"Run 'terra init' again, or 'terra config set {fld.key}'.",
        )

    def _verify_guided(self, prompter: Prompter) -> bool | None:
        """Check the pair with Terra: True accepted; None left unverified by choice."""
        if self.verify is None:
            prompter.say("  Not checked with Terra (--no-verify).")
            return None
        try:
            self._check()
        except AuthError:
            raise
        except TerraError as exc:
            prompter.say(f"  Could not check them with Terra: {exc.message}")
            if prompter.confirm("  Save them unverified?"):
                return None
            raise CanceledError(
                "Nothing saved: Terra could not be reached to check the dev-id and API key.",
                hint="Check your network and run 'terra init' again, or 'terra init "
                "--no-verify' to save without the check.",
            ) from None
        prompter.say("  Terra accepted the dev-id and API key.")
        return True

    def _check(self) -> None:
        assert self.verify is not None
        dev_id, api_key = self.value("dev-id"), self.value("api-key")
        assert dev_id and api_key
        try:
            self.verify(dev_id, api_key)
        except AuthError as exc:
            raise AuthError(
                f"Terra rejected the dev-id and API key ({exc.message}); nothing was saved.",
                hint="Copy both again from Terra's dashboard (API keys; the key must belong "
                "to that dev-id and environment) and run 'terra init' again.",
            ) from None

    # -- without a terminal ------------------------------------------------------

    def from_environment(self, env: Mapping[str, str]) -> Outcome:
        """Take every value from the environment (profile values stay when a variable
        is unset); the dev-id/API key pair is required. Never asks."""
        for fld in FIELDS:
            raw = env.get(fld.env, "")
            if raw.strip():
                try:
                    self.values[fld.key] = check_value(fld.key, raw)
                except InputError as exc:
                    raise InputError(f"{fld.env}: {exc.message}", hint=exc.hint) from None
        missing = [f.env for f in FIELDS if f.required and not self.value(f.key)]
        if missing:
            optional = ", ".join(f.env for f in FIELDS if not f.required)
            raise InputError(
                f"terra init needs {' and '.join(missing)}: stdin is not a terminal, so it "
                "takes its values from the environment and never asks.",
                hint=f"Set {' and '.join(missing)} (optional: {optional}), or run "
                "'terra init' in a terminal.",
            )
        verified: bool | None = None
        if self.verify is not None:
            try:
                self._check()
            except AuthError:
                raise
            except TerraError as exc:
                if isinstance(exc, NetworkError):
                    raise NetworkError(
                        f"{exc.message} Nothing was saved.",
                        hint="Check your network, or pass --no-verify to save without the check.",
                    ) from None
                raise
            verified = True
        return self._save(verified)

    # -- saving -----------------------------------------------------------------

    def _save(self, verified: bool | None) -> Outcome:
        for key, value in self.values.items():
            self.file.set(self.profile, KEYS[key], value)
        self.file.save()
        return Outcome(
            profile=self.profile,
            path=str(self.file.path),
            saved={k: shown(k, v) for k, v in self.values.items()},
            kept=[f.key for f in FIELDS if f.key not in self.values and self.current(f.key)],
            verified=verified,
            tunnel=bool(self.value("ngrok-authtoken")),
            active=self.file.active_profile == self.profile,
        )


def next_commands(outcome: Outcome) -> list[tuple[str, str]]:
    """The three commands to run next, each with what it does."""
    chosen = "" if outcome.active else f"--profile {outcome.profile} "
    if outcome.tunnel:
        listen = (f"terra {chosen}listen", "paste the public URL it prints into Terra's dashboard")
    else:
        listen = (f"terra {chosen}listen --no-tunnel", "receive webhooks on a local URL")
    return [
        listen,
        (f"terra {chosen}trigger activity", "in another terminal: send a signed sample event"),
        ("terra events list", "see what arrived"),
    ]
