"""OwnedTable's write order (streams/runtime.py), in process with stand-ins for Faust's table and the outbox:
a durable store is written only once the broker has the batch's output and changelog records, in the order
the batches were flushed, and reads see the writes on their way."""

from __future__ import annotations

import asyncio
from typing import Any

from streams.outbox import Outbox as RealOutbox
from streams.runtime import OwnedTable
from vigil.core.contracts import Topics


class Changelog:
    def get_topic_name(self) -> str:
        return "t-changelog"

    def prepare_key(self, key: str, serializer: Any) -> tuple[bytes, Any]:
        return key.encode(), None

    def prepare_value(self, value: Any, serializer: Any) -> tuple[bytes, Any]:
        return repr(value).encode(), None


class Table:
    """Faust's table as OwnedTable uses it: a store, reads from it, its changelog topic."""

    key_serializer = value_serializer = None

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.changelog_topic = Changelog()

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def items(self) -> list[tuple[str, Any]]:
        return list(self.data.items())


class Outbox(RealOutbox):
    """The real queueing; :meth:`confirm` is the moment the broker confirmed what a flush would send."""

    def __init__(self) -> None:
        super().__init__(app=None)

    def confirm(self) -> None:
        for callback in self.stored:
            callback()


def owned(durable: bool) -> tuple[OwnedTable, Table]:
    table = Table()
    return OwnedTable(table, Topics("t", 4).dispatch, lambda _: {0, 1, 2, 3}, durable), table


def test_a_durable_store_is_written_after_the_broker_has_the_batch_and_reads_see_it_meanwhile() -> None:
    t, table = owned(durable=True)
    t.set("a", 1, 0)
    t.set("b", 2, 1)
    box = Outbox()
    t.flush(box)
    assert [k for _, k, _, _ in box.state] == [b"a", b"b"]  # the changelog records are queued
    assert table.data == {}  # a kill now leaves the store as it was: the batch is read again, output re-sent
    assert (t.get("a"), t.get("b")) == (1, 2) and dict(t.items()) == {"a": 1, "b": 2}
    box.confirm()
    assert table.data == {"a": {"v": 1, "p": 0}, "b": {"v": 2, "p": 1}}
    assert dict(t.items()) == {"a": 1, "b": 2}


def test_batches_reach_the_store_in_flush_order_whichever_is_confirmed_first() -> None:
    t, table = owned(durable=True)
    t.set("a", 1, 0)
    first = Outbox()
    t.flush(first)
    t.delete("a")
    second = Outbox()
    t.flush(second)
    assert t.get("a") is None and dict(t.items()) == {}
    assert second.state == [("t-changelog", b"a", None, 0)]  # the tombstone goes to a's partition
    second.confirm()  # a timer's batch confirmed before the agent's
    assert table.data == {}  # waits for the first
    first.confirm()
    assert table.data == {}  # set, then deleted: in that order


def test_a_memory_store_is_written_at_flush() -> None:
    t, table = owned(durable=False)
    t.set("a", 1, 2)
    box = Outbox()
    t.flush(box)
    assert table.data == {"a": {"v": 1, "p": 2}} and box.stored == []


def test_the_real_outbox_runs_the_callbacks_after_the_sends_are_confirmed() -> None:
    order: list[str] = []

    class Producer:
        async def send(self, topic: str, *args: Any) -> asyncio.Future[None]:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def confirm() -> None:
                order.append(f"acked {topic}")
                future.set_result(None)

            asyncio.get_running_loop().call_later(0.01, confirm)
            return future

    class App:
        producer = Producer()

    async def go() -> None:
        box = RealOutbox(App())
        box.add("output", b"k", b"v")
        box.add("changelog", b"k", b"v", 0, state=True)
        box.once_stored(lambda: order.append("stored"))
        await box.flush()

    asyncio.run(go())
    assert order == ["acked output", "acked changelog", "stored"]
