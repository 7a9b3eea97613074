"""Windows agent: owns the event-time interval windows of its groups; exports current figures; serves them.

Observations arrive repartitioned by group (``district:beiyuan``), so every window has one owner and the
city-wide figures are the same with one worker or many.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from streams.metrics import (
    INTERVALS_DUPLICATE,
    INTERVALS_LATE,
    RESPONSE_BREACHED,
    RESPONSE_TARGET,
    ROLLING_MEAN,
    ROLLING_P50,
    ROLLING_P90,
    ROLLING_RESPONSES,
    WINDOW_COUNT,
    WINDOW_MEAN,
    WINDOW_MET_TARGET,
    WINDOW_P50,
    WINDOW_P90,
)
from streams.outbox import Outbox
from vigil.core.contracts import Observation, Source
from vigil.dispatch import window_figures
from vigil.dispatch.compliance import QUARTER, CompliancePolicy, event_now
from vigil.dispatch.intervals import Interval
from vigil.dispatch.window_owner import ResponseTargets, WindowOwner
from vigil.dispatch.windows import Position, WindowStats, parse_key, window_key

if TYPE_CHECKING:
    from streams.runtime import Pipeline

# Every observation changes three window sizes in its group; held for half a second, a busy group's windows
# are written once per half second instead of once per observation. Off the alert path, and the gauges
# refresh every 2 s, so nobody sees the wait. A message already carries a dispatch batch's observations for
# this partition (up to a few thousand while replaying): a few messages a batch keep each batch short, so
# timers, web pages and the other agents are never held up for long.
WINDOWS_WITHIN_S = 0.5
WINDOWS_BATCH_MAX = 10


def register(pipe: Pipeline) -> None:
    spec = pipe.topics.intervals
    table = pipe.tables["windows"] = pipe.table("interval-windows")
    members = pipe.table("interval-members")  # scope|group|incident/interval -> [seconds, at]
    owner = WindowOwner(
        ZoneInfo(pipe.city.timezone),
        pipe.settings.window_grace_s,
        ResponseTargets.from_city(pipe.city, pipe.settings),
        pipe.topics.dispatch.partitions,
    )
    policy = CompliancePolicy.from_settings(pipe.settings)

    # this batch's windows, parsed once and written back once (with their partition)
    loaded: dict[str, tuple[WindowStats, int]] = {}

    def handle(raw: bytes, msg: Any, outbox: Outbox) -> None:
        for index, obs in enumerate(Observation.decode_batch(raw)):
            place(obs, msg.partition, (msg.offset, index))

    def place(obs: Observation, partition: int, position: Position) -> None:
        def window(key: str) -> WindowStats:
            held = loaded.get(key)
            return held[0] if held is not None else WindowStats.from_dict(table.get(key))

        taken = owner.take(obs, partition, position, members.get(obs.member_key), window)
        if taken.duplicate:
            INTERVALS_DUPLICATE.labels(obs.scope).inc()
            return
        if taken.late:
            INTERVALS_LATE.labels(obs.scope).inc(taken.late)
        for key, stats in taken.windows.items():
            loaded[key] = (stats, partition)
        if taken.write:
            members.set(obs.member_key, taken.member, partition)

    def before_flush(outbox: Outbox) -> None:
        for key, (stats, partition) in loaded.items():
            table.set(key, stats.to_dict(), partition)
        loaded.clear()

    @pipe.app.agent(pipe.topic(spec), name="windows", concurrency=1)
    async def windows_agent(stream: Any) -> None:
        await pipe.consume(
            "windows",
            Source.DISPATCH,
            stream,
            handle,
            (table, members),
            before_flush,
            within=WINDOWS_WITHIN_S,
        )

    def compliance_gauges(keys: list[str]) -> None:
        """Each owned district's response figures over the rolling window, its target and the verdict: what
        the ResponseTargetBreached rule pages on. A district's windows all live in one partition, so the
        worker that owns one of them owns them all."""
        for gauge in (
            ROLLING_RESPONSES,
            ROLLING_MEAN,
            ROLLING_P50,
            ROLLING_P90,
            RESPONSE_TARGET,
            RESPONSE_BREACHED,
        ):
            gauge.clear()
        quarters = [
            (group, start)
            for scope, group, size, start in map(parse_key, keys)
            if scope == "district" and size == QUARTER
        ]
        now = event_now(pipe.watermarks.get(Source.DISPATCH), owner.marks.values(), (s for _, s in quarters))
        if now is None:
            return
        starts = policy.starts(now, owner.tz)
        for district in sorted({group for group, _ in quarters}):
            windows = [
                WindowStats.from_dict(table.get(window_key("district", district, QUARTER, s))) for s in starts
            ]
            c = policy.judge(district, windows, owner.targets.of(Interval.RESPONSE, district))
            ROLLING_RESPONSES.labels(district, policy.label).set(c.calls)
            if c.calls:
                ROLLING_MEAN.labels(district, policy.label).set(c.mean)
                ROLLING_P50.labels(district, policy.label).set(c.p50)
                ROLLING_P90.labels(district, policy.label).set(c.p90)
            if c.target is not None:
                RESPONSE_TARGET.labels(district).set(c.target)
            RESPONSE_BREACHED.labels(district, policy.label).set(int(c.breached))

    @pipe.timer(2.0)
    async def window_gauges() -> None:
        keys = [k for k, _ in table.items()]
        current = owner.current(keys)
        for gauge in (WINDOW_COUNT, WINDOW_MEAN, WINDOW_P50, WINDOW_P90, WINDOW_MET_TARGET):
            gauge.clear()  # groups this worker no longer owns must disappear, not freeze
        for key in current:
            for f in window_figures.figures(key, WindowStats.from_dict(table.get(key))):
                WINDOW_COUNT.labels(*f.labels).set(f.count)
                WINDOW_MEAN.labels(*f.labels).set(f.mean)
                WINDOW_P50.labels(*f.labels).set(f.p50)
                WINDOW_P90.labels(*f.labels).set(f.p90)
                if f.met_target_ratio is not None:
                    WINDOW_MET_TARGET.labels(f.window, f.scope, f.group).set(f.met_target_ratio)
        compliance_gauges(keys)

    @pipe.timer(60.0)
    async def expire_windows() -> None:
        async with pipe.turn("windows"):  # never inside a batch's flush
            for key in owner.expired(k for k, _ in table.items()):
                table.delete(key)
            outbox = Outbox(pipe.app)
            table.flush(outbox)
            await outbox.flush()

    @pipe.app.page("/windows")
    async def windows_page(web: Any, request: Any) -> Any:
        """Every window this worker owns: ?scope=district&window=1h filters."""
        query = request.query
        return web.json(window_figures.rows(table.items(), query.get("scope"), query.get("window")))
