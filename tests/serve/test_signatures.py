"""Webhook signatures checked against the vendors' own documented examples and SDKs."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
import stripe

from harness.serve import SCHEMES, SignedRequest, scheme_for_system, sign


def request(body: bytes, headers: dict[str, str], *, url: str = "https://example.com/hooks/x", method: str = "POST") -> SignedRequest:
    return SignedRequest(method=method, url=url, headers={k.lower(): v for k, v in headers.items()}, body=body)


# HubSpot's published v3 vector (hubspot-api-python, tests/spec/utils/test_signature.py)
HS_SECRET = b"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
HS_BODY = b"{'example_field':'example_value'}"
HS_URL = "https://www.example.com/webhook_uri"
HS_HEADERS = {"X-HubSpot-Signature-v3": "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=", "X-HubSpot-Request-Timestamp": "15000000"}


def test_hubspot_v3_accepts_the_vector_hubspot_publishes() -> None:
    verify = SCHEMES["hubspot"].verify
    assert verify(HS_SECRET, request(HS_BODY, HS_HEADERS, url=HS_URL), 15_000.0) == (True, "")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"now": 15_000.0 + 301}, "away from now"),  # older than HubSpot's 5 minutes
        ({"body": HS_BODY + b" "}, "does not match"),
        ({"url": "http://www.example.com/webhook_uri"}, "does not match"),  # the scheme is signed
        ({"method": "PUT"}, "does not match"),
        ({"headers": {"X-HubSpot-Request-Timestamp": "15000000"}}, "no X-HubSpot-Signature-v3"),
        ({"headers": {**HS_HEADERS, "X-HubSpot-Request-Timestamp": "soon"}}, "epoch milliseconds"),
    ],
)
def test_hubspot_v3_refuses_what_hubspot_says_to_refuse(change: dict[str, object], reason: str) -> None:
    req = request(
        change.get("body", HS_BODY),  # type: ignore[arg-type]
        change.get("headers", HS_HEADERS),  # type: ignore[arg-type]
        url=str(change.get("url", HS_URL)),
        method=str(change.get("method", "POST")),
    )
    ok, why = SCHEMES["hubspot"].verify(HS_SECRET, req, float(change.get("now", 15_000.0)))  # type: ignore[arg-type]
    assert not ok and reason in why
    assert "yyyy" not in why and "HPW73" not in why  # never the secret or the expected value


def test_hubspot_v3_decodes_the_characters_hubspot_lists_in_the_uri() -> None:
    now = time.time()
    headers = sign("hubspot", "s3cret", body=b"[]", url="https://example.com/hooks/x?a=b:c", now=now)
    encoded = request(b"[]", headers, url="https://example.com/hooks/x?a=b%3Ac")
    assert SCHEMES["hubspot"].verify(b"s3cret", encoded, now) == (True, "")


def test_stripe_signature_agrees_with_stripes_own_library() -> None:
    secret = "whsec_test_secret"
    payload = '{"id": "evt_1", "type": "invoice.paid"}'
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)
    req = request(payload.encode(), {"Stripe-Signature": header})
    assert SCHEMES["stripe"].verify(secret.encode(), req, time.time()) == (True, "")
    ours = sign("stripe", secret, body=payload.encode())["Stripe-Signature"]
    assert stripe.WebhookSignature.verify_header(payload, ours, secret, tolerance=300)


def test_stripe_accepts_any_v1_while_a_secret_rolls_and_refuses_old_timestamps() -> None:
    secret = "whsec_new"
    body = b'{"id": "evt_2"}'
    now = time.time()
    good = sign("stripe", secret, body=body, now=now)["Stripe-Signature"]
    stamp, v1 = good.split(",")
    rolling = f"{stamp},v1={'0' * 64},{v1}"  # the old secret's signature first
    assert SCHEMES["stripe"].verify(secret.encode(), request(body, {"Stripe-Signature": rolling}), now)[0]
    ok, why = SCHEMES["stripe"].verify(secret.encode(), request(body, {"Stripe-Signature": good}), now + 301)
    assert not ok and "tolerance" in why
    ok, why = SCHEMES["stripe"].verify(secret.encode(), request(body, {"Stripe-Signature": f"{stamp},v0=abc"}), now)
    assert not ok and "no v1" in why


def test_shopify_hmac_is_base64_of_the_raw_body() -> None:
    body = b'{"id":820982911946154508,"email":"jon@example.com"}'
    headers = sign("shopify", "hush", body=body)
    assert SCHEMES["shopify"].verify(b"hush", request(body, headers), 0.0) == (True, "")
    assert not SCHEMES["shopify"].verify(b"hush", request(body.replace(b"jon", b"eve"), headers), 0.0)[0]


def test_zendesk_signs_timestamp_then_body_with_the_documented_test_secret() -> None:
    # Zendesk's documentation: base64(HMACSHA256(TIMESTAMP + BODY)), and the signing
    # secret its test webhooks use
    secret = b"dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
    body = b'{"say": "hello"}'
    stamp = "2021-07-25T10:00:00Z"
    import base64

    signature = base64.b64encode(hmac.new(secret, stamp.encode() + body, hashlib.sha256).digest()).decode()
    headers = {"X-Zendesk-Webhook-Signature": signature, "X-Zendesk-Webhook-Signature-Timestamp": stamp}
    when = 1627207200.0  # 2021-07-25T10:00:00Z
    assert SCHEMES["zendesk"].verify(secret, request(body, headers), when) == (True, "")
    ok, why = SCHEMES["zendesk"].verify(secret, request(body, headers), when + 600)
    assert not ok and "away from now" in why


def test_generic_hmac_accepts_githubs_documented_example() -> None:
    # GitHub's "Validating webhook deliveries" test values
    headers = {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}
    assert SCHEMES["generic"].verify(b"It's a Secret to Everybody", request(b"Hello, World!", headers), 0.0) == (True, "")
    assert not SCHEMES["generic"].verify(b"another secret", request(b"Hello, World!", headers), 0.0)[0]


@pytest.mark.parametrize("name", sorted(SCHEMES))
def test_every_scheme_refuses_a_missing_signature_and_verifies_its_own_signing(name: str) -> None:
    now = time.time()
    body = b'{"id": 1}'
    url = "https://example.com/hooks/x"
    ok, why = SCHEMES[name].verify(b"k", request(body, {}, url=url), now)
    assert not ok and "no " in why
    assert SCHEMES[name].verify(b"k", request(body, sign(name, "k", body=body, url=url, now=now), url=url), now) == (True, "")


def test_triggers_pick_their_vendors_scheme() -> None:
    assert scheme_for_system("hubspot").secret_env == "HUBSPOT_CLIENT_SECRET"
    assert scheme_for_system("stripe").secret_env == "STRIPE_WEBHOOK_SECRET"
    assert scheme_for_system("crm-of-our-own").name == "generic"


def test_hubspot_v3_agrees_with_hubspots_own_sdk() -> None:
    from hubspot.utils.signature import Signature

    # the published vector is what HubSpot's SDK computes too
    assert Signature.get_signature(
        HS_SECRET.decode(), HS_BODY.decode(), "v3", HS_URL, "POST", HS_HEADERS["X-HubSpot-Request-Timestamp"]
    ) == HS_HEADERS["X-HubSpot-Signature-v3"]
    body = '[{"eventId":1,"objectId":42}]'
    url = "https://hooks.example.com/harness/hooks/deal_won"
    ours = sign("hubspot", "client-secret", body=body.encode(), url=url)
    assert Signature.is_valid(
        ours["X-HubSpot-Signature-v3"], "client-secret", body, url, "POST", "v3", ours["X-HubSpot-Request-Timestamp"]
    )
    stamp = str(int(time.time() * 1000))
    theirs = Signature.get_signature("client-secret", body, "v3", url, "POST", stamp)
    headers = {"X-HubSpot-Signature-v3": theirs, "X-HubSpot-Request-Timestamp": stamp}
    assert SCHEMES["hubspot"].verify(b"client-secret", request(body.encode(), headers, url=url), time.time()) == (True, "")


def test_stripe_parses_the_header_exactly_as_stripes_docs_show_it() -> None:
    # Stripe's "Verify webhook signatures" page: t first, then v1, then a v0 test-mode scheme
    documented = (
        "t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,"
        "v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    )
    body = b'{"id": "evt_1"}'
    # parsed up to the HMAC comparison: the timestamp is read, v0 is ignored, v1 is compared
    ok, why = SCHEMES["stripe"].verify(b"whsec_other", request(body, {"Stripe-Signature": documented}), 1492774577.0)
    assert not ok and why == "no v1 signature in Stripe-Signature matches (check STRIPE_WEBHOOK_SECRET)"
    # the same shape with the v1 Stripe's documented recipe gives: HMAC-SHA256 of "{t}.{payload}"
    v1 = hmac.new(b"whsec_test", b"1492774577." + body, hashlib.sha256).hexdigest()
    header = f"t=1492774577,v1={v1},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
    assert SCHEMES["stripe"].verify(b"whsec_test", request(body, {"Stripe-Signature": header}), 1492774577.0) == (True, "")
    assert stripe.WebhookSignature.verify_header(body.decode(), header, "whsec_test", tolerance=None)


def test_shopify_hmac_follows_shopifys_recipe_not_our_own_signer() -> None:
    # Shopify's "Verify webhooks": base64 of HMAC-SHA256 of the raw body, keyed with the
    # app's client secret; the header as Shopify's docs spell it (names are case-insensitive)
    import base64

    body = b'{"id":820982911946154508,"email":"jon@example.com"}'
    digest = base64.b64encode(hmac.new(b"hush", body, hashlib.sha256).digest()).decode()
    headers = {"X-Shopify-Hmac-SHA256": digest}
    assert SCHEMES["shopify"].verify(b"hush", request(body, headers), 0.0) == (True, "")
    hexdigest = hmac.new(b"hush", body, hashlib.sha256).hexdigest()  # a hex HMAC is not Shopify's
    assert not SCHEMES["shopify"].verify(b"hush", request(body, {"X-Shopify-Hmac-SHA256": hexdigest}), 0.0)[0]
