"""Write every dashboard as Grafana JSON into dashboards/json/ (deterministic, so the files can be diffed).

.venv/bin/python -m dashboards.build
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import capacity, command_centre, emergency, epidemic

OUT = Path(__file__).resolve().parent / "json"
DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    command_centre.UID: command_centre.build,
    emergency.UID: emergency.build,
    epidemic.UID: epidemic.build,
    capacity.UID: capacity.build,
}


def render(uid: str) -> str:
    model = json.loads(json.dumps(DASHBOARDS[uid]().build(), cls=JSONEncoder))
    for n, panel in enumerate(model["panels"], start=1):
        panel["id"] = n  # the SDK leaves ids at 0; Grafana needs them unique for links and edits
    return json.dumps(model, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for uid in DASHBOARDS:
        (OUT / f"{uid}.json").write_text(render(uid), encoding="utf-8")
        print(OUT / f"{uid}.json")


if __name__ == "__main__":
    main()
