"""Interval observations: what the dispatch agent sends to the owner of a window group.

One observation adds (+1) or withdraws (-1) one incident's interval in one group. It carries the newest event
time of the dispatch partition it came from, so the owner can keep a watermark per source partition. On the
wire it is compact JSON; this module is the only place that builds or reads that form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Observation:
    incident: str
    interval: str
    seconds: float
    at: float  # event time (unix s) of the stage that completed the interval: picks the windows
    sign: int  # +1 add, -1 withdraw
    scope: str  # city, district, station or priority
    group: str  # the group within the scope, e.g. a district id
    district: str | None  # the incident's district: its type sets the response target
    partition: int  # dispatch partition the incident lives on
    watermark: float  # newest event time of that partition when this was sent

    @property
    def key(self) -> bytes:
        """Partition key: one owner per window group."""
        return f"{self.scope}:{self.group}".encode()

    @property
    def member_key(self) -> str:
        """Key of what this group currently counts for this incident's interval."""
        return f"{self.scope}|{self.group}|{self.incident}/{self.interval}"


def encode(obs: Observation) -> bytes:
    return orjson.dumps(
        {
            "i": obs.incident,
            "n": obs.interval,
            "v": obs.seconds,
            "t": obs.at,
            "s": obs.sign,
            "scope": obs.scope,
            "g": obs.group,
            "d": obs.district,
            "p": obs.partition,
            "w": obs.watermark,
        }
    )


def decode(raw: bytes) -> Observation:
    data: dict[str, Any] = orjson.loads(raw)
    return Observation(
        incident=data["i"],
        interval=data["n"],
        seconds=float(data["v"]),
        at=float(data["t"]),
        sign=int(data["s"]),
        scope=data["scope"],
        group=data["g"],
        district=data["d"],
        partition=int(data["p"]),
        watermark=float(data["w"]),
    )
