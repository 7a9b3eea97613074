"""Fleet agent: ambulance status per unit, from dispatch events repartitioned by unit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams.outbox import Outbox
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
    # units by home district, so level zero reads a district's units, not the whole fleet's; units the city
    # model does not know (a CAD import) are added as they are seen, and from the table after a rebalance
    units_of: dict[str, set[str]] = {}
    for unit, district in home.items():
        units_of.setdefault(district, set()).add(unit)
    indexed_generation = [-1]

    def handle(raw: bytes, msg: Any, outbox: Outbox) -> None:
        if pipe.app.consumer_generation_id != indexed_generation[0]:  # first event after a rebalance
            for unit, known in unit_table.items():
                units_of.setdefault(known["district"], set()).add(unit)
            indexed_generation[0] = pipe.app.consumer_generation_id
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
        units_of.setdefault(district, set()).add(event.unit)
        at = event.event_time
        states = (s for u in units_of[district] if (s := unit_table.get(u)) is not None)
        holding = level_zero_conditions(district, names.get(district, district), states, at)
        alerts.publish(book.reconcile("district", district, holding, at), outbox)

    @pipe.app.agent(pipe.topic(source_spec), name="fleet", concurrency=1)
    async def fleet_agent(stream: Any) -> None:
        await pipe.consume("fleet", Source.DISPATCH, stream, handle, (unit_table,))
