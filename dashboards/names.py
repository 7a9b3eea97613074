"""Chinese and English names of the city's districts and hospitals, as Prometheus recording rules.

Metrics carry short ids (``district="beiyuan"``); people read names (北苑镇). The names come from the city
file and are published as two info series that alerts and dashboards join on:

    vigil:district_info{district="beiyuan", name_zh="北苑镇", name_en="Beiyuan"} 1
    vigil:hospital_info{hospital="people1", name_zh="市人民医院", name_en="City People's Hospital"} 1

Alert annotations look the name up with a template ``query`` and fall back to the id, and dashboard queries
use :func:`with_names`, so a district missing from the file is still shown (by its id), never dropped.

.venv/bin/python -m dashboards.names [--city FILE] [--output FILE]   (default: the default city, into
alerting/rules/vigil_city.yml; ``python -m dashboards.build`` writes it too)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from vigil.core.city import City, load_city

RULES_FILE = Path(__file__).resolve().parent.parent / "alerting" / "rules" / "vigil_city.yml"
DISTRICT_INFO = "vigil:district_info"
HOSPITAL_INFO = "vigil:hospital_info"
GROUP = "vigil-city-names"


def render_rules(city: City, source: str = "vigil/core/cities/default.yaml") -> str:
    """The recording-rule file for ``city`` (deterministic: same city, same bytes)."""
    rules: list[dict[str, object]] = [
        {
            "record": DISTRICT_INFO,
            "expr": "vector(1)",
            "labels": {"district": d.id, "name_zh": d.name_zh, "name_en": d.name_en},
        }
        for d in sorted(city.districts, key=lambda d: d.id)
    ]
    rules += [
        {
            "record": HOSPITAL_INFO,
            "expr": "vector(1)",
            "labels": {"hospital": h.id, "name_zh": h.name_zh, "name_en": h.name_en},
        }
        for h in sorted(city.hospitals, key=lambda h: h.id)
    ]
    body = yaml.safe_dump(
        {"groups": [{"name": GROUP, "rules": rules}]}, allow_unicode=True, sort_keys=False, width=110
    )
    header = (
        f"# Generated from {source} ({city.name_zh} / {city.name_en}) by `python -m dashboards.names`;\n"
        "# do not edit by hand. District and hospital names for alert annotations and dashboard legends.\n"
    )
    return header + body


def with_names(expr: str, by: str) -> str:
    """``expr`` with ``name_zh``/``name_en`` labels joined on by ``by`` (district or hospital).

    A series whose id has no name keeps its id as the name, so a legend of ``{{name_zh}}`` never hides it.
    """
    info = {"district": DISTRICT_INFO, "hospital": HOSPITAL_INFO}[by]
    fallback = f'label_replace({expr}, "name_zh", "$1", "{by}", "(.*)")'
    fallback = f'label_replace({fallback}, "name_en", "$1", "{by}", "(.*)")'
    return f"({expr}) * on ({by}) group_left (name_zh, name_en) {info} or on ({by}) {fallback}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m dashboards.names", description="Write the city-names recording rules."
    )
    parser.add_argument("--city", type=Path, help="city YAML (default: the default city shipped with Vigil)")
    parser.add_argument("--output", type=Path, default=RULES_FILE, help=f"default: {RULES_FILE}")
    args = parser.parse_args(argv)
    city = load_city(args.city)
    source = str(args.city) if args.city else "vigil/core/cities/default.yaml"
    args.output.write_text(render_rules(city, source), encoding="utf-8")
    print(args.output)


if __name__ == "__main__":
    main()
