"""Fleet agent: ambulance status per unit, from dispatch events repartitioned by unit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vigil.core.contracts import DispatchEvent, Source, decode
from vigil.dispatch import alerts as dispatch_alerts
from vigil.dispatch import fleet

if TYPE_CHECKING:
    from streams.runtime import Pipeline


def register(pipe: Pipeline) -> None:
    source_spec = pipe.topics.fleet
    unit_table = pipe.tables["units"] = pipe.table("units")
    home = pipe.city.unit_district
    names = {d.id: d.name_zh for d in pipe.city.districts}

    async def handle(raw: bytes, msg: Any) -> None:
        # already validated and de-duplicated by the dispatch agent; a decode error here is a bug and is
        # dead-lettered by Pipeline.consume
        event = decode(raw, Source.DISPATCH)
        assert isinstance(event, DispatchEvent) and event.unit is not None
        state, changed = fleet.apply(unit_table.get(event.unit), event, home.get(event.unit))
        if not changed:
            return
        unit_table.set(event.unit, state, msg.partition)
        district = state["district"]
        available = sum(
            1 for u in unit_table.values() if u["district"] == district and u["status"] == "available"
        )
        holding = (
            []
            if available
            else [dispatch_alerts.level_zero(district, names.get(district, district), event.event_time)]
        )
        assert pipe.alerts is not None
        book = pipe.alerts.book("fleet")
        await pipe.alerts.publish(book.reconcile("district", district, holding, event.event_time))

    @pipe.app.agent(pipe.topic(source_spec), name="fleet", concurrency=1)
    async def fleet_agent(stream: Any) -> None:
        await pipe.consume("fleet", Source.DISPATCH, stream, handle)
