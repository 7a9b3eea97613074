"""Write every dashboard as Grafana JSON into dashboards/json/<uid>.json, and the city-name recording rules
they and the alerts use into alerting/rules/vigil_city.yml. Deterministic, so the output is committed and
a test checks it is current.

.venv/bin/python -m dashboards.build
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import capacity, command_centre, emergency, epidemic, names
from vigil.core.city import load_city

OUT = Path(__file__).resolve().parent / "json"
DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    command_centre.UID: command_centre.build,
    emergency.UID: emergency.build,
    epidemic.UID: epidemic.build,
    capacity.UID: capacity.build,
}


def model(uid: str) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (a plain dict)."""
    data: dict[str, Any] = json.loads(json.dumps(DASHBOARDS[uid]().build(), cls=JSONEncoder))
    panels = [p for top in data["panels"] for p in (top, *top.get("panels", []))]
    for n, panel in enumerate(panels, start=1):
        panel["id"] = n  # the SDK leaves ids at 0; Grafana needs them unique for links and edits
    data["id"] = None  # Grafana assigns its own; the uid is the stable identity
    data.setdefault("annotations", {}).setdefault("list", [])  # Grafana adds its built-in one to the list
    data["version"] = 1
    return data


def render(uid: str) -> str:
    return json.dumps(model(uid), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    wanted = {OUT / f"{uid}.json" for uid in DASHBOARDS}
    for stale in sorted(set(OUT.glob("*.json")) - wanted):
        stale.unlink()
        print(f"removed {stale}")
    for uid in DASHBOARDS:
        (OUT / f"{uid}.json").write_text(render(uid), encoding="utf-8")
        print(OUT / f"{uid}.json")
    names.RULES_FILE.write_text(names.render_rules(load_city()), encoding="utf-8")
    print(names.RULES_FILE)


if __name__ == "__main__":
    main()
