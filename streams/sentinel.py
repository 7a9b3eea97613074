"""Sentinel agent: fever-clinic reports per site (detectors arrive with the surveillance issue)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams.metrics import EVENTS_CONSUMED, EVENTS_DUPLICATE
from vigil.contracts import SentinelReport, Source
from vigil.dedup import remember

if TYPE_CHECKING:
    from streams.app import Pipeline

REPORT_IDS_CAP = 400  # more than a year of daily report ids per site


def register(pipe: Pipeline) -> None:
    source_spec = pipe.topics.sentinel
    site_table = pipe.tables["sites"] = pipe.table("sites", source_spec)

    async def handle(raw: bytes, msg: Any) -> None:
        report = await pipe.decode_or_reject(Source.SENTINEL, raw, msg)
        if report is None:
            return
        assert isinstance(report, SentinelReport)
        state = site_table.get(report.site) or {
            "site": report.site,
            "district": report.district,
            "report_ids": [],
            "latest": None,
        }
        ids, duplicate = remember(state["report_ids"], report.report_id, REPORT_IDS_CAP)
        if duplicate:
            EVENTS_DUPLICATE.labels(Source.SENTINEL).inc()
            return
        site_table.set(
            report.site, {**state, "report_ids": ids, "latest": report.model_dump(mode="json")}, msg.partition
        )
        EVENTS_CONSUMED.labels(Source.SENTINEL, report.period).inc()
        pipe.observe(Source.SENTINEL, report.submitted_at.timestamp())

    @pipe.app.agent(pipe.topic(source_spec), name="sentinel", concurrency=1)
    async def sentinel(stream: Any) -> None:
        await pipe.consume("sentinel", Source.SENTINEL, stream, handle)
