"""Fleet agent: ambulance status per unit, from dispatch events repartitioned by unit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vigil.core.contracts import DispatchEvent, Source, decode
from vigil.dispatch import fleet
from vigil.dispatch.alerts import level_zero_conditions

if TYPE_CHECKING:
    from streams.runtime import Pipeline


def register(pipe: Pipeline) -> None:
    source_spec = pipe.topics.fleet
    unit_table = pipe.tables["units"] = pipe.table("units")
    home = pipe.city.unit_district
    names = {d.id: d.name_zh for d in pipe.city.districts}
    assert pipe.alerts is not None
    alerts = pipe.alerts
    book = alerts.book("fleet")

    async def handle(raw: bytes, msg: Any) -> None:
        # already validated and de-duplicated by the dispatch agent; a decode error here is a bug and is
        # dead-lettered by Pipeline.consume
        event = decode(raw, Source.DISPATCH)
        assert isinstance(event, DispatchEvent) and event.unit is not None
        state, update = fleet.apply(unit_table.get(event.unit), event, home.get(event.unit))
        # an older event than the status held is normal here, not late input: the unit's events come from
        # several dispatch partitions (one per incident) and interleave on this topic; last writer wins
        if update is not fleet.Update.APPLIED:
            return
        unit_table.set(event.unit, state, msg.partition)
        district = state["district"]
        at = event.event_time
        holding = level_zero_conditions(district, names.get(district, district), unit_table.values(), at)
        await alerts.publish(book.reconcile("district", district, holding, at))

    @pipe.app.agent(pipe.topic(source_spec), name="fleet", concurrency=1)
    async def fleet_agent(stream: Any) -> None:
        await pipe.consume("fleet", Source.DISPATCH, stream, handle)
