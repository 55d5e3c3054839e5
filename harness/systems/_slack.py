"""A stateful fake of the Slack Web API: messages, conversations, users.

Serves ``slack.com`` and every ``*.slack.com`` workspace host under ``/api/``:

* ``chat.postMessage`` and ``chat.update`` (text, blocks, attachments, threads;
  a channel by id, by name with or without ``#``, or a user id for a DM);
* ``conversations.list`` (``types``, ``exclude_archived``, ``limit``, cursor pages)
  and ``conversations.history`` (a channel id only, as Slack requires; newest
  first, ``oldest``/``latest``/``inclusive``, cursor pages);
* ``users.lookupByEmail``, ``users.info`` and ``auth.test``.

As Slack does, every method takes its arguments from the query string, a
form-encoded body or a JSON body (JSON only with the token in the
``Authorization`` header), and answers **HTTP 200 with** ``{"ok": false,
"error": "channel_not_found"}`` for a refused call: ``not_authed``,
``invalid_auth``, ``channel_not_found``, ``not_in_channel``, ``is_archived``,
``no_text``, ``msg_too_long``, ``too_many_attachments``, ``invalid_blocks``,
``message_not_found``, ``cant_update_message``, ``users_not_found``,
``invalid_cursor``, ``invalid_limit``.  A rate limit is HTTP 429 with
``Retry-After`` and ``{"ok": false, "error": "ratelimited"}``.

Events API: :meth:`Slack.webhook_event` builds the signed ``app_mention``
delivery of a message that mentions the bot (the ``slack.app_mention`` trigger's
event); the standard world seeds a few such mentions in ``#support``.

Not modelled: per-method rate tiers and the one-message-per-second-per-channel
limit (only the harness's generic ``rate_limit``), Slack's text truncation past
40,000 characters (refused with ``msg_too_long`` instead), scopes, Enterprise
Grid, edit windows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness._shared.wire import Request, Response
from harness.errors import NotFoundError
from harness.systems._base import FakeSystem, Record
from harness.systems._descriptor import ErrorShape, RecordShape, SystemDescriptor

__all__ = ["SIGNING_SECRET", "Slack"]

#: the app's signing secret the fake signs its Events API deliveries with (``X-Slack-Signature``)
SIGNING_SECRET = "harness-slack-signing-secret"

_MAX_TEXT = 40_000
_MAX_ATTACHMENTS = 100
_MAX_BLOCKS = 50
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_TOKEN = re.compile(r"xox[abpe]-[A-Za-z0-9-]+")
_CHANNEL_TYPES = ("public_channel", "private_channel", "mpim", "im")
# which refusal blames which argument (for engines that ask what a rejection was about)
_BLAMED = {
    "channel_not_found": "channel", "not_in_channel": "channel", "is_archived": "channel",
    "no_text": "text", "msg_too_long": "text", "too_many_attachments": "attachments",
    "invalid_blocks": "blocks", "message_not_found": "ts", "cant_update_message": "ts",
    "users_not_found": "email", "invalid_cursor": "cursor", "invalid_limit": "limit",
}
_HTTP_STATUS_ERRORS = {401: "invalid_auth", 403: "missing_scope", 404: "channel_not_found",
                       409: "cant_update_message", 413: "msg_too_long"}


class _Refused(Exception):
    """A refused call: Slack's ``200 {"ok": false, "error": code}``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _error_body(status: int, message: str | None) -> dict[str, Any]:
    if status == 429:
        return {"ok": False, "error": "ratelimited"}
    if status >= 500:
        code = {500: "internal_error", 503: "service_unavailable"}.get(status, "fatal_error")
        return {"ok": False, "error": message or code}
    return {"ok": False, "error": message or _HTTP_STATUS_ERRORS.get(status, "invalid_arguments")}


def _failure_in_body(status: int, body: Any) -> bool:
    return isinstance(body, Mapping) and body.get("ok") is False


def _rejected_field(body: Any) -> str | None:
    if isinstance(body, Mapping):
        return _BLAMED.get(str(body.get("error")))
    return None


def _cursor(prefix: str, value: str) -> str:
    return base64.b64encode(f"{prefix}:{value}".encode()).decode()


def _uncursor(prefix: str, cursor: str) -> str:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise _Refused("invalid_cursor") from None
    head, sep, value = text.partition(":")
    if head != prefix or not sep or not value:
        raise _Refused("invalid_cursor")
    return value


class Slack(FakeSystem):
    """Fake Slack Web API.  Kinds: ``channel``, ``user``, ``message``.

    A seeded workspace (see :meth:`seed_workspace`) has ``#general``, a bot user
    the ``xoxb-`` tokens act as, and people with emails.  A ``xoxp-`` token
    acts as the first person (the user who installed the app).
    """

    name = "slack"
    default_hosts = ("slack.com", "*.slack.com")
    kinds = ("channel", "user", "message")
    descriptor = SystemDescriptor(
        name="slack",
        hosts=("slack.com", "*.slack.com"),
        base_url_env="SLACK_BASE_URL",
        id_shapes=(),  # Slack's paths carry method names, never ids
        encoding="form",
        errors=ErrorShape(body=_error_body, declined=200, invalid=200,
                          rejected_field=_rejected_field, failure_in_body=_failure_in_body),
        idempotency=None,
        records=(
            RecordShape(endpoint="POST /api/chat.postMessage", kind="message", at="message",
                        id_field="ts", system_fields=frozenset({"ts", "type", "user", "bot_id", "app_id",
                                                 "team", "bot_profile", "subtype"})),
            RecordShape(endpoint="POST /api/chat.update", kind="message", at="message",
                        id_field="ts", system_fields=frozenset({"ts", "type", "user", "bot_id", "edited"})),
            *(RecordShape(endpoint=f"{m} /api/conversations.history", kind="message",
                          at="messages[]", id_field="ts", system_fields=frozenset({"ts", "type", "user",
                                                                    "bot_id", "team"}))
              for m in ("GET", "POST")),
            *(RecordShape(endpoint=f"{m} /api/conversations.list", kind="channel",
                          at="channels[]", system_fields=frozenset({"id", "created", "creator"}))
              for m in ("GET", "POST")),
            *(RecordShape(endpoint=f"{m} /api/users.lookupByEmail", kind="user", at="user",
                          system_fields=frozenset({"id", "team_id", "updated"}))
              for m in ("GET", "POST")),
        ),
        docs="https://api.slack.com/web",
    )

    def __init__(
        self,
        extra_hosts: Sequence[str] = (),
        *,
        rate_limit: tuple[int, float] | None = None,
        seed: int = 0,
        team: str = "Acme",
    ) -> None:
        self._team_name = team
        super().__init__(extra_hosts, rate_limit=rate_limit, seed=seed)

    # -- state ---------------------------------------------------------------

    def _init_state(self) -> None:
        super()._init_state()
        self.team_id = "T" + self._slack_id()
        self.bot_id = "B" + self._slack_id()
        self.app_id = "A" + self._slack_id()
        self.bot_user_id = "U" + self._slack_id()
        self._last_ts = 0.0
        self._members: dict[str, frozenset[str]] = {}
        bot: Record = self._user_object(self.bot_user_id, "harness-bot", "Harness Bot", None,
                                        is_bot=True)
        self._store["user"][self.bot_user_id] = bot

    def _counter_state(self) -> Any:
        return self._next_id, self._last_ts

    def _restore_counters(self, state: Any) -> None:
        self._next_id, self._last_ts = state

    def _extra_state(self) -> Any:
        return dict(self._members)

    def _restore_extra(self, state: Any) -> None:
        self._members = dict(state)

    def _slack_id(self) -> str:
        return "".join(self._rng.choices(_ID_CHARS, k=10))

    # -- seeding -----------------------------------------------------------------

    def seed_workspace(
        self,
        people: Iterable[tuple[str, str, str]],
        *,
        channels: Sequence[tuple[str, str, bool]] = (),
        created: float = 1_700_000_000.0,
    ) -> None:
        """Add people ``(handle, real_name, email)`` and channels ``(name, purpose, private)``.

        ``#general`` (every person and the bot in it) and ``#random`` (the bot
        not in it) always exist.  The bot is a member of every other channel.
        Seeding logs no writes.
        """
        with self._lock:
            ids = [self.bot_user_id]
            for handle, real_name, email in people:
                uid = "U" + self._slack_id()
                self._store["user"][uid] = self._user_object(uid, handle, real_name, email)
                ids.append(uid)
            rows = [("general", "This channel is for team-wide communication and announcements.",
                     False), ("random", "A place for non-work-related flimflam.", False),
                    *channels]
            for name, purpose, private in rows:
                if any(c["name"] == name for c in self._store["channel"].values()):
                    continue
                cid = ("G" if private else "C") + self._slack_id()
                members = ids if name != "random" else ids[1:]
                self._store["channel"][cid] = self._channel_object(
                    cid, name, purpose, private, creator=ids[min(1, len(ids) - 1)],
                    created=int(created), general=name == "general", members=len(members))
                self._members[cid] = frozenset(members)

    def _user_object(self, uid: str, handle: str, real_name: str, email: str | None,
                     *, is_bot: bool = False) -> Record:
        profile: Record = {
            "avatar_hash": "g" + uid.lower()[:11], "display_name": handle,
            "display_name_normalized": handle, "real_name": real_name,
            "real_name_normalized": real_name, "status_emoji": "", "status_text": "",
            "team": self.team_id,
            **{f"image_{n}": f"https://avatars.slack-edge.com/{uid}_{n}.png"
               for n in (24, 32, 48, 72, 192, 512)},
        }
        if email is not None:
            profile["email"] = email
        if is_bot:
            profile["bot_id"] = self.bot_id
        return {
            "id": uid, "team_id": self.team_id, "name": handle, "deleted": False,
            "color": "9f69e7", "real_name": real_name, "tz": "America/Los_Angeles",
            "tz_label": "Pacific Standard Time", "tz_offset": -28800, "profile": profile,
            "is_admin": False, "is_owner": False, "is_primary_owner": False,
            "is_restricted": False, "is_ultra_restricted": False, "is_bot": is_bot,
            "is_app_user": False, "updated": 1_700_000_000, "has_2fa": False,
        }

    def _channel_object(self, cid: str, name: str, purpose: str, private: bool, *,
                        creator: str, created: int, general: bool = False,
                        members: int = 0, im_user: str | None = None) -> Record:
        if im_user is not None:
            return {"id": cid, "created": created, "is_im": True, "is_org_shared": False,
                    "user": im_user, "is_user_deleted": False, "priority": 0}
        return {
            "id": cid, "name": name, "is_channel": not private, "is_group": private,
            "is_im": False, "is_mpim": False, "is_private": private, "created": created,
            "is_archived": False, "is_general": general, "unlinked": 0,
            "name_normalized": name, "is_shared": False, "is_ext_shared": False,
            "is_org_shared": False, "pending_shared": [], "is_pending_ext_shared": False,
            "is_member": True, "creator": creator, "previous_names": [],
            "num_members": members,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": purpose, "creator": creator if purpose else "", "last_set": created},
        }

    def archive(self, channel: str) -> None:
        """Archive ``channel`` (an id or a name): posting to it then fails with ``is_archived``."""
        with self._lock:
            cid = self._resolve_channel(channel)
            self._store["channel"][cid] = {**self._store["channel"][cid], "is_archived": True}

    def add_message(self, channel: str, user_id: str, text: str, *, at: float) -> str:
        """Seed a message by ``user_id`` in ``channel`` at time ``at`` (no write); returns ``channel_id:ts``."""
        with self._lock:
            cid = self._resolve_channel(channel)
            if user_id not in self._store["user"]:
                raise KeyError(f"slack: no user {user_id!r}")
            value = round(at, 6)
            while any(k == f"{cid}:{value:.6f}" for k in self._store["message"]):
                value = round(value + 0.000001, 6)  # Slack's ts is unique per channel
            ts = f"{value:.6f}"
            self._store["message"][f"{cid}:{ts}"] = {"type": "message", "text": text, "user": user_id,
                                                     "ts": ts, "team": self.team_id}
            return f"{cid}:{ts}"

    def mention_keys(self) -> list[str]:
        """``channel_id:ts`` of every person's message that mentions the bot, oldest first."""
        tag = f"<@{self.bot_user_id}>"
        return [k for k, m in self._store["message"].items()
                if tag in (m.get("text") or "") and m.get("user") != self.bot_user_id]

    def webhook_event(self, key: str, *, rng: Any = None) -> dict[str, Any]:
        """An Events API delivery of ``app_mention`` for message ``channel_id:ts``: ``{"headers", "body"}``.

        The body is Slack's ``event_callback`` envelope (``team_id``,
        ``api_app_id``, ``event`` with ``type: app_mention``, ``user``, ``text``,
        ``ts``, ``channel``, ``event_ts``; ``event_id``, ``event_time``,
        ``authorizations``); a retry by Slack resends the same ``event_id``.  The
        headers carry ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature``:
        ``v0=`` and the HMAC-SHA256 hex digest of ``v0:{timestamp}:{body}`` with
        :data:`SIGNING_SECRET`.  ``KeyError`` names a missing message.
        """
        with self._lock:
            message = self._store["message"].get(key)
            if message is None:
                raise KeyError(f"slack: no message {key!r}; mention_keys() lists the mentions")
            cid = key.partition(":")[0]
            source = rng if rng is not None else self._rng
            event_id = "Ev" + "".join(source.choices(_ID_CHARS, k=10))
            body = {
                "token": "ZZZZZZWSxiZZZ2yIvs3peJ", "team_id": self.team_id, "context_team_id": self.team_id,
                "api_app_id": self.app_id,
                "event": {"type": "app_mention", "user": message["user"], "text": message["text"],
                          "ts": message["ts"], "client_msg_id": str(uuid.UUID(int=source.getrandbits(128),
                                                                              version=4)),
                          "team": self.team_id, "channel": cid, "event_ts": message["ts"]},
                "type": "event_callback", "event_id": event_id, "event_time": int(float(message["ts"])),
                "authorizations": [{"enterprise_id": None, "team_id": self.team_id,
                                    "user_id": self.bot_user_id, "is_bot": True,
                                    "is_enterprise_install": False}],
                "is_ext_shared_channel": False,
                "event_context": "4-" + base64.b64encode(f"app_mention-{event_id}".encode()).decode(),
            }
            raw = json.dumps(body, separators=(",", ":"))
            stamp = str(int(float(message["ts"])) + 1)
            signature = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:{raw}".encode(), hashlib.sha256)
            return {
                "headers": {"Content-Type": "application/json",
                            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                            "X-Slack-Request-Timestamp": stamp,
                            "X-Slack-Signature": "v0=" + signature.hexdigest()},
                "body": json.loads(raw),
            }

    # -- inspection ----------------------------------------------------------------

    def channel_id(self, name: str) -> str:
        """The id of the channel called ``name`` (``#`` optional); ``KeyError`` if none."""
        bare = name.lstrip("#")
        for cid, channel in self._store["channel"].items():
            if channel.get("name") == bare:
                return cid
        raise NotFoundError(f"slack: no channel named {name!r}")

    def messages(self, channel: str) -> list[Mapping[str, Any]]:
        """The messages of ``channel`` (an id or a name), oldest first."""
        cid = self._resolve_channel(channel)
        return [m for key, m in self._store["message"].items() if key.split(":")[0] == cid]

    def people(self) -> list[Mapping[str, Any]]:
        """The workspace's human users (the bot excluded), in seeding order."""
        return [u for u in self._store["user"].values() if not u["is_bot"]]

    # -- errors ----------------------------------------------------------------------

    def error_response(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Response:
        """Slack's answer for ``status``: 429 and 5xx keep their status, 4xx are ``200 {"ok": false}``.

        Slack refuses a call with HTTP 200 and an error code, so an injected
        logical rejection (400, 401, 404, 422...) reads as Slack's own would.
        """
        headers: dict[str, str] = {}
        body = _error_body(status, message)
        if status == 429:
            headers["Retry-After"] = str(int(max(1, retry_after if retry_after is not None else 30)))
            return Response.of_json(429, body, headers)
        if retry_after is not None:
            headers["Retry-After"] = str(int(max(1, retry_after)))
        return Response.of_json(status if status >= 500 else 200, body, headers)

    # -- routing -----------------------------------------------------------------------

    def _routes_table(self) -> Iterable[tuple[str, str, Any]]:
        table = {
            "chat.postMessage": self._post_message,
            "chat.update": self._update_message,
            "conversations.list": self._list_conversations,
            "conversations.history": self._history,
            "users.lookupByEmail": self._lookup_by_email,
            "users.info": self._user_info,
            "auth.test": self._auth_test,
        }
        for method, handler in table.items():
            for verb in ("GET", "POST"):
                yield verb, rf"/api/{re.escape(method)}", handler

    def _serve(self, request: Request, path: str) -> Response:
        found = self._route(request, path)
        if not isinstance(found, tuple):
            return Response.of_json(200 if path.startswith("/api/") else 404,
                                    {"ok": False, "error": "unknown_method"})
        failure = self._scripted_failure(request, path)
        if failure is not None:
            return failure
        handler, _ = found
        try:
            args, token = self._arguments(request)
            actor = self._authenticate(token)
            body: dict[str, Any] = handler(args, actor)
        except _Refused as refused:
            return Response.of_json(200, {"ok": False, "error": refused.code})
        return Response.of_json(200, {"ok": True, **body})

    def _arguments(self, request: Request) -> tuple[dict[str, Any], str | None]:
        """The call's arguments (query, then form or JSON body) and its token."""
        args: dict[str, Any] = dict(request.query)
        token: str | None = None
        auth = request.header("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            token = value.strip()
        ctype = (request.header("Content-Type") or "").lower()
        if request.body:
            if ctype.startswith("application/json"):
                try:
                    data = request.json()
                except (ValueError, UnicodeDecodeError):
                    raise _Refused("invalid_json") from None
                if not isinstance(data, dict):
                    raise _Refused("json_not_object")
                # a JSON body never carries the token: Slack reads it from the header only
                args.update({k: v for k, v in data.items() if k != "token"})
            elif ctype.startswith("application/x-www-form-urlencoded") or not ctype:
                try:
                    args.update(dict(request.form()))
                except (ValueError, UnicodeDecodeError):
                    raise _Refused("invalid_form_data") from None
            elif ctype.startswith("multipart/form-data"):
                raise _Refused("invalid_form_data")
            else:
                raise _Refused("invalid_post_type")
        if token is None and isinstance(args.get("token"), str) and not ctype.startswith(
            "application/json"
        ):
            token = args["token"]
        args.pop("token", None)
        return args, token

    def _authenticate(self, token: str | None) -> str:
        """The user id the token acts as: the bot for ``xoxb-``, the installer for ``xoxp-``."""
        if not token:
            raise _Refused("not_authed")
        if _TOKEN.fullmatch(token) is None:
            raise _Refused("invalid_auth")
        if token.startswith("xoxp-"):
            people = self.people()
            if people:
                return str(people[0]["id"])
        return self.bot_user_id

    # -- helpers ---------------------------------------------------------------------

    def _resolve_channel(self, channel: Any) -> str:
        if not isinstance(channel, str) or not channel.strip():
            raise _Refused("channel_not_found")
        value = channel.strip()
        if value in self._store["channel"]:
            return value
        if value in self._store["user"]:
            return self._im_with(value)
        bare = value.lstrip("#")
        for cid, record in self._store["channel"].items():
            if record.get("name") == bare:
                return cid
        raise _Refused("channel_not_found")

    def _im_with(self, uid: str) -> str:
        for cid, record in self._store["channel"].items():
            if record.get("is_im") and record.get("user") == uid:
                return cid
        cid = "D" + self._slack_id()
        # opening a DM is not an effect the automation asked for: stored, not logged as a write
        self._store["channel"][cid] = self._channel_object(
            cid, "", "", True, creator=self.bot_user_id, created=int(self.now()), im_user=uid)
        self._members[cid] = frozenset({uid, self.bot_user_id})
        return cid

    def _next_ts(self) -> str:
        # Slack's ts is unique per channel and increasing: seconds.microseconds
        value = max(round(self.now(), 6), round(self._last_ts + 0.000001, 6))
        self._last_ts = value
        return f"{value:.6f}"

    @staticmethod
    def _json_arg(args: Mapping[str, Any], name: str, error: str) -> list[Any] | None:
        raw = args.get(name)
        if raw is None or raw == "":
            return None
        value = raw
        if isinstance(raw, str):
            try:
                value = json.loads(raw)
            except ValueError:
                raise _Refused(error) from None
        if not isinstance(value, list):
            raise _Refused(error)
        return value

    def _content(self, args: Mapping[str, Any]) -> tuple[str | None, list[Any] | None, list[Any] | None]:
        text = args.get("text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        blocks = self._json_arg(args, "blocks", "invalid_blocks")
        if blocks is not None and (
            len(blocks) > _MAX_BLOCKS or not all(isinstance(b, dict) and "type" in b for b in blocks)
        ):
            raise _Refused("invalid_blocks")
        attachments = self._json_arg(args, "attachments", "invalid_attachments")
        if attachments is not None and len(attachments) > _MAX_ATTACHMENTS:
            raise _Refused("too_many_attachments")
        if not text and not blocks and not attachments:
            raise _Refused("no_text")
        if text is not None and len(text) > _MAX_TEXT:
            raise _Refused("msg_too_long")
        return text, blocks, attachments

    @staticmethod
    def _limit(args: Mapping[str, Any], default: int, maximum: int) -> int:
        raw = args.get("limit")
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise _Refused("invalid_limit") from None
        if value < 0 or value > maximum:
            raise _Refused("invalid_limit")
        return value or default

    @staticmethod
    def _flag(args: Mapping[str, Any], name: str) -> bool:
        value = args.get(name)
        return value is True or str(value).lower() in ("true", "1")

    # -- methods -----------------------------------------------------------------------

    def _post_message(self, args: Mapping[str, Any], actor: str) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        channel = self._store["channel"][cid]
        if channel.get("is_archived"):
            raise _Refused("is_archived")
        if channel.get("is_private") and actor not in self._members.get(cid, frozenset()):
            # the bot cannot see a private channel it is not in: to it, it does not exist
            raise _Refused("channel_not_found")
        text, blocks, attachments = self._content(args)
        ts = self._next_ts()
        message: Record = {"type": "message", "text": text or "", "user": actor, "ts": ts,
                           "team": self.team_id}
        if actor == self.bot_user_id:
            message.update({"bot_id": self.bot_id, "app_id": self.app_id,
                            "bot_profile": {"id": self.bot_id, "app_id": self.app_id,
                                            "name": "Harness Bot", "deleted": False,
                                            "team_id": self.team_id}})
            if args.get("username"):
                # a custom username makes it a legacy bot_message, as Slack shows it
                message.update({"subtype": "bot_message", "username": str(args["username"])})
        if blocks is not None:
            message["blocks"] = blocks
        if attachments is not None:
            message["attachments"] = [
                {"id": i + 1, **a} if isinstance(a, dict) else a for i, a in enumerate(attachments)
            ]
        thread_ts = args.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            message["parent_user_id"] = actor
        self._store_record("message", f"{cid}:{ts}", message, "create")
        return {"channel": cid, "ts": ts, "message": message}

    def _update_message(self, args: Mapping[str, Any], actor: str) -> dict[str, Any]:
        cid = self._resolve_channel(args.get("channel"))
        ts = args.get("ts")
        if not ts:
            raise _Refused("message_not_found")
        key = f"{cid}:{ts}"
        old = self._store["message"].get(key)
        if old is None:
            raise _Refused("message_not_found")
        if old.get("user") != actor:
            raise _Refused("cant_update_message")
        text, blocks, attachments = self._content(args)
        message: Record = {**old, "text": text if text is not None else old.get("text", ""),
                           "edited": {"user": actor, "ts": self._next_ts()}}
        if blocks is not None:
            message["blocks"] = blocks
        if attachments is not None:
            message["attachments"] = attachments
        self._store_record("message", key, message, "update")
        return {"channel": cid, "ts": old["ts"], "text": message["text"], "message": message}

    def _list_conversations(self, args: Mapping[str, Any], actor: str) -> dict[str, Any]:
        raw_types = str(args.get("types") or "public_channel")
        types = [t.strip() for t in raw_types.split(",") if t.strip()]
        if any(t not in _CHANNEL_TYPES for t in types):
            raise _Refused("invalid_types")
        limit = self._limit(args, 100, 1000)
        exclude_archived = self._flag(args, "exclude_archived")
        rows = []
        for cid, channel in self._store["channel"].items():
            if channel.get("is_im"):
                kind = "im"
            elif channel.get("is_private"):
                kind = "private_channel"
            else:
                kind = "public_channel"
            if kind not in types:
                continue
            member = actor in self._members.get(cid, frozenset())
            if kind != "public_channel" and not member:
                continue
            if exclude_archived and channel.get("is_archived"):
                continue
            rows.append(channel if channel.get("is_im") else {**channel, "is_member": member})
        start = 0
        if args.get("cursor"):
            after = _uncursor("team", str(args["cursor"]))
            ids = [c["id"] for c in rows]
            if after not in ids:
                raise _Refused("invalid_cursor")
            start = ids.index(after)
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        next_cursor = _cursor("team", rows[start + limit]["id"]) if more else ""
        return {"channels": page, "response_metadata": {"next_cursor": next_cursor}}

    def _history(self, args: Mapping[str, Any], actor: str) -> dict[str, Any]:
        # unlike chat.postMessage, conversations.history takes a conversation id only
        cid = str(args.get("channel") or "")
        if cid not in self._store["channel"]:
            raise _Refused("channel_not_found")
        channel = self._store["channel"][cid]
        if actor not in self._members.get(cid, frozenset()):
            if channel.get("is_private"):
                raise _Refused("channel_not_found")
            raise _Refused("not_in_channel")
        limit = self._limit(args, 100, 999)
        inclusive = self._flag(args, "inclusive")
        try:
            oldest = float(args.get("oldest") or 0)
        except (TypeError, ValueError):
            raise _Refused("invalid_ts_oldest") from None
        try:
            latest = float(args["latest"]) if args.get("latest") else float("inf")
        except (TypeError, ValueError):
            raise _Refused("invalid_ts_latest") from None
        rows = [
            m for m in reversed(self.messages(cid))
            if (oldest <= float(m["ts"]) if inclusive else oldest < float(m["ts"]))
            and (float(m["ts"]) <= latest if inclusive else float(m["ts"]) < latest)
            and ("thread_ts" not in m or m["thread_ts"] == m["ts"])
        ]
        start = 0
        if args.get("cursor"):
            after = _uncursor("next_ts", str(args["cursor"]))
            stamps = [m["ts"] for m in rows]
            if after not in stamps:
                raise _Refused("invalid_cursor")
            start = stamps.index(after)
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        return {"messages": page, "has_more": more, "pin_count": 0,
                "response_metadata": {"next_cursor": _cursor("next_ts", rows[start + limit]["ts"])
                                      if more else ""}}

    def _lookup_by_email(self, args: Mapping[str, Any], actor: str) -> dict[str, Any]:
        email = args.get("email")
        if not isinstance(email, str) or not email.strip():
            raise _Refused("invalid_arguments")
        wanted = email.strip().lower()
        for user in self._store["user"].values():
            if str(user["profile"].get("email", "")).lower() == wanted and not user["deleted"]:
                return {"user": user}
        raise _Refused("users_not_found")

    def _user_info(self, args: Mapping[str, Any], actor: str) -> dict[str, Any]:
        user = self._store["user"].get(str(args.get("user") or ""))
        if user is None:
            raise _Refused("user_not_found")
        return {"user": user}

    def _auth_test(self, args: Mapping[str, Any], actor: str) -> dict[str, Any]:
        user = self._store["user"][actor]
        body: dict[str, Any] = {
            "url": f"https://{self._team_name.lower()}.slack.com/", "team": self._team_name,
            "user": user["name"], "team_id": self.team_id, "user_id": actor,
            "is_enterprise_install": False,
        }
        if actor == self.bot_user_id:
            body["bot_id"] = self.bot_id
        return body
