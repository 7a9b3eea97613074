"""Simulated fever-clinic reports: one per site per day, sent the next morning, weekday and seasonal shape.

The day before the start is included, so a run that starts early in the morning sees that day's reports
arrive within its first simulated hours, as a real surveillance desk would.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from producers.sim.random_draws import binomial, neg_binomial
from producers.sim.surge import Outbreak
from vigil.city import City
from vigil.contracts import LabResults, SentinelReport

WEEKDAY_FACTOR = (1.25, 1.05, 1.0, 1.0, 1.0, 0.85, 0.75)  # Monday first: clinics fill after the weekend
ILI_SHARE_OF_FEVER = 0.30
VISITS_SHAPE = 40.0


def fever_share(day: date) -> float:
    """Share of visits with fever: ~12% in mid-January, ~4% in mid-July."""
    return 0.08 + 0.04 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)


def seasonal_visits(day: date) -> float:
    return 1.0 + 0.15 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)


def reports(
    city: City, start: datetime, end: datetime | None, seed: int, outbreaks: list[Outbreak]
) -> Iterator[SentinelReport]:
    # one RNG per site: an outbreak injected at one site must not change any other site's counts
    rngs = {site.id: random.Random(f"{seed}:sentinel:{site.id}") for site in city.sentinel_sites}
    tz = ZoneInfo(city.timezone)
    day = start.astimezone(tz).date() - timedelta(days=1)
    while True:
        batch = []
        for site in city.sentinel_sites:
            rng = rngs[site.id]
            mean = site.mean_daily_visits * WEEKDAY_FACTOR[day.weekday()] * seasonal_visits(day)
            factor = math.prod(o.factor(site.id, day) for o in outbreaks) if outbreaks else 1.0
            total = neg_binomial(rng, mean, VISITS_SHAPE)
            fever = min(total, binomial(rng, total, min(0.95, fever_share(day) * factor)))
            extra = round((factor - 1.0) * fever_share(day) * mean) if factor > 1 else 0
            total, fever = (
                total + extra,
                fever + extra,
            )  # outbreak patients are extra visits, not displaced ones
            ili = binomial(rng, fever, ILI_SHARE_OF_FEVER)
            lab = None
            if rng.random() < 0.3 and ili:
                tested = binomial(rng, ili, 0.5)
                positive = binomial(rng, tested, min(0.9, 0.15 * factor))
                lab = LabResults(
                    tested=tested, positive=positive, pathogens={"influenza_a": positive} if positive else {}
                )
            period_start = datetime.combine(day, time(0), tz)
            submitted = datetime.combine(day + timedelta(days=1), time(8), tz) + timedelta(
                seconds=rng.uniform(0, 3 * 3600)
            )
            batch.append(
                SentinelReport(
                    report_id=f"{site.id}-{day:%Y%m%d}",
                    site=site.id,
                    district=site.district,
                    period="day",
                    period_start=period_start,
                    total_visits=total,
                    fever_visits=fever,
                    ili_cases=ili,
                    lab=lab,
                    submitted_at=submitted.replace(microsecond=0),
                )
            )
        for report in sorted(batch, key=lambda r: r.submitted_at):
            if report.submitted_at < start:
                continue
            if end is not None and report.submitted_at >= end:
                return
            yield report
        day += timedelta(days=1)
