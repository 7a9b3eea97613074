"""The worker's bed queries: ``GET /beds`` (free beds now) and ``GET /beds/suggest`` (where to send the next
patient). Both answer for the whole city from the city view, on whichever worker is asked.

A bad query parameter gets a 400 naming the parameter and the values it takes; before the view has read the
tables' changelogs once (a worker starting), a 503 says so instead of an empty city.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from vigil.capacity.census import Query, WardFigure, figure, view
from vigil.capacity.suggest import Candidate, rank
from vigil.core.contracts import Ward
from vigil.dispatch.offload import waits_at_hospitals

if TYPE_CHECKING:
    from streams.runtime import Pipeline

WARDS = ", ".join(w.value for w in Ward)


class BadQuery(ValueError):
    pass


def parse_query(params: Mapping[str, str], districts: set[str], hospitals: set[str]) -> Query:
    """The filters of a request; an unknown value names the parameter and what it takes."""
    unknown = sorted(set(params) - {"district", "ward", "hospital", "limit"})
    if unknown:
        raise BadQuery(f"{unknown[0]}: not a parameter; use district, ward, hospital")
    district, ward, hospital = (params.get(name) or None for name in ("district", "ward", "hospital"))
    if district is not None and district not in districts:
        raise BadQuery(
            f"district: {district!r} is not a district of the city model ({', '.join(sorted(districts))})"
        )
    if hospital is not None and hospital not in hospitals:
        raise BadQuery(f"hospital: {hospital!r} is not a hospital of the city model")
    if ward is not None and ward not in {w.value for w in Ward}:
        raise BadQuery(f"ward: {ward!r} is not a ward type; use one of {WARDS}")
    return Query(district, Ward(ward) if ward else None, hospital)


def register(pipe: Pipeline) -> None:
    app = pipe.app
    city = pipe.city
    settings = pipe.settings
    stale_after_s = settings.beds_stale_after_s
    districts = {d.id for d in city.districts}
    hospitals = {h.id for h in city.hospitals}

    def current(query: Query) -> tuple[datetime, list[WardFigure]] | str:
        """The figures of the wards ``query`` keeps (only those: a city has a thousand)."""
        city_view = pipe.city_view
        if city_view is None or not city_view.caught_up:
            return "the worker is still reading the bed tables; ask again in a few seconds"
        now = city_view.clock.now(time.time())
        if now is None:
            return "no bed snapshot has been received yet"
        states = list(city_view.wards.values())
        kept = (s for s in states if query.keeps_ward(s["hospital"], s["ward"], s.get("district", "")))
        return now, [figure(s, city, now, stale_after_s) for s in kept]

    def status(web: Any, code: int, message: str) -> Any:
        return web.json({"error": message}, status=code)

    @app.page("/beds")
    async def beds_page(web: Any, request: Any) -> Any:
        try:
            query = parse_query(request.query, districts, hospitals)
        except BadQuery as err:
            return status(web, 400, str(err))
        got = current(query)
        if isinstance(got, str):
            return status(web, 503, got)
        now, figures = got
        return web.json(view(figures, city, query, now, stale_after_s, {"worker": settings.worker_port}))

    @app.page("/beds/suggest")
    async def suggest_page(web: Any, request: Any) -> Any:
        params = dict(request.query)
        try:
            limit = int(params.pop("limit", "10"))
            if limit < 1:
                raise ValueError
        except ValueError:
            return status(web, 400, "limit: must be a whole number of at least 1 (default 10)")
        try:
            query = parse_query(params, districts, hospitals)
        except BadQuery as err:
            return status(web, 400, str(err))
        for name, given in (("ward", query.ward), ("district", query.district)):
            if given is None:
                example = f"?ward=icu&district={min(districts)}"
                return status(
                    web, 400, f"{name}: required; ask for a ward type in a district, e.g. {example}"
                )
        # candidates come from the whole city: the patient's district only sets each one's distance
        got = current(Query(None, query.ward, query.hospital))
        if isinstance(got, str):
            return status(web, 503, got)
        now, figures = got
        return web.json(suggestions(pipe, query, now, figures, limit))


def suggestions(
    pipe: Pipeline, query: Query, now: datetime, figures: list[WardFigure], limit: int
) -> dict[str, object]:
    """The ``/beds/suggest`` answer: the candidates for the query's ward type, ranked, with their reasons."""
    assert query.ward is not None and query.district is not None and pipe.city_view is not None
    city = pipe.city
    waits = waits_at_hospitals(list(pipe.city_view.units.values()), now)
    reported = {f.hospital: f for f in figures if f.ward == query.ward.value}
    candidates = []
    for h in city.hospitals:
        f = reported.get(h.id)
        if f is None or (query.hospital is not None and h.id != query.hospital):
            continue  # no such ward there, or never reported (/beds lists it as unreported)
        wait = waits.get(h.id)
        candidates.append(
            Candidate(
                hospital=h.id,
                name_zh=h.name_zh,
                name_en=h.name_en,
                district=h.district,
                ward=query.ward,
                free=f.free,
                total=f.total,
                occupancy=f.occupancy or 0.0,
                age_s=f.age_s,
                stale=f.stale,
                distance=city.distance_class(query.district, h.district),
                offload_waiting=wait.waiting if wait else 0,
                offload_longest_s=wait.longest_s if wait else 0.0,
            )
        )
    ranked = rank(candidates, offload_limit_s=pipe.settings.offload_limit_s)[:limit]
    return {
        "as_of": now.isoformat(),
        "ward": query.ward.value,
        "district": query.district,
        "suggestions": [
            {
                "rank": s.rank,
                "hospital": s.candidate.hospital,
                "name_zh": s.candidate.name_zh,
                "name_en": s.candidate.name_en,
                "district": s.candidate.district,
                "distance": s.candidate.distance.value,
                "free": s.candidate.free,
                "total": s.candidate.total,
                "age_s": round(s.candidate.age_s, 1),
                "stale": s.candidate.stale,
                "offload_waiting": s.candidate.offload_waiting,
                "offload_longest_s": round(s.candidate.offload_longest_s, 1),
                "minutes": round(s.minutes, 1),
                "reasons_zh": s.reasons_zh,
                "reasons_en": s.reasons_en,
            }
            for s in ranked
        ],
    }
