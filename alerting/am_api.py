"""A small client of Alertmanager's v2 API for the operator's terminal: alerts, silences, expiry.

**Several Alertmanagers (HA).** Every request goes to the first configured instance that answers, in the
order of ``VIGIL_ALERTMANAGER_URLS``; the others are asked only when one does not answer (refused, timed
out, unresolvable). That is enough because an HA cluster shares its state: the relay and Prometheus post every
alert to every instance, and silences created or expired on one are gossiped to the others within about a
second. An instance that *answers* with an error is not skipped — it is reachable and said no, and asking
another would hide that. One caveat: a silence posted to an instance that times out after storing it, then
posted again to the next, exists twice; both end at the same time.

Stdlib only (``urllib``): the CLI must not drag in an HTTP library for a handful of requests.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vigil.core.errors import VigilError

SETTING = "VIGIL_ALERTMANAGER_URLS"
SETTING_EXAMPLE = f"{SETTING}=http://alertmanager-1:9093,http://alertmanager-2:9093"
# A label name, then the operator (two-character ones first, so `a!=b` is not `a!` = `b`), then the value.
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)(.*)$", re.DOTALL)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class AlertmanagerError(VigilError, RuntimeError):
    """Alertmanager said no, or could not be asked; the message names the URL and the fix."""


class AlertmanagerUnreachable(AlertmanagerError):
    """No configured Alertmanager answered."""


class SilenceNotFound(AlertmanagerError):
    """No silence has that ID (or ID prefix)."""


@dataclass(frozen=True)
class Matcher:
    """One label matcher of a silence or an alert filter: ``name=value``, ``!=``, ``=~`` or ``!~``."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``alertname=StalledIncident``, ``district=~"bei.*"``, ``severity!=info``; quotes are optional."""
        m = _MATCHER.match(text)
        if not m:
            raise ValueError(
                f"{text!r} is not a label matcher; write NAME=VALUE, NAME!=VALUE, NAME=~REGEX or "
                'NAME!~REGEX, e.g. alertname=StalledIncident or district=~"bei.*"'
            )
        name, op, value = m.group(1), m.group(2), m.group(3).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        # A regex is checked by Alertmanager (Go RE2, anchored), which names what is wrong with it.
        return cls(name, value, is_regex="~" in op, is_equal=not op.startswith("!"))

    def __str__(self) -> str:
        op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
        return f"{self.name}{op[(self.is_regex, self.is_equal)]}{json.dumps(self.value, ensure_ascii=False)}"

    def to_api(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal}


def _reason(exc: BaseException) -> str:
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    return str(reason) or type(reason).__name__


def _message(body: bytes) -> str:
    """Alertmanager's error text (a JSON string, ``{"message": …}``, or plain text) on one line."""
    text = body.decode(errors="replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    if isinstance(parsed, dict):
        parsed = parsed.get("message") or parsed
    return " ".join(str(parsed).split())[:300] or "(no message)"


class AlertmanagerClient:
    """Alertmanager's v2 API on the first of ``urls`` that answers (see the module docstring)."""

    def __init__(self, urls: Sequence[str], timeout: float = 5.0) -> None:
        if not urls:
            raise AlertmanagerError(f"no Alertmanager configured; set {SETTING_EXAMPLE}")
        self.urls = [u.rstrip("/") for u in urls]
        self.timeout = timeout
        self.answered: str | None = None  # the base URL that answered the last request

    # -- alerts ----------------------------------------------------------------------------------------------
    def alerts(
        self,
        *,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        unprocessed: bool = True,
        matchers: Sequence[Matcher] = (),
    ) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts``: alerts not yet resolved, in Alertmanager's JSON form. The flags keep (True)
        or drop (False) alerts in that state; ``matchers`` must all match the alert's labels."""
        query: list[tuple[str, str]] = [
            ("active", _flag(active)),
            ("silenced", _flag(silenced)),
            ("inhibited", _flag(inhibited)),
            ("unprocessed", _flag(unprocessed)),
            *(("filter", str(m)) for m in matchers),
        ]
        return _list(self._json("GET", "/api/v2/alerts", query))

    # -- silences --------------------------------------------------------------------------------------------
    def silences(self, matchers: Sequence[Matcher] = ()) -> list[dict[str, Any]]:
        """``GET /api/v2/silences``: every silence the instance knows, expired ones included."""
        return _list(self._json("GET", "/api/v2/silences", [("filter", str(m)) for m in matchers]))

    def silence(self, silence_id: str) -> dict[str, Any]:
        """One silence by full ID or by a unique prefix of it (as the silences table shows them)."""
        if _UUID.match(silence_id):
            status, body = self._call("GET", f"/api/v2/silence/{silence_id}")
            if status == 404:
                raise self._not_found(silence_id)
            found = self._check(status, body, f"/api/v2/silence/{silence_id}")
            if not isinstance(found, dict):
                raise AlertmanagerError(f"{self.answered}: unexpected answer for silence {silence_id}")
            return found
        matching = [s for s in self.silences() if str(s.get("id", "")).startswith(silence_id)]
        if not matching or len(silence_id) < 4:
            raise self._not_found(silence_id)
        in_force = [s for s in matching if (s.get("status") or {}).get("state") != "expired"]
        if len(in_force) == 1:  # an old expired silence sharing the prefix is not the one meant
            return in_force[0]
        if len(matching) > 1:
            raise AlertmanagerError(
                f"silence ID {silence_id!r} is ambiguous ({len(matching)} silences start with it); "
                "give more of it, as listed by `vigil alerts silences`"
            )
        return matching[0]

    def create_silence(
        self,
        matchers: Sequence[Matcher],
        ends_at: datetime,
        created_by: str,
        comment: str,
        starts_at: datetime | None = None,
    ) -> str:
        """``POST /api/v2/silences``; returns the new silence's ID. Alertmanager checks the matchers (at least
        one must not match the empty string) and says why it refuses."""
        body = {
            "matchers": [m.to_api() for m in matchers],
            "startsAt": _iso(starts_at or datetime.now(UTC)),
            "endsAt": _iso(ends_at),
            "createdBy": created_by,
            "comment": comment,
        }
        answer = self._json("POST", "/api/v2/silences", body=body, doing="create the silence")
        if not isinstance(answer, dict) or not answer.get("silenceID"):
            raise AlertmanagerError(f"{self.answered} created no silence: {answer!r}")
        return str(answer["silenceID"])

    def expire_silence(self, silence_id: str) -> dict[str, Any]:
        """``DELETE /api/v2/silence/{id}`` of the silence with that ID (or unique prefix); returns it as it
        was before. Expiring an expired silence changes nothing (Alertmanager answers 200)."""
        found = self.silence(silence_id)
        full = str(found["id"])
        status, body = self._call("DELETE", f"/api/v2/silence/{full}")
        if status == 404 or (status >= 400 and "not found" in _message(body)):
            raise self._not_found(silence_id)
        self._check(status, body, f"/api/v2/silence/{full}", "expire the silence")
        return found

    # -- plumbing --------------------------------------------------------------------------------------------
    def _not_found(self, silence_id: str) -> SilenceNotFound:
        return SilenceNotFound(
            f"no silence with ID {silence_id!r} on {self.answered}; `vigil alerts silences` lists them"
        )

    def _json(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]] = (),
        body: object = None,
        doing: str | None = None,
    ) -> Any:
        status, raw = self._call(method, path, query, body)
        return self._check(status, raw, path, doing)

    def _check(self, status: int, raw: bytes, path: str, doing: str | None = None) -> Any:
        if status >= 400:
            what = f"could not {doing}" if doing else f"answered {status} to {path}"
            hint = f"; is it an Alertmanager (v0.16 or newer)? Check {SETTING}" if status == 404 else ""
            raise AlertmanagerError(f"Alertmanager {self.answered} {what}: {_message(raw)}{hint}")
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise AlertmanagerError(
                f"{self.answered}{path} did not answer JSON; is it an Alertmanager? Check {SETTING}"
            ) from None

    def _call(
        self, method: str, path: str, query: Sequence[tuple[str, str]] = (), body: object = None
    ) -> tuple[int, bytes]:
        """(status, body) from the first instance that answers; HTTP error statuses are answers too."""
        suffix = path + (f"?{urllib.parse.urlencode(list(query))}" if query else "")
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        failures = []
        for base in self.urls:
            request = urllib.request.Request(
                base + suffix,
                data=data,
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                method=method,
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                    self.answered = base
                    return resp.status, resp.read()
            except urllib.error.HTTPError as exc:
                self.answered = base
                return exc.code, exc.read()
            except (OSError, ValueError) as exc:  # refused, timed out, unresolvable, malformed URL
                failures.append(f"{base} ({_reason(exc)})")
        raise AlertmanagerUnreachable(
            f"no Alertmanager answered: {', '.join(failures)}; start one, or point {SETTING} at yours, "
            f"e.g. {SETTING_EXAMPLE}"
        )


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("silence times must be timezone-aware")
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _list(answer: Any) -> list[dict[str, Any]]:
    return [item for item in answer if isinstance(item, dict)] if isinstance(answer, list) else []
