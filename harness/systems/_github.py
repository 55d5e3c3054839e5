"""A stateful fake of GitHub's REST API: repositories, issues, comments, labels, issue search.

Serves ``api.github.com``:

* ``GET /repos/{owner}/{repo}``, ``GET /user``;
* ``POST``/``GET /repos/{owner}/{repo}/issues`` (``state``, ``labels``, ``sort``,
  ``direction``, ``since``, ``per_page``/``page`` with a ``Link`` header),
  ``GET``/``PATCH /repos/{owner}/{repo}/issues/{number}`` (title, body, state,
  state_reason, labels, assignees);
* ``GET``/``POST /repos/{owner}/{repo}/issues/{number}/comments``;
* ``GET``/``POST /repos/{owner}/{repo}/labels``, ``GET .../labels/{name}``,
  ``GET``/``POST``/``PUT /repos/{owner}/{repo}/issues/{number}/labels``,
  ``DELETE .../issues/{number}/labels/{name}``;
* ``GET /search/issues?q=`` (``repo:``, ``is:issue``, ``is:open|closed``,
  ``state:``, ``label:``, ``in:title|body``, words and quoted phrases).

Webhooks: :meth:`GitHub.webhook_event` builds an ``issues`` delivery (headers
and body, signed), the ``github.issues.opened`` trigger's event.

As GitHub does: ``Authorization: Bearer TOKEN`` or ``token TOKEN``; a bad token
is ``401 Bad credentials``; errors are ``{"message", "documentation_url",
"status"}`` with ``errors: [{"resource", "code", "field"}]`` on a ``422
Validation Failed``; unknown labels named on an issue are created; every
answer carries ``X-RateLimit-Limit``/``-Remaining``/``-Reset``/``-Used``/
``-Resource``.  A rate limit is ``403`` (primary, ``X-RateLimit-Remaining: 0``)
or ``429`` with ``Retry-After`` (secondary).

Not modelled: pull requests, milestones (naming one is a 422), reactions,
locking, timelines, ETags/conditional requests, the search index's lag (search
is immediate here, minutes late on GitHub), search's 1,000-result cap.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote, urlencode

from harness._shared.wire import Request, Response
from harness.errors import InvalidValueError
from harness.systems._base import FakeSystem, Record, iso8601
from harness.systems._descriptor import ID_NUMERIC, ErrorShape, RecordShape, SystemDescriptor

__all__ = ["WEBHOOK_SECRET", "GitHub"]

#: the secret the fake signs its webhooks with (``X-Hub-Signature-256``)
WEBHOOK_SECRET = "harness-github-webhook-secret"

_API = "https://api.github.com"
_DOCS = "https://docs.github.com/rest"
_TOKEN = re.compile(r"(gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,}|[0-9a-f]{40})")
_COLOR = re.compile(r"[0-9a-fA-F]{6}")
_RATE_LIMIT = 5000
_DEFAULT_LABELS = (
    ("bug", "d73a4a", "Something isn't working"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
)
_ISSUE_SYSTEM_FIELDS = frozenset({
    "id", "node_id", "url", "repository_url", "labels_url", "comments_url", "events_url",
    "html_url", "number", "user", "created_at", "updated_at", "closed_at", "closed_by",
    "author_association", "comments", "timeline_url", "locked", "active_lock_reason",
})


def _error_body(status: int, message: str | None) -> dict[str, Any]:
    text = message or {
        400: "Problems parsing JSON", 401: "Bad credentials", 403: "Forbidden",
        404: "Not Found", 409: "Conflict", 410: "Gone", 422: "Validation Failed",
        429: "You have exceeded a secondary rate limit. Please wait a few minutes before you "
             "try again.",
        500: "Server Error", 502: "Server Error", 503: "Service Unavailable",
    }.get(status, "Server Error" if status >= 500 else "Bad Request")
    body: dict[str, Any] = {"message": text, "documentation_url": _DOCS, "status": str(status)}
    if status == 422:
        body["errors"] = [{"resource": "Issue", "code": "invalid", "field": "body"}]
    return body


def _rejected_field(body: Any) -> str | None:
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            field = errors[0].get("field")
            return str(field) if field else None
    return None


class _Fail(Exception):
    def __init__(self, status: int, message: str, *, errors: list[dict[str, Any]] | None = None,
                 doc: str = _DOCS) -> None:
        super().__init__(message)
        self.status, self.message, self.errors, self.doc = status, message, errors, doc


def _invalid(resource: str, field: str, code: str = "invalid", doc: str = _DOCS, **extra: Any) -> _Fail:
    return _Fail(422, "Validation Failed", doc=doc,
                 errors=[{"resource": resource, "code": code, "field": field, **extra}])


class GitHub(FakeSystem):
    """Fake GitHub REST API.  Kinds: ``repository``, ``issue``, ``comment``, ``label``.

    Issues are keyed ``owner/repo#number``, labels ``owner/repo:name``.
    Seeded with :meth:`add_repository`; the authenticated user is ``login``.
    """

    name = "github"
    default_hosts = ("api.github.com",)
    kinds = ("repository", "issue", "comment", "label")
    descriptor = SystemDescriptor(
        name="github",
        hosts=("api.github.com",),
        base_url_env="GITHUB_API_URL",  # what GitHub Actions sets
        id_shapes=(ID_NUMERIC,),
        encoding="json",
        errors=ErrorShape(body=_error_body, declined=422, invalid=422,
                          rejected_field=_rejected_field),
        idempotency=None,
        records=(
            RecordShape(endpoint="POST /repos/{owner}/{repo}/issues", kind="issue",
                        system_fields=_ISSUE_SYSTEM_FIELDS),
            RecordShape(endpoint="GET /repos/{owner}/{repo}/issues/{id}", kind="issue",
                        system_fields=_ISSUE_SYSTEM_FIELDS),
            RecordShape(endpoint="PATCH /repos/{owner}/{repo}/issues/{id}", kind="issue",
                        system_fields=_ISSUE_SYSTEM_FIELDS),
            RecordShape(endpoint="GET /repos/{owner}/{repo}/issues", kind="issue", at="[]",
                        system_fields=_ISSUE_SYSTEM_FIELDS),
            RecordShape(endpoint="GET /search/issues", kind="issue", at="items[]",
                        system_fields=_ISSUE_SYSTEM_FIELDS),
            RecordShape(endpoint="POST /repos/{owner}/{repo}/issues/{id}/comments",
                        kind="comment", system_fields=frozenset({"id", "node_id", "url",
                                                                 "html_url", "issue_url", "user",
                                                                 "created_at", "updated_at"})),
        ),
        docs="https://docs.github.com/rest/issues",
    )

    def __init__(
        self,
        extra_hosts: Sequence[str] = (),
        *,
        rate_limit: tuple[int, float] | None = None,
        seed: int = 0,
        login: str = "acme-bot",
    ) -> None:
        self.login = login
        super().__init__(extra_hosts, rate_limit=rate_limit, seed=seed)

    # -- state -----------------------------------------------------------------

    def _init_state(self) -> None:
        super()._init_state()
        self._next_id = 1_000_000_001
        self._numbers: dict[str, int] = {}
        self._comment_ids: dict[str, tuple[str, ...]] = {}
        self._used = 0
        self._users: dict[str, Record] = {}
        self._user(self.login, "Bot")

    def _counter_state(self) -> Any:
        return self._next_id, self._used

    def _restore_counters(self, state: Any) -> None:
        self._next_id, self._used = state

    def _extra_state(self) -> Any:
        return dict(self._numbers), dict(self._comment_ids), dict(self._users)

    def _restore_extra(self, state: Any) -> None:
        numbers, comments, users = state
        self._numbers, self._comment_ids, self._users = dict(numbers), dict(comments), dict(users)

    def _user(self, login: str, kind: str = "User") -> Record:
        found = self._users.get(login)
        if found is not None:
            return found
        uid = 1000 + len(self._users) * 7 + 1
        user: Record = {
            "login": login, "id": uid, "node_id": f"MDQ6VXNlcj{uid}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
            "url": f"{_API}/users/{login}", "html_url": f"https://github.com/{login}",
            "followers_url": f"{_API}/users/{login}/followers",
            "repos_url": f"{_API}/users/{login}/repos", "type": kind, "site_admin": False,
        }
        self._users[login] = user
        return user

    # -- seeding ------------------------------------------------------------------

    def add_repository(
        self,
        full_name: str,
        *,
        collaborators: Sequence[str] = (),
        issues: Sequence[Mapping[str, Any]] = (),
        created: float = 1_700_000_000.0,
        private: bool = True,
    ) -> Mapping[str, Any]:
        """Add repository ``owner/repo`` with GitHub's default labels and ``issues`` (no writes).

        Each issue is ``{"title", "body", "labels": [...], "state", "user"}``;
        ``collaborators`` (plus the authenticated user) may be assigned.
        """
        owner, _, repo = full_name.partition("/")
        if not owner or not repo or "/" in repo:
            raise InvalidValueError(f"github: repository must be 'owner/repo': {full_name!r}")
        with self._lock:
            rid = self._numeric_id()
            now = iso8601(created, millis=False)
            owner_obj = self._user(owner, "Organization")
            record: Record = {
                "id": rid, "node_id": f"R_kgDO{rid}", "name": repo, "full_name": full_name,
                "private": private, "owner": owner_obj, "html_url": f"https://github.com/{full_name}",
                "description": None, "fork": False, "url": f"{_API}/repos/{full_name}",
                "issues_url": f"{_API}/repos/{full_name}/issues{{/number}}",
                "labels_url": f"{_API}/repos/{full_name}/labels{{/name}}",
                "created_at": now, "updated_at": now, "pushed_at": now, "homepage": None,
                "size": 0, "stargazers_count": 0, "watchers_count": 0, "language": None,
                "has_issues": True, "has_projects": True, "has_wiki": False, "archived": False,
                "disabled": False, "open_issues_count": 0, "default_branch": "main",
                "visibility": "private" if private else "public", "forks_count": 0,
                "permissions": {"admin": False, "maintain": False, "push": True, "triage": True,
                                "pull": True},
                "collaborators": sorted({self.login, *collaborators}),
            }
            for login in record["collaborators"]:
                self._user(login)
            self._store["repository"][full_name] = record
            self._numbers[full_name] = 0
            for name, color, description in _DEFAULT_LABELS:
                self._store["label"][f"{full_name}:{name}"] = self._label_object(
                    full_name, name, color, description, default=True)
            for spec in issues:
                labels = []
                for name in spec.get("labels", ()):
                    label = self._find_label(full_name, name)
                    if label is None:
                        label = self._label_object(full_name, name, "ededed", None)
                        self._store["label"][f"{full_name}:{name}"] = label
                    labels.append(label)
                issue = self._new_issue(full_name, {**spec, "_labels": labels},
                                        self._user(str(spec.get("user", owner))), created)
                self._store["issue"][f"{full_name}#{issue['number']}"] = issue
            return record

    def _label_object(self, repo: str, name: str, color: str, description: str | None,
                      *, default: bool = False) -> Record:
        lid = self._numeric_id()
        return {"id": lid, "node_id": f"LA_kwDO{lid}",
                "url": f"{_API}/repos/{repo}/labels/{quote(name)}", "name": name,
                "description": description, "color": color.lower(), "default": default}

    # -- inspection -------------------------------------------------------------------

    def issues(self, full_name: str) -> list[Mapping[str, Any]]:
        """Every issue of ``owner/repo``, oldest first."""
        prefix = f"{full_name}#"
        return [i for k, i in self._store["issue"].items() if k.startswith(prefix)]

    def comments(self, full_name: str, number: int) -> list[Mapping[str, Any]]:
        """The comments on issue ``number`` of ``owner/repo``, oldest first."""
        return [self._store["comment"][c] for c in self._comment_ids.get(f"{full_name}#{number}", ())]

    def repositories(self) -> list[str]:
        """The full names of the seeded repositories."""
        return list(self._store["repository"])

    def issue_keys(self, *, state: str | None = "open") -> list[str]:
        """``owner/repo#number`` of every issue (or those in ``state``), oldest first."""
        return [k for k, i in self._store["issue"].items() if state is None or i["state"] == state]

    # -- webhooks ---------------------------------------------------------------------

    def webhook_event(self, issue_key: str, *, action: str = "opened", rng: Any = None) -> dict[str, Any]:
        """An ``issues`` webhook delivery about issue ``owner/repo#number``: ``{"headers", "body"}``.

        The headers are GitHub's (``X-GitHub-Event: issues``, ``X-GitHub-Delivery``
        (a GUID, the same when the delivery is redelivered), ``X-GitHub-Hook-ID``,
        ``X-GitHub-Hook-Installation-Target-Type``/``-ID``, ``X-Hub-Signature-256``:
        ``sha256=`` and the HMAC-SHA256 hex digest of the body with
        :data:`WEBHOOK_SECRET`); the body is ``{"action", "issue", "repository",
        "sender"}``.  ``KeyError`` names a missing issue.
        """
        if action not in ("opened", "edited", "closed", "reopened", "labeled"):
            raise ValueError(f"github.webhook_event: unsupported 'action' {action!r}; expected opened, "
                             "edited, closed, reopened or labeled")
        with self._lock:
            issue = self._store["issue"].get(issue_key)
            if issue is None:
                raise KeyError(f"github: no issue {issue_key!r}; issue_keys() lists them")
            repo = self._store["repository"][issue_key.partition("#")[0]]
            body = json.loads(json.dumps({
                "action": action, "issue": issue,
                # what the API answers for a repository, without the fake's own bookkeeping
                "repository": {k: v for k, v in repo.items() if k not in ("collaborators", "permissions")},
                "sender": issue["user"],
            }))
            raw = json.dumps(body, separators=(",", ":")).encode()
            rand = rng.getrandbits if rng is not None else self._rng.getrandbits
            return {
                "headers": {
                    "User-Agent": "GitHub-Hookshot/a8f36b1",
                    "X-GitHub-Event": "issues",
                    "X-GitHub-Delivery": str(uuid.UUID(int=rand(128), version=4)),
                    "X-GitHub-Hook-ID": str(400_000_000 + repo["id"] % 1_000_000),
                    "X-GitHub-Hook-Installation-Target-Type": "repository",
                    "X-GitHub-Hook-Installation-Target-ID": str(repo["id"]),
                    "X-Hub-Signature-256": "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), raw,
                                                                hashlib.sha256).hexdigest(),
                    "Content-Type": "application/json",
                },
                "body": body,
            }

    # -- errors ------------------------------------------------------------------------

    def _rate_headers(self) -> dict[str, str]:
        reset = (int(self.now()) // 3600 + 1) * 3600
        return {"X-RateLimit-Limit": str(_RATE_LIMIT),
                "X-RateLimit-Remaining": str(max(0, _RATE_LIMIT - self._used)),
                "X-RateLimit-Reset": str(reset), "X-RateLimit-Used": str(self._used),
                "X-RateLimit-Resource": "core", "X-GitHub-Api-Version-Selected": "2022-11-28",
                "X-GitHub-Request-Id": f"F4KE:{self._used:04X}:{reset:X}"}

    def error_response(
        self, status: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Response:
        headers = self._rate_headers()
        if status == 429 or retry_after is not None:
            headers["Retry-After"] = str(int(max(1, retry_after if retry_after is not None else 60)))
        if status == 403 and message is None:
            headers["X-RateLimit-Remaining"] = "0"
            message = "API rate limit exceeded for user ID 1001."
        return Response.of_json(status, _error_body(status, message), headers)

    def _fail(self, fail: _Fail) -> Response:
        body: dict[str, Any] = {"message": fail.message, "documentation_url": fail.doc,
                                "status": str(fail.status)}
        if fail.errors is not None:
            body["errors"] = fail.errors
        return Response.of_json(fail.status, body, self._rate_headers())

    # -- routing -------------------------------------------------------------------------

    def _routes_table(self) -> Iterable[tuple[str, str, Any]]:
        repo = r"/repos/([^/]+/[^/]+)"
        return (
            ("GET", r"/user", self._get_user),
            ("GET", r"/search/issues", self._search),
            ("GET", repo, self._get_repo),
            ("POST", repo + r"/issues", self._create_issue),
            ("GET", repo + r"/issues", self._list_issues),
            ("GET", repo + r"/issues/(\d+)", self._get_issue),
            ("PATCH", repo + r"/issues/(\d+)", self._update_issue),
            ("GET", repo + r"/issues/(\d+)/comments", self._list_comments),
            ("POST", repo + r"/issues/(\d+)/comments", self._create_comment),
            ("GET", repo + r"/issues/(\d+)/labels", self._issue_labels),
            ("POST", repo + r"/issues/(\d+)/labels", self._add_labels),
            ("PUT", repo + r"/issues/(\d+)/labels", self._set_labels),
            ("DELETE", repo + r"/issues/(\d+)/labels/([^/]+)", self._remove_label),
            ("GET", repo + r"/labels", self._list_labels),
            ("POST", repo + r"/labels", self._create_label),
            ("GET", repo + r"/labels/([^/]+)", self._get_label),
        )

    def _serve(self, request: Request, path: str) -> Response:
        path = path.rstrip("/") or "/"
        auth = request.header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "token") or _TOKEN.fullmatch(token.strip()) is None:
            return Response.of_json(401, {"message": "Bad credentials" if auth else
                                          "Requires authentication", "documentation_url": _DOCS,
                                          "status": "401"})
        self._used += 1
        found = self._route(request, path)
        if not isinstance(found, tuple):
            return self._fail(_Fail(404, "Not Found", doc=_DOCS))
        failure = self._scripted_failure(request, path)
        if failure is not None:
            return failure
        handler, match = found
        try:
            groups = [unquote(g) for g in match.groups()]
            if groups and "/" in groups[0] and groups[0] not in self._store["repository"]:
                raise _Fail(404, "Not Found", doc=f"{_DOCS}/repos/repos#get-a-repository")
            status, payload, extra = handler(request, *groups)
        except _Fail as fail:
            return self._fail(fail)
        headers = {**self._rate_headers(), **extra}
        return Response.of_json(status, payload, headers)

    def _body(self, request: Request) -> Any:
        if not request.body:
            return {}
        try:
            return request.json()
        except (ValueError, UnicodeDecodeError):
            raise _Fail(400, "Problems parsing JSON") from None

    def _object_body(self, request: Request) -> dict[str, Any]:
        body = self._body(request)
        if not isinstance(body, dict):
            raise _Fail(400, "Problems parsing JSON")
        return body

    # -- users, repos -----------------------------------------------------------------

    def _get_user(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        return 200, {**self._users[self.login], "name": "Acme automation", "email": None}, {}

    def _get_repo(self, request: Request, repo: str) -> tuple[int, Any, dict[str, str]]:
        record = dict(self._store["repository"][repo])
        record["open_issues_count"] = sum(1 for i in self.issues(repo) if i["state"] == "open")
        record.pop("collaborators", None)
        return 200, record, {}

    # -- issues ------------------------------------------------------------------------

    def _resolve_labels(self, repo: str, raw: Any, doc: str) -> list[Record]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise _invalid("Issue", "labels", doc=doc)
        out: list[Record] = []
        for item in raw:
            name = item.get("name") if isinstance(item, dict) else item
            if not isinstance(name, str) or not name.strip():
                raise _invalid("Label", "name", doc=doc)
            label = self._find_label(repo, name)
            if label is None:
                # GitHub creates a label named on an issue that does not exist yet
                label = self._label_object(repo, name.strip(), "ededed", None)
                self._store_record("label", f"{repo}:{label['name']}", label, "create")
            if all(x["id"] != label["id"] for x in out):
                out.append(label)
        return out

    def _find_label(self, repo: str, name: str) -> Record | None:
        wanted = name.strip().lower()
        prefix = f"{repo}:"
        for key, label in self._store["label"].items():
            if key.startswith(prefix) and label["name"].lower() == wanted:
                return label
        return None

    def _assignees(self, repo: str, raw: Any, doc: str) -> list[Record]:
        if raw is None:
            return []
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            raise _invalid("Issue", "assignees", doc=doc)
        allowed = self._store["repository"][repo]["collaborators"]
        out = []
        for login in raw:
            if login not in allowed:
                raise _invalid("Issue", "assignees", value=login, doc=doc)
            out.append(self._user(str(login)))
        return out

    def _new_issue(self, repo: str, data: dict[str, Any], user: Record, at: float) -> Record:
        number = self._numbers[repo] + 1
        self._numbers[repo] = number
        iid = self._numeric_id()
        url = f"{_API}/repos/{repo}/issues/{number}"
        now = iso8601(at, millis=False)
        labels = data.get("_labels", [])
        assignees = data.get("_assignees", [])
        state = data.get("state", "open")
        return {
            "id": iid, "node_id": f"I_kwDO{iid}", "url": url,
            "repository_url": f"{_API}/repos/{repo}", "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments", "events_url": f"{url}/events",
            "html_url": f"https://github.com/{repo}/issues/{number}", "number": number,
            "state": state, "state_reason": "completed" if state == "closed" else None,
            "title": data.get("title", ""), "body": data.get("body"), "user": user,
            "labels": labels, "assignee": assignees[0] if assignees else None,
            "assignees": assignees, "milestone": None, "locked": False,
            "active_lock_reason": None, "comments": 0, "closed_at": now if state == "closed" else None,
            "created_at": now, "updated_at": now, "closed_by": user if state == "closed" else None,
            "author_association": "MEMBER", "timeline_url": f"{url}/timeline",
        }

    def _create_issue(self, request: Request, repo: str) -> tuple[int, Any, dict[str, str]]:
        doc = f"{_DOCS}/issues/issues#create-an-issue"
        data = self._object_body(request)
        title = data.get("title")
        if title is None or (isinstance(title, str) and not title.strip()):
            raise _invalid("Issue", "title", "missing_field", doc=doc)
        if isinstance(title, int | float) and not isinstance(title, bool):
            title = str(title)  # GitHub accepts a number as a title
        if not isinstance(title, str):
            raise _invalid("Issue", "title", doc=doc)
        body = data.get("body")
        if body is not None and not isinstance(body, str):
            raise _invalid("Issue", "body", doc=doc)
        if data.get("milestone") is not None:
            raise _invalid("Issue", "milestone", doc=doc, value=data["milestone"])
        assignees = self._assignees(repo, data.get("assignees", data.get("assignee")), doc)
        labels = self._resolve_labels(repo, data.get("labels"), doc)
        issue = self._new_issue(repo, {"title": title, "body": body, "_labels": labels,
                                       "_assignees": assignees}, self._users[self.login], self.now())
        self._store_record("issue", f"{repo}#{issue['number']}", issue, "create")
        return 201, issue, {"Location": issue["url"]}

    def _issue(self, repo: str, number: str) -> Record:
        issue = self._store["issue"].get(f"{repo}#{number}")
        if issue is None:
            raise _Fail(404, "Not Found", doc=f"{_DOCS}/issues/issues#get-an-issue")
        return issue

    def _get_issue(self, request: Request, repo: str, number: str) -> tuple[int, Any, dict[str, str]]:
        return 200, self._issue(repo, number), {}

    def _update_issue(self, request: Request, repo: str, number: str) -> tuple[int, Any, dict[str, str]]:
        doc = f"{_DOCS}/issues/issues#update-an-issue"
        old = self._issue(repo, number)
        data = self._object_body(request)
        issue = dict(old)
        if "title" in data:
            if not isinstance(data["title"], str) or not data["title"].strip():
                raise _invalid("Issue", "title", "missing_field" if not data["title"] else "invalid",
                               doc=doc)
            issue["title"] = data["title"]
        if "body" in data:
            if data["body"] is not None and not isinstance(data["body"], str):
                raise _invalid("Issue", "body", doc=doc)
            issue["body"] = data["body"]
        if "state" in data:
            if data["state"] not in ("open", "closed"):
                raise _invalid("Issue", "state", doc=doc, value=data["state"])
            issue["state"] = data["state"]
        reason = data.get("state_reason")
        if reason is not None and reason not in ("completed", "not_planned", "reopened"):
            raise _invalid("Issue", "state_reason", doc=doc, value=reason)
        now = iso8601(self.now(), millis=False)
        if issue["state"] == "closed" and old["state"] != "closed":
            issue.update(closed_at=now, closed_by=self._users[self.login],
                         state_reason=reason or "completed")
        elif issue["state"] == "open" and old["state"] == "closed":
            issue.update(closed_at=None, closed_by=None, state_reason=reason or "reopened")
        elif reason is not None:
            issue["state_reason"] = reason
        if "labels" in data:
            issue["labels"] = self._resolve_labels(repo, data["labels"], doc)
        if "assignees" in data or "assignee" in data:
            people = self._assignees(repo, data.get("assignees", data.get("assignee")), doc)
            issue["assignees"], issue["assignee"] = people, people[0] if people else None
        if "milestone" in data and data["milestone"] is not None:
            raise _invalid("Issue", "milestone", doc=doc, value=data["milestone"])
        issue["updated_at"] = now
        self._store_record("issue", f"{repo}#{number}", issue, "update")
        return 200, issue, {}

    def _page(self, request: Request, rows: list[Any]) -> tuple[list[Any], dict[str, str]]:
        query = dict(request.query)
        try:
            per_page = int(query.get("per_page", "30"))
            page = int(query.get("page", "1"))
        except ValueError:
            raise _invalid("Issue", "per_page") from None
        per_page = max(1, min(per_page, 100))
        page = max(page, 1)
        chunk = rows[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(rows) // per_page))
        extra = {k: v for k, v in query.items() if k not in ("page", "per_page")}
        base = f"{_API}{request.path}"

        def link(n: int, rel: str) -> str:
            return f'<{base}?{urlencode({**extra, "per_page": per_page, "page": n})}>; rel="{rel}"'

        links = []
        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        return chunk, ({"Link": ", ".join(links)} if links else {})

    def _list_issues(self, request: Request, repo: str) -> tuple[int, Any, dict[str, str]]:
        doc = f"{_DOCS}/issues/issues#list-repository-issues"
        query = dict(request.query)
        state = query.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise _invalid("Issue", "state", doc=doc, value=state)
        rows = [i for i in self.issues(repo) if state == "all" or i["state"] == state]
        if query.get("labels"):
            wanted = {n.strip().lower() for n in query["labels"].split(",") if n.strip()}
            rows = [i for i in rows if wanted <= {lb["name"].lower() for lb in i["labels"]}]
        if query.get("since"):
            rows = [i for i in rows if i["updated_at"] >= query["since"]]
        sort = query.get("sort", "created")
        if sort not in ("created", "updated", "comments"):
            raise _invalid("Issue", "sort", doc=doc, value=sort)
        direction = query.get("direction", "desc")
        key = {"created": "number", "updated": "updated_at", "comments": "comments"}[sort]
        rows.sort(key=lambda i: (i[key], i["number"]), reverse=direction != "asc")
        chunk, headers = self._page(request, rows)
        return 200, chunk, headers

    # -- comments -----------------------------------------------------------------------

    def _list_comments(self, request: Request, repo: str, number: str) -> tuple[int, Any, dict[str, str]]:
        self._issue(repo, number)
        chunk, headers = self._page(request, self.comments(repo, int(number)))
        return 200, chunk, headers

    def _create_comment(self, request: Request, repo: str, number: str) -> tuple[int, Any, dict[str, str]]:
        doc = f"{_DOCS}/issues/comments#create-an-issue-comment"
        issue = self._issue(repo, number)
        data = self._object_body(request)
        body = data.get("body")
        if not isinstance(body, str) or not body.strip():
            raise _invalid("IssueComment", "body", "missing_field" if not body else "invalid", doc=doc)
        cid = self._numeric_id()
        now = iso8601(self.now(), millis=False)
        comment: Record = {
            "id": cid, "node_id": f"IC_kwDO{cid}", "url": f"{_API}/repos/{repo}/issues/comments/{cid}",
            "html_url": f"{issue['html_url']}#issuecomment-{cid}", "body": body,
            "user": self._users[self.login], "created_at": now, "updated_at": now,
            "issue_url": issue["url"], "author_association": "MEMBER",
        }
        self._store_record("comment", str(cid), comment, "create")
        key = f"{repo}#{number}"
        self._comment_ids[key] = (*self._comment_ids.get(key, ()), str(cid))
        self._store_record("issue", key, {**issue, "comments": issue["comments"] + 1,
                                          "updated_at": now}, "update")
        return 201, comment, {"Location": comment["url"]}

    # -- labels -------------------------------------------------------------------------

    def _list_labels(self, request: Request, repo: str) -> tuple[int, Any, dict[str, str]]:
        prefix = f"{repo}:"
        rows = [lb for k, lb in self._store["label"].items() if k.startswith(prefix)]
        chunk, headers = self._page(request, rows)
        return 200, chunk, headers

    def _get_label(self, request: Request, repo: str, name: str) -> tuple[int, Any, dict[str, str]]:
        label = self._find_label(repo, name)
        if label is None:
            raise _Fail(404, "Not Found", doc=f"{_DOCS}/issues/labels#get-a-label")
        return 200, label, {}

    def _create_label(self, request: Request, repo: str) -> tuple[int, Any, dict[str, str]]:
        doc = f"{_DOCS}/issues/labels#create-a-label"
        data = self._object_body(request)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _invalid("Label", "name", "missing_field", doc=doc)
        if self._find_label(repo, name) is not None:
            raise _invalid("Label", "name", "already_exists", doc=doc)
        color = str(data.get("color") or "ededed").lstrip("#")
        if _COLOR.fullmatch(color) is None:
            raise _invalid("Label", "color", doc=doc)
        description = data.get("description")
        label = self._label_object(repo, name.strip(), color,
                                   description if isinstance(description, str) else None)
        self._store_record("label", f"{repo}:{label['name']}", label, "create")
        return 201, label, {"Location": label["url"]}

    def _issue_labels(self, request: Request, repo: str, number: str) -> tuple[int, Any, dict[str, str]]:
        return 200, self._issue(repo, number)["labels"], {}

    def _label_names(self, request: Request) -> list[Any]:
        body = self._body(request)
        if isinstance(body, dict):
            body = body.get("labels")
        if not isinstance(body, list):
            raise _invalid("Label", "labels", "missing_field")
        return body

    def _add_labels(self, request: Request, repo: str, number: str) -> tuple[int, Any, dict[str, str]]:
        issue = self._issue(repo, number)
        added = self._resolve_labels(repo, self._label_names(request), _DOCS)
        labels = list(issue["labels"]) + [lb for lb in added
                                          if all(lb["id"] != x["id"] for x in issue["labels"])]
        return self._relabel(repo, number, issue, labels)

    def _set_labels(self, request: Request, repo: str, number: str) -> tuple[int, Any, dict[str, str]]:
        issue = self._issue(repo, number)
        labels = self._resolve_labels(repo, self._label_names(request), _DOCS)
        return self._relabel(repo, number, issue, labels)

    def _remove_label(self, request: Request, repo: str, number: str, name: str) -> tuple[int, Any, dict[str, str]]:
        issue = self._issue(repo, number)
        labels = [lb for lb in issue["labels"] if lb["name"].lower() != name.lower()]
        if len(labels) == len(issue["labels"]):
            raise _Fail(404, "Label does not exist",
                        doc=f"{_DOCS}/issues/labels#remove-a-label-from-an-issue")
        return self._relabel(repo, number, issue, labels)

    def _relabel(self, repo: str, number: str, issue: Record, labels: list[Record]) -> tuple[int, Any, dict[str, str]]:
        if [lb["id"] for lb in labels] != [lb["id"] for lb in issue["labels"]]:
            updated = {**issue, "labels": labels, "updated_at": iso8601(self.now(), millis=False)}
            self._store_record("issue", f"{repo}#{number}", updated, "update")
        return 200, labels, {}

    # -- search -------------------------------------------------------------------------

    def _search(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        query = dict(request.query).get("q", "")
        if not query.strip():
            raise _invalid("Search", "q", "missing")
        terms = re.findall(r'(-?[\w.]+:"[^"]*"|-?[\w.]+:\S+|"[^"]*"|\S+)', query)
        repos: list[str] = []
        checks: list[Any] = []
        fields = ("title", "body")
        words: list[str] = []
        for term in terms:
            key, sep, value = term.partition(":")
            value = value.strip('"')
            if sep and key == "repo":
                repos.append(value)
            elif sep and (key == "state" or (key == "is" and value in ("open", "closed"))):
                checks.append(lambda i, v=value: i["state"] == v)
            elif sep and key == "is" and value in ("issue", "pr", "pull-request"):
                if value != "issue":
                    checks.append(lambda i: False)  # no pull requests here
            elif sep and key == "label":
                checks.append(lambda i, v=value.lower(): any(lb["name"].lower() == v
                                                               for lb in i["labels"]))
            elif sep and key == "in":
                fields = tuple(f for f in value.split(",") if f in ("title", "body")) or fields
            elif sep and key in ("author", "assignee", "sort", "type"):
                continue
            else:
                words.append(term.strip('"').lower())
        pool = [i for repo in (repos or self.repositories()) for i in self.issues(repo)]

        def text_match(issue: Mapping[str, Any]) -> bool:
            hay = " ".join(str(issue.get(f) or "") for f in fields).lower()
            return all(w in hay for w in words)

        rows = [i for i in pool if all(c(i) for c in checks) and text_match(i)]
        rows.sort(key=lambda i: i["number"], reverse=True)
        chunk, headers = self._page(request, rows)
        return 200, {"total_count": len(rows), "incomplete_results": False,
                     "items": [{**i, "score": 1.0} for i in chunk]}, headers
