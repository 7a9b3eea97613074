"""The gateway's targets file: which chat robots each Alertmanager webhook path is delivered to.

The file is YAML and holds no secret: a robot's webhook URL carries its access token (DingTalk
``access_token``, WeCom ``key``, Feishu's hook id), so the URL and the signing secret are read from an
environment variable (``url_env``, ``secret_env``) or a file (``url_file``, ``secret_file``) that the file
names. Everything is read and checked at start, so a robot that cannot be reached for want of a secret is
reported when the gateway starts, not at 3 a.m. when the first page fails. Every field is documented in
``alerting/gateway.example.yml``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alerting.gateway import PATHS, Retry, Target
from vigil.core.errors import VigilError, field_problems

Path_ = Literal["dispatch", "epidemiology", "capacity", "platform", "drill"]  # = alerting.gateway.PATHS
SIGNED = ("dingtalk", "feishu")  # platforms with a signing secret (WeCom robots have none)
KEYWORDED = ("dingtalk", "feishu")  # platforms whose robots may require a keyword
INLINE_SECRETS = ("url", "webhook", "secret", "token", "access_token", "key", "sign")
EXAMPLE = "alerting/gateway.example.yml"


class TargetsError(VigilError, ValueError):
    """The targets file, or a secret it names, is wrong; the message names the field and the fix."""


class TargetSpec(BaseModel):
    """One robot as the file describes it: where its URL and secret are, never the values."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    platform: Literal["dingtalk", "wecom", "feishu"]
    url_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    url_file: Path | None = None
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    secret_file: Path | None = None
    keyword: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secret(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in INLINE_SECRETS:
                if key in data:
                    raise ValueError(
                        f"{key}: secrets are never written in the targets file (a robot's URL carries its "
                        f"access token); name an environment variable with {key.split('_')[0]}_env or a "
                        f"file with {key.split('_')[0]}_file instead"
                        if key in ("url", "secret")
                        else f"{key}: not a field; the robot's URL (with its token) comes from url_env or "
                        "url_file, its signing secret from secret_env or secret_file"
                    )
        return data

    @model_validator(mode="after")
    def _sources(self) -> TargetSpec:
        if (self.url_env is None) == (self.url_file is None):
            raise ValueError(
                "url_env: give exactly one of url_env (an environment variable holding the robot's webhook "
                "URL) or url_file (a file holding it)"
            )
        if self.secret_env is not None and self.secret_file is not None:
            raise ValueError("secret_env: give secret_env or secret_file, not both")
        if self.platform not in SIGNED and (self.secret_env or self.secret_file):
            raise ValueError(
                f"secret_env: {self.platform} group robots are not signed (the key in the URL is the "
                "credential); remove secret_env / secret_file"
            )
        if self.platform not in KEYWORDED and self.keyword:
            raise ValueError(f"keyword: {self.platform} group robots have no keyword setting; remove it")
        return self


class RetrySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    attempts: int = Field(default=Retry.attempts, ge=1, le=10)
    first_wait_s: float = Field(default=Retry.first_wait_s, gt=0, le=60)


class TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    link: str | None = Field(default=None, pattern=r"^https?://")
    timezone: str | None = None
    retry: RetrySpec = Field(default_factory=RetrySpec)
    paths: dict[Path_, list[TargetSpec]] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"{value!r} is not a time zone of the tz database; write e.g. Asia/Shanghai"
                ) from None
        return value


assert get_args(Path_) == PATHS


@dataclass(frozen=True)
class GatewayConfig:
    """The targets file with its secrets read: what :class:`alerting.gateway.Gateway` is built from."""

    routes: dict[str, list[Target]]
    retry: Retry
    link: str | None = None
    timezone: str | None = None


def _read_secret(where: str, env: str | None, file: Path | None, environ: Mapping[str, str]) -> str:
    """The value of the variable or file (stripped of surrounding whitespace); the value is never put in
    a message."""
    if env is not None:
        value = environ.get(env, "").strip()
        if not value:
            raise TargetsError(f"{where}_env: the environment variable {env} is not set or empty; set it")
        return value
    assert file is not None
    try:
        value = file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TargetsError(
            f"{where}_file: {file} cannot be read ({exc.strerror or exc}); create it, readable by the "
            "gateway's user"
        ) from None
    if not value:
        raise TargetsError(f"{where}_file: {file} is empty; write the value into it")
    return value


def resolve(spec: TargetsFile, environ: Mapping[str, str], source: str) -> GatewayConfig:
    routes: dict[str, list[Target]] = {}
    names: set[str] = set()
    for path, specs in spec.paths.items():
        for i, t in enumerate(specs):
            field = f"{source}: paths.{path}[{i}]"
            name = t.name or (f"{path}-{t.platform}" if len(specs) == 1 else f"{path}-{t.platform}-{i + 1}")
            if name in names:
                raise TargetsError(f"{field}.name: {name!r} is used twice; give each target its own name")
            names.add(name)
            url = _read_secret(f"{field}.url", t.url_env, t.url_file, environ)
            if not url.startswith(("http://", "https://")) or any(c.isspace() or ord(c) < 32 for c in url):
                raise TargetsError(
                    f"{field}.url_{'env' if t.url_env else 'file'}: the value is not an http(s) URL (without "
                    "spaces); it must be the robot's whole webhook URL, e.g. "
                    "https://oapi.dingtalk.com/robot/send?access_token=…"
                )
            secret = (
                _read_secret(f"{field}.secret", t.secret_env, t.secret_file, environ)
                if t.secret_env or t.secret_file
                else None
            )
            routes.setdefault(path, []).append(Target(name, t.platform, url, secret, t.keyword))
    retry = Retry(spec.retry.attempts, spec.retry.first_wait_s)
    return GatewayConfig(routes, retry, spec.link, spec.timezone)


def load_targets(path: Path, environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Read and check ``path`` and every secret it names; :class:`TargetsError` says what and how to fix."""
    source = f"targets file {path}"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TargetsError(
            f"{source} cannot be read ({exc.strerror or exc}); pass an existing YAML file to --targets "
            f"or VIGIL_GATEWAY_TARGETS_FILE (see {EXAMPLE})"
        ) from None
    except yaml.YAMLError as exc:  # only the problem and where: PyYAML's own text quotes the line
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise TargetsError(
            f"{source} is not valid YAML: {getattr(exc, 'problem', None) or 'cannot be parsed'}{at}"
        ) from None
    try:
        spec = TargetsFile.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        # values are left out on purpose: a misspelt field may hold a token
        problems = "; ".join(f"{p.path or '(top level)'}: {p.message}" for p in field_problems(exc))
        raise TargetsError(f"{source}: {problems} (every field is documented in {EXAMPLE})") from None
    return resolve(spec, os.environ if environ is None else environ, source)
