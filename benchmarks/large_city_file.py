"""The large city (``vigil/core/cities/large.yaml``) of ``vigil bench`` row (g), generated, not hand-typed.

About ten times the default city: a prefecture-level city of ten county-level areas, each shaped like the
default county (4 urban sub-districts, 12 townships, 6 hospitals, 20 fever-clinic sentinel sites, a station
per district) so the simulator's mix per resident stays the same. Hospitals are sized to 5.5 beds per 1,000
residents of their area, the plans' target. Deterministic: the same text every run, and a test checks that
the shipped YAML is exactly this output.

    .venv/bin/python -m benchmarks.large_city_file           # rewrite vigil/core/cities/large.yaml
    .venv/bin/python -m benchmarks.large_city_file --check   # exit 1 if the shipped file differs
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

import yaml

from vigil.core.contracts import Ward

LARGE_CITY_FILE = Path(__file__).resolve().parents[1] / "vigil" / "core" / "cities" / "large.yaml"
SEED = "vigil-large-city-1"
BEDS_PER_1000 = 5.5
URBAN_PER_AREA = 4
TOWNS_PER_AREA = 12
JOINT_PER_AREA = 10  # township joint 120 stations per area, as in the default county (10 of 13)
CHC_PER_STREET = 2  # community health service centres per urban sub-district
THC_VISITS_PER_1000 = 1.4  # daily fever-clinic visits per 1,000 residents, as in the default city

# (中文, pinyin) of the ten county-level areas; the first three are urban districts (区), the rest counties
AREAS = [
    ("江城", "Jiangcheng"),
    ("临川", "Linchuan"),
    ("安平", "Anping"),
    ("永宁", "Yongning"),
    ("清源", "Qingyuan"),
    ("长乐", "Changle"),
    ("丰泽", "Fengze"),
    ("华阳", "Huayang"),
    ("云溪", "Yunxi"),
    ("宁远", "Ningyuan"),
]
CITY_DISTRICT_AREAS = 3
# urban sub-district (街道) names, four per area
STREETS = [
    ("城关", "Chengguan"),
    ("东城", "Dongcheng"),
    ("西城", "Xicheng"),
    ("南城", "Nancheng"),
    ("北城", "Beicheng"),
    ("文昌", "Wenchang"),
    ("和平", "Heping"),
    ("解放", "Jiefang"),
    ("人民", "Renmin"),
    ("朝阳", "Chaoyang"),
    ("建设", "Jianshe"),
    ("新华", "Xinhua"),
    ("中山", "Zhongshan"),
    ("龙泉", "Longquan"),
    ("凤凰", "Fenghuang"),
    ("锦江", "Jinjiang"),
    ("滨江", "Binjiang"),
    ("望江", "Wangjiang"),
    ("桂花", "Guihua"),
    ("莲花", "Lianhua"),
    ("青年", "Qingnian"),
    ("胜利", "Shengli"),
    ("光明", "Guangming"),
    ("红旗", "Hongqi"),
    ("幸福", "Xingfu"),
    ("振兴", "Zhenxing"),
    ("兴华", "Xinghua"),
    ("东湖", "Donghu"),
    ("西湖", "Xihu"),
    ("南湖", "Nanhu"),
    ("北湖", "Beihu"),
    ("金山", "Jinshan"),
    ("银河", "Yinhe"),
    ("长江", "Changjiang"),
    ("天宁", "Tianning"),
    ("钟楼", "Zhonglou"),
    ("鼓楼", "Gulou"),
    ("玉泉", "Yuquan"),
    ("城南", "Chengnan"),
    ("城北", "Chengbei"),
]
# township (镇) names: every first syllable with every second, 120 names
TOWN_FIRST = [
    ("石", "Shi"),
    ("白", "Bai"),
    ("黄", "Huang"),
    ("青", "Qing"),
    ("马", "Ma"),
    ("柳", "Liu"),
    ("杨", "Yang"),
    ("李", "Li"),
    ("王", "Wang"),
    ("张", "Zhang"),
    ("高", "Gao"),
    ("龙", "Long"),
]
TOWN_SECOND = [
    ("桥", "qiao"),
    ("庄", "zhuang"),
    ("集", "ji"),
    ("店", "dian"),
    ("河", "he"),
    ("湖", "hu"),
    ("岭", "ling"),
    ("寨", "zhai"),
    ("营", "ying"),
    ("坡", "po"),
]
# per area, the default county's hospitals (3,730 beds for 680,000 residents), rescaled to the area's people
HOSPITALS: list[dict[str, Any]] = [
    {
        "key": "people1",
        "zh": "{area}{kind}人民医院",
        "en": "{area_en} {kind_en} People's Hospital",
        "site": ("urban", 0),
        "wards": {"general": 900, "icu": 60, "isolation": 40, "paediatric": 120, "emergency": 80},
        "pathways": ["chest_pain", "stroke", "trauma"],
    },
    {
        "key": "people2",
        "zh": "{area}{kind}第二人民医院",
        "en": "{area_en} {kind_en} Second People's Hospital",
        "site": ("urban", 1),
        "wards": {"general": 600, "icu": 30, "isolation": 20, "paediatric": 60, "emergency": 50},
        "pathways": ["chest_pain", "stroke"],
    },
    {
        "key": "tcm",
        "zh": "{area}{kind}中医院",
        "en": "{area_en} {kind_en} Hospital of Traditional Chinese Medicine",
        "site": ("urban", 2),
        "wards": {"general": 500, "icu": 20, "isolation": 10, "paediatric": 40, "emergency": 30},
        "pathways": ["trauma"],
    },
    {
        "key": "mch",
        "zh": "{area}{kind}妇幼保健院",
        "en": "{area_en} {kind_en} Maternal and Child Health Hospital",
        "site": ("urban", 3),
        "wards": {"general": 200, "icu": 20, "isolation": 10, "paediatric": 150, "emergency": 20},
        "pathways": ["maternal", "neonatal"],
    },
    {
        "key": "central1",
        "zh": "{town}中心卫生院",
        "en": "{town_en} Central Health Centre",
        "site": ("town", 0),
        "wards": {"general": 300, "isolation": 10, "paediatric": 30, "emergency": 20},
        "pathways": [],
    },
    {
        "key": "central2",
        "zh": "{town}中心卫生院",
        "en": "{town_en} Central Health Centre",
        "site": ("town", 1),
        "wards": {"general": 350, "isolation": 10, "paediatric": 30, "emergency": 20},
        "pathways": [],
    },
]
HEADER = """\
# Large demo city for `vigil bench` row (g): about 10x the default city (cities/default.yaml).
# Generated by `python -m benchmarks.large_city_file`; edit the generator, not this file.
# {areas} county-level areas of {per_area} districts each: {districts} districts,
# {stations} ambulance stations ({joint} township joint 120 stations), {on_duty} on-duty + {standby} standby
# ambulances, {sites} fever-clinic sentinel sites, {hospitals} hospitals with {beds:,} beds
# for {population:,} residents ({per_1000:.2f} per 1,000).
"""


def _slug(name: str) -> str:
    return name.lower()


def _towns(rng: random.Random) -> list[tuple[str, str]]:
    names = [(a + b, a_en + b_en) for a, a_en in TOWN_FIRST for b, b_en in TOWN_SECOND]
    rng.shuffle(names)
    return names


def _scaled(wards: dict[str, int], factor: float) -> dict[str, int]:
    return {ward: max(1, round(beds * factor)) for ward, beds in wards.items()}


def build() -> dict[str, Any]:
    """The large city as the mapping ``load_city`` reads."""
    rng = random.Random(SEED)
    towns = _towns(rng)
    if len(STREETS) < URBAN_PER_AREA * len(AREAS) or len(towns) < TOWNS_PER_AREA * len(AREAS):
        raise ValueError("not enough names for every area")
    districts: list[dict[str, Any]] = []
    stations: list[dict[str, Any]] = []
    ambulances: list[dict[str, Any]] = []
    hospitals: list[dict[str, Any]] = []
    sites: list[dict[str, Any]] = []
    for a, (area_zh, area_en) in enumerate(AREAS):
        urban_area = a < CITY_DISTRICT_AREAS
        kind, kind_en = ("区", "District") if urban_area else ("县", "County")
        streets = STREETS[a * URBAN_PER_AREA : (a + 1) * URBAN_PER_AREA]
        area_towns = towns[a * TOWNS_PER_AREA : (a + 1) * TOWNS_PER_AREA]
        urban: list[dict[str, Any]] = [
            {
                "id": _slug(en),
                "name_zh": f"{zh}街道",
                "name_en": en,
                "type": "urban",
                "population": rng.randrange(60, 141) * 1000,
            }
            for zh, en in streets
        ]
        rural: list[dict[str, Any]] = [
            {
                "id": _slug(en),
                "name_zh": f"{zh}镇",
                "name_en": en,
                "type": "rural",
                "population": rng.randrange(18, 46) * 1000,
            }
            for zh, en in area_towns
        ]
        districts += urban + rural

        for i, d in enumerate(urban):
            head = a == 0 and i == 0
            stations.append(
                {
                    "id": f"st-{d['id']}",
                    "name_zh": "市急救指挥中心直属站"
                    if head
                    else (f"{area_zh}{kind}急救分中心" if i == 0 else f"{d['name_zh']}急救站"),
                    "district": d["id"],
                }
            )
            ambulances += [
                {"id": f"amb-{d['id']}-1", "station": f"st-{d['id']}", "on_duty": True},
                {"id": f"amb-{d['id']}-2", "station": f"st-{d['id']}", "on_duty": True},
                {"id": f"amb-{d['id']}-s", "station": f"st-{d['id']}", "on_duty": False},
            ]
        for i, d in enumerate(rural):
            joint = i < JOINT_PER_AREA
            stations.append(
                {
                    "id": f"st-{d['id']}",
                    "name_zh": f"{d['name_zh']}{'联合' if joint else ''}急救站",
                    "district": d["id"],
                    "joint": joint,
                }
            )
            ambulances += [
                {"id": f"amb-{d['id']}-1", "station": f"st-{d['id']}", "on_duty": True},
                {"id": f"amb-{d['id']}-s", "station": f"st-{d['id']}", "on_duty": False},
            ]

        area_people = sum(d["population"] for d in urban + rural)
        template_beds = sum(sum(h["wards"].values()) for h in HOSPITALS)
        factor = area_people * BEDS_PER_1000 / 1000 / template_beds
        biggest_towns = sorted(rural, key=lambda d: (-d["population"], d["id"]))
        for h in HOSPITALS:
            where, n = h["site"]
            d = urban[n] if where == "urban" else biggest_towns[n]
            names = {
                "area": area_zh,
                "area_en": area_en,
                "kind": kind,
                "kind_en": kind_en,
                "town": d["name_zh"],
                "town_en": d["name_en"],
            }
            hospitals.append(
                {
                    "id": f"{_slug(area_en)}-{h['key']}",
                    "name_zh": h["zh"].format(**names),
                    "name_en": h["en"].format(**names),
                    "district": d["id"],
                    "wards": _scaled(h["wards"], factor),
                    "pathways": list(h["pathways"]),
                }
            )

        for d in rural:
            sites.append(
                {
                    "id": f"thc-{d['id']}",
                    "name_zh": f"{d['name_zh']}卫生院发热门诊",
                    "district": d["id"],
                    "kind": "township_health_centre",
                    "mean_daily_visits": round(d["population"] / 1000 * THC_VISITS_PER_1000, 1),
                }
            )
        ordinals = "一二三四"
        for d in urban:
            street = d["name_zh"].removesuffix("街道")
            for k in range(CHC_PER_STREET):
                sites.append(
                    {
                        "id": f"chc-{d['id']}-{k + 1}",
                        "name_zh": f"{street}第{ordinals[k]}社区卫生服务中心哨点诊室",
                        "district": d["id"],
                        "kind": "community_health_centre",
                        "mean_daily_visits": float(rng.randrange(55, 91, 5)),
                    }
                )
    return {
        "name_zh": "江州市",
        "name_en": "Jiangzhou (prefecture-level city)",
        "timezone": "Asia/Shanghai",
        "districts": districts,
        "stations": stations,
        "ambulances": ambulances,
        "hospitals": hospitals,
        "sentinel_sites": sites,
    }


def render() -> str:
    """The YAML text shipped as ``large.yaml``: a summary header, then the city."""
    city = build()
    wards = {w.value for w in Ward}
    beds = sum(b for h in city["hospitals"] for w, b in h["wards"].items() if w in wards)
    population = sum(d["population"] for d in city["districts"])
    header = HEADER.format(
        areas=len(AREAS),
        per_area=URBAN_PER_AREA + TOWNS_PER_AREA,
        districts=len(city["districts"]),
        stations=len(city["stations"]),
        joint=sum(1 for s in city["stations"] if s.get("joint")),
        on_duty=sum(1 for x in city["ambulances"] if x["on_duty"]),
        standby=sum(1 for x in city["ambulances"] if not x["on_duty"]),
        sites=len(city["sentinel_sites"]),
        hospitals=len(city["hospitals"]),
        beds=beds,
        population=population,
        per_1000=1000 * beds / population,
    )
    body = yaml.safe_dump(city, allow_unicode=True, sort_keys=False, width=110)
    return header + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only check that the shipped file is current")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = LARGE_CITY_FILE.read_text(encoding="utf-8") if LARGE_CITY_FILE.is_file() else ""
        if current != text:
            print(
                f"{LARGE_CITY_FILE} is out of date; run python -m benchmarks.large_city_file", file=sys.stderr
            )
            return 1
        return 0
    LARGE_CITY_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {LARGE_CITY_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
