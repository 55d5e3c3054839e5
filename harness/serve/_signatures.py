"""Webhook signatures as each vendor documents them; a request that fails is never stored.

Each scheme is a frozen :class:`Scheme` with the secret's environment
variable and a ``verify(secret, request)`` that returns ``(ok, reason)``;
the reason says what was wrong (which header, which check), never the secret
or the expected signature.  Comparisons are constant-time.

* ``hubspot`` (v3): ``X-HubSpot-Signature-v3`` is base64 HMAC-SHA256 of
  method + URI + body + ``X-HubSpot-Request-Timestamp`` (epoch milliseconds),
  keyed with the app's client secret (``HUBSPOT_CLIENT_SECRET``); a timestamp
  more than 5 minutes old (or ahead) is refused.  The URI is the full URL
  HubSpot called: behind a proxy give ``public_url``.  HubSpot's decoding
  rule is applied to the URI (``%3A``, ``%2F``, ``%3F``, ``%40``, ``%21``,
  ``%24``, ``%27``, ``%28``, ``%29``, ``%2A``, ``%2C``, ``%3B``).
* ``stripe``: ``Stripe-Signature: t=…,v1=…[,v1=…]`` where ``v1`` is hex
  HMAC-SHA256 of ``"{t}.{body}"`` keyed with the endpoint secret
  (``STRIPE_WEBHOOK_SECRET``); any ``v1`` may match (secret rolling); ``t``
  must be within the tolerance (300 s, Stripe's libraries' default).
* ``shopify``: ``X-Shopify-Hmac-Sha256`` is base64 HMAC-SHA256 of the raw
  body keyed with the app's client secret (``SHOPIFY_CLIENT_SECRET``).
* ``zendesk``: ``X-Zendesk-Webhook-Signature`` is base64 HMAC-SHA256 of
  ``X-Zendesk-Webhook-Signature-Timestamp`` + body keyed with the webhook's
  signing secret (``ZENDESK_WEBHOOK_SECRET``); the timestamp (ISO 8601) must be
  within 5 minutes.
* ``generic``: ``X-Hub-Signature-256: sha256=<hex>`` HMAC-SHA256 of the raw
  body (the convention GitHub documents), keyed with ``HARNESS_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from harness.errors import InvalidValueError

__all__ = ["SCHEMES", "Scheme", "SignedRequest", "scheme_for_system", "sign"]

#: seconds a signed timestamp may be away from now (HubSpot, Stripe, Zendesk: 5 minutes)
TOLERANCE = 300.0


@dataclass(frozen=True, kw_only=True, slots=True)
class SignedRequest:
    """What a signature covers: the method, the URL the sender called, headers, the raw body."""

    method: str
    url: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


Verify = Callable[[bytes, SignedRequest, float], tuple[bool, str]]


@dataclass(frozen=True, kw_only=True, slots=True)
class Scheme:
    """One vendor's webhook signature: its name, the secret's environment variable, the check."""

    name: str
    secret_env: str
    header: str
    verify: Verify


def _hmac(secret: bytes, message: bytes) -> bytes:
    return hmac.new(secret, message, hashlib.sha256).digest()


_HUBSPOT_DECODE = (
    ("%3A", ":"), ("%2F", "/"), ("%3F", "?"), ("%40", "@"), ("%21", "!"), ("%24", "$"),
    ("%27", "'"), ("%28", "("), ("%29", ")"), ("%2A", "*"), ("%2C", ","), ("%3B", ";"),
)


def _hubspot_uri(url: str) -> str:
    for encoded, plain in _HUBSPOT_DECODE:
        url = url.replace(encoded, plain).replace(encoded.lower(), plain)
    return url


def _verify_hubspot(secret: bytes, req: SignedRequest, now: float) -> tuple[bool, str]:
    signature = req.header("X-HubSpot-Signature-v3")
    stamp = req.header("X-HubSpot-Request-Timestamp")
    if not signature:
        return False, "no X-HubSpot-Signature-v3 header"
    if not stamp or not stamp.strip().isdigit():
        return False, f"X-HubSpot-Request-Timestamp must be epoch milliseconds, got {stamp!r}"
    age = now - int(stamp) / 1000.0
    if abs(age) > TOLERANCE:
        return False, f"X-HubSpot-Request-Timestamp is {age:.0f}s away from now (allowed: 300s)"
    message = f"{req.method.upper()}{_hubspot_uri(req.url)}".encode() + req.body + stamp.encode()
    expected = base64.b64encode(_hmac(secret, message)).decode()
    if not hmac.compare_digest(expected, signature.strip()):
        return False, (
            "X-HubSpot-Signature-v3 does not match (check HUBSPOT_CLIENT_SECRET and that the URL "
            "HubSpot calls is the one this server sees, or pass --public-url)"
        )
    return True, ""


def _verify_stripe(secret: bytes, req: SignedRequest, now: float) -> tuple[bool, str]:
    header = req.header("Stripe-Signature")
    if not header:
        return False, "no Stripe-Signature header"
    stamp: str | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            stamp = value
        elif key == "v1":
            candidates.append(value)
    if stamp is None or not stamp.isdigit():
        return False, "Stripe-Signature has no t=<unix seconds>"
    if not candidates:
        return False, "Stripe-Signature has no v1 signature"
    age = now - int(stamp)
    if abs(age) > TOLERANCE:
        return False, f"Stripe-Signature timestamp is {age:.0f}s away from now (tolerance: 300s)"
    expected = _hmac(secret, stamp.encode() + b"." + req.body).hex()
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        return False, "no v1 signature in Stripe-Signature matches (check STRIPE_WEBHOOK_SECRET)"
    return True, ""


def _verify_shopify(secret: bytes, req: SignedRequest, now: float) -> tuple[bool, str]:
    signature = req.header("X-Shopify-Hmac-Sha256")
    if not signature:
        return False, "no X-Shopify-Hmac-Sha256 header"
    expected = base64.b64encode(_hmac(secret, req.body)).decode()
    if not hmac.compare_digest(expected, signature.strip()):
        return False, "X-Shopify-Hmac-Sha256 does not match (check SHOPIFY_CLIENT_SECRET)"
    return True, ""


def _verify_zendesk(secret: bytes, req: SignedRequest, now: float) -> tuple[bool, str]:
    signature = req.header("X-Zendesk-Webhook-Signature")
    stamp = req.header("X-Zendesk-Webhook-Signature-Timestamp")
    if not signature:
        return False, "no X-Zendesk-Webhook-Signature header"
    if not stamp:
        return False, "no X-Zendesk-Webhook-Signature-Timestamp header"
    try:
        when = datetime.fromisoformat(stamp.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return False, f"X-Zendesk-Webhook-Signature-Timestamp is not an ISO 8601 time: {stamp!r}"
    if abs(now - when) > TOLERANCE:
        return False, f"X-Zendesk-Webhook-Signature-Timestamp is {now - when:.0f}s away from now (allowed: 300s)"
    expected = base64.b64encode(_hmac(secret, stamp.encode() + req.body)).decode()
    if not hmac.compare_digest(expected, signature.strip()):
        return False, "X-Zendesk-Webhook-Signature does not match (check ZENDESK_WEBHOOK_SECRET)"
    return True, ""


def _verify_generic(secret: bytes, req: SignedRequest, now: float) -> tuple[bool, str]:
    header = req.header("X-Hub-Signature-256")
    if not header:
        return False, "no X-Hub-Signature-256 header"
    scheme, _, value = header.strip().partition("=")
    if scheme != "sha256" or not value:
        return False, "X-Hub-Signature-256 must be sha256=<hex HMAC of the body>"
    expected = _hmac(secret, req.body).hex()
    if not hmac.compare_digest(expected, value.lower()):
        return False, "X-Hub-Signature-256 does not match (check HARNESS_WEBHOOK_SECRET)"
    return True, ""


SCHEMES: dict[str, Scheme] = {
    s.name: s
    for s in (
        Scheme(name="hubspot", secret_env="HUBSPOT_CLIENT_SECRET", header="X-HubSpot-Signature-v3", verify=_verify_hubspot),
        Scheme(name="stripe", secret_env="STRIPE_WEBHOOK_SECRET", header="Stripe-Signature", verify=_verify_stripe),
        Scheme(name="shopify", secret_env="SHOPIFY_CLIENT_SECRET", header="X-Shopify-Hmac-Sha256", verify=_verify_shopify),
        Scheme(name="zendesk", secret_env="ZENDESK_WEBHOOK_SECRET", header="X-Zendesk-Webhook-Signature", verify=_verify_zendesk),
        Scheme(name="generic", secret_env="HARNESS_WEBHOOK_SECRET", header="X-Hub-Signature-256", verify=_verify_generic),
    )
}


def scheme_for_system(system: str) -> Scheme:
    """The scheme of a trigger's system (``hubspot``, ``stripe``…); ``generic`` for any other."""
    return SCHEMES.get(system.lower(), SCHEMES["generic"])


def sign(
    scheme: str,
    secret: str,
    *,
    body: bytes,
    url: str = "",
    method: str = "POST",
    now: float | None = None,
) -> dict[str, str]:
    """The headers ``scheme``'s vendor would send with ``body`` (for tests, load tools, replays)."""
    now = time.time() if now is None else now
    key = secret.encode()
    if scheme == "hubspot":
        stamp = str(int(now * 1000))
        message = f"{method.upper()}{_hubspot_uri(url)}".encode() + body + stamp.encode()
        return {
            "X-HubSpot-Signature-v3": base64.b64encode(_hmac(key, message)).decode(),
            "X-HubSpot-Request-Timestamp": stamp,
        }
    if scheme == "stripe":
        stamp = str(int(now))
        return {"Stripe-Signature": f"t={stamp},v1={_hmac(key, stamp.encode() + b'.' + body).hex()}"}
    if scheme == "shopify":
        return {"X-Shopify-Hmac-Sha256": base64.b64encode(_hmac(key, body)).decode()}
    if scheme == "zendesk":
        stamp = datetime.fromtimestamp(int(now), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "X-Zendesk-Webhook-Signature": base64.b64encode(_hmac(key, stamp.encode() + body)).decode(),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        }
    if scheme == "generic":
        return {"X-Hub-Signature-256": "sha256=" + _hmac(key, body).hex()}
    raise InvalidValueError(f"unknown signature scheme {scheme!r}; one of {', '.join(SCHEMES)}")
