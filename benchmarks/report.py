"""What a run leaves behind: the results table on stdout and the JSON file, each with the machine it ran on
(figures from a 2-core laptop and from a server are not the same claim)."""

from __future__ import annotations

import os
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

from benchmarks.core import Row
from vigil.platform.kafka_access import KafkaTarget


def _proc_field(path: str, name: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        pass
    return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(kafka_version: str, bootstrap: KafkaTarget, local_broker: bool) -> dict[str, Any]:
    """CPU, cores, RAM, OS, Python, Kafka and the stream libraries of this run."""
    mem_kb = _proc_field("/proc/meminfo", "MemTotal")
    return {
        "cpu": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "ram_gib": round(int(mem_kb.split()[0]) / 1024**2, 1) if mem_kb else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "kafka": kafka_version
        if local_broker
        else f"external cluster (local broker would be {kafka_version})",
        "bootstrap": str(bootstrap),
        "faust_streaming": _version("faust-streaming"),
        "aiokafka": _version("aiokafka"),
        "orjson": _version("orjson"),
    }


def _measured(row: Row) -> str:
    if row.value is None:
        return "—"
    value = f"{row.value:,.4g}" if row.unit == "ratio" else f"{row.value:,}"
    return value if row.unit == "ratio" else f"{value} {row.unit}"


def _met(row: Row) -> str:
    if row.failed:
        return "FAILED"
    return {True: "yes", False: "no", None: ""}[row.met]


def table(rows: list[Row]) -> str:
    """The results as an aligned text table (row, what, measured, target, met), then any notes."""
    lines = [("row", "what", "measured", "target", "met")]
    lines += [(r.key, r.name, _measured(r), r.target, _met(r)) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(5)]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {r.key}: {r.note}" for r in rows if r.note]
    return "\n".join(out + (["", "notes:", *notes] if notes else []))


def machine_line(m: dict[str, Any]) -> str:
    return (
        f"machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM; Python {m['python']}, "
        f"Kafka {m['kafka']}, faust-streaming {m['faust_streaming']}, aiokafka {m['aiokafka']}"
    )


def write_json(path: Path, rows: list[Row], machine_info: dict[str, Any], run: dict[str, Any]) -> None:
    document = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "ok": not any(r.failed for r in rows),
        "machine": machine_info,
        "run": run,
        "rows": [asdict(r) for r in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
