"""Windows agent: owns the event-time interval windows of its groups; exports current figures; serves them.

Observations arrive repartitioned by group (``district:beiyuan``), so every window has one owner and the
city-wide figures are the same with one worker or many.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import orjson

from streams.metrics import (
    INTERVALS_DUPLICATE,
    INTERVALS_LATE,
    WINDOW_COUNT,
    WINDOW_MEAN,
    WINDOW_MET_TARGET,
    WINDOW_P50,
    WINDOW_P90,
)
from vigil.core.city import DistrictType
from vigil.core.contracts import Source
from vigil.dispatch.windows import (
    SIZES,
    Watermarks,
    WindowStats,
    membership,
    parse_key,
    window_key,
    window_start,
)

if TYPE_CHECKING:
    from streams.runtime import Pipeline

RETAIN_S = 3 * 86400  # windows older than this behind the watermark are dropped from the table


def register(pipe: Pipeline) -> None:
    spec = pipe.topics.intervals
    table = pipe.tables["windows"] = pipe.table("interval-windows")
    members = pipe.table("interval-members")  # scope|group|incident/interval -> [seconds, at]
    tz = ZoneInfo(pipe.city.timezone)
    settings = pipe.settings
    urban = {d.id for d in pipe.city.districts if d.type is DistrictType.URBAN}
    rural = {d.id for d in pipe.city.districts if d.type is DistrictType.RURAL}
    marks: dict[int, Watermarks] = {}
    newest: dict[tuple[str, str, str], int] = {}  # (scope, group, window) -> newest window start seen

    def target(interval: str, district: str | None) -> float | None:
        if interval != "response":
            return None
        if district in urban:
            return settings.response_target_urban_s
        if district in rural:
            return settings.response_target_rural_s
        return None

    async def handle(raw: bytes, msg: Any) -> None:
        obs = orjson.loads(raw)
        wm = marks.setdefault(msg.partition, Watermarks(pipe.topics.dispatch.partitions))
        wm.advance(int(obs["p"]), float(obs["w"]))
        scope, group, name = obs["scope"], obs["g"], obs["n"]
        member_key = f"{scope}|{group}|{obs['i']}/{name}"
        record, apply = membership(members.get(member_key), obs["v"], obs["t"], obs["s"])
        if not apply:
            INTERVALS_DUPLICATE.labels(scope).inc()
            return
        for label, size in SIZES.items():
            start = window_start(obs["t"], size, tz)
            if wm.is_late(start + size, settings.window_grace_s):
                INTERVALS_LATE.labels(scope).inc()
                continue
            key = window_key(scope, group, label, start)
            stats = WindowStats.from_dict(table.get(key))
            stats.apply(name, obs["v"], obs["s"], target(name, obs["d"]))
            table.set(key, stats.to_dict(), msg.partition)
            series = (scope, group, label)
            newest[series] = max(newest.get(series, start), start)
        if record is None:
            members.delete(member_key)
        else:
            members.set(member_key, record, msg.partition)

    @pipe.app.agent(pipe.topic(spec), name="windows", concurrency=1)
    async def windows_agent(stream: Any) -> None:
        await pipe.consume("windows", Source.DISPATCH, stream, handle)

    @pipe.timer(2.0)
    async def window_gauges() -> None:
        live = {parse_key(k)[:3]: parse_key(k)[3] for k, _ in table.items()}
        for gauge in (WINDOW_COUNT, WINDOW_MEAN, WINDOW_P50, WINDOW_P90, WINDOW_MET_TARGET):
            gauge.clear()  # groups this worker no longer owns must disappear, not freeze
        for (scope, group, label), start in list(newest.items()):
            if live.get((scope, group, label)) is None:
                continue
            stats = WindowStats.from_dict(table.get(window_key(scope, group, label, start)))
            for name, st in stats.summary().items():
                labels = (name, label, scope, group)
                WINDOW_COUNT.labels(*labels).set(st["count"] or 0)
                WINDOW_MEAN.labels(*labels).set(st["mean"] or math.nan)
                WINDOW_P50.labels(*labels).set(st["p50"] or 0)
                WINDOW_P90.labels(*labels).set(st["p90"] or 0)
                if st["met_target_ratio"] is not None:
                    WINDOW_MET_TARGET.labels(label, scope, group).set(st["met_target_ratio"])

    @pipe.timer(60.0)
    async def expire_windows() -> None:
        horizon = min((m.watermark for m in marks.values()), default=-math.inf) - RETAIN_S
        if horizon == -math.inf:
            return
        for key in [k for k, _ in table.items() if parse_key(k)[3] < horizon]:
            table.delete(key)

    @pipe.app.page("/windows")
    async def windows_page(web: Any, request: Any) -> Any:
        """Every window this worker owns: ?scope=district&window=1h filters."""
        scope, label = request.query.get("scope"), request.query.get("window")
        out = []
        for key, value in table.items():
            s, g, w, start = parse_key(key)
            if (scope and s != scope) or (label and w != label):
                continue
            out.append(
                {
                    "scope": s,
                    "group": g,
                    "window": w,
                    "start": start,
                    "intervals": WindowStats.from_dict(value).summary(),
                }
            )
        return web.json(sorted(out, key=lambda r: (r["scope"], r["group"], r["window"], r["start"])))
