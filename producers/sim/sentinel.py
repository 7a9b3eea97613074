"""Simulated fever-clinic reports: one per site per local day, submitted the next morning (08:00-11:00).

Visits follow the site's mean with a weekday shape (Monday busiest, Sunday quietest) and a winter high;
the fever share is 8-12% by season and ILI about 30% of fever patients. The day before the start is
included: a run that starts in the early morning sees yesterday's reports arrive within its first hours,
as a surveillance desk would. Each (site, day) draws from its own RNG, so an outbreak at one site or on
one day changes nothing else.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from producers.sim.ids import ident
from producers.sim.surge import Outbreak, Surge
from vigil.core.city import City, SentinelSite
from vigil.core.contracts import LabResults, SentinelReport
from vigil.core.random_draws import binomial, derived_rng, poisson
from vigil.surveillance.clinic_baseline import (
    ILI_SHARE_OF_FEVER,
    baseline_counts,
    expected_visits,
    fever_share,
    season,
)

LAB_DAY_SHARE = 0.3  # share of site-days that come with lab results
PATHOGENS = {"influenza_a": 0.5, "influenza_b": 0.2, "rsv": 0.15, "sars_cov_2": 0.15}
SUBMIT_FROM, SUBMIT_WINDOW_S = time(8), 3 * 3600


def reports(
    city: City, start: datetime, end: datetime | None, seed: int, surges: Sequence[Surge] = ()
) -> Iterator[SentinelReport]:
    """Reports in submission order, from ``start`` until ``end`` (exclusive; ``None``: forever)."""
    if not city.sentinel_sites:
        return
    tz = ZoneInfo(city.timezone)
    day = start.astimezone(tz).date() - timedelta(days=1)
    while True:
        batch = [
            _report(site, day, tz, derived_rng(seed, "sentinel", site.id, day), surges)
            for site in city.sentinel_sites
        ]
        for report in sorted(batch, key=lambda r: (r.submitted_at, r.site)):
            if end is not None and report.submitted_at >= end:
                return
            if report.submitted_at >= start:
                yield report
        day += timedelta(days=1)


def _report(
    site: SentinelSite, day: date, tz: ZoneInfo, rng: random.Random, surges: Sequence[Surge]
) -> SentinelReport:
    """Baseline counts first, outbreak patients on top (extra visits, all febrile), so the same site-day
    with and without an outbreak differs only by the extra patients."""
    mean = expected_visits(site.mean_daily_visits, day)
    total, fever, ili = baseline_counts(site.mean_daily_visits, day, rng)
    submitted = datetime.combine(day + timedelta(days=1), SUBMIT_FROM, tz)
    submitted += timedelta(seconds=rng.randrange(SUBMIT_WINDOW_S))
    lab = _Lab() if rng.random() < LAB_DAY_SHARE else None
    if lab is not None:
        lab.test(rng, ili, 0.10 + 0.08 * season(day), None)
    for surge in surges:
        factor = surge.fever_factor(site.id, day)
        if factor > 1:
            ili_share, pathogen = _outbreak_profile(surge)
            extra = poisson(rng, (factor - 1.0) * fever_share(day) * mean)
            extra_ili = binomial(rng, extra, ili_share)
            total, fever, ili = total + extra, fever + extra, ili + extra_ili
            if lab is not None:
                lab.test(rng, extra_ili, 0.7, pathogen)
    return SentinelReport(
        report_id=ident(site.id, f"{day:%Y%m%d}"),
        site=site.id,
        district=site.district,
        period="day",
        period_start=datetime.combine(day, time(0), tz),
        total_visits=total,
        fever_visits=fever,
        ili_cases=ili,
        lab=lab.result() if lab is not None and lab.tested else None,
        submitted_at=submitted,
    )


def _outbreak_profile(surge: Surge) -> tuple[float, str | None]:
    """ILI share and pathogen of a surge's extra patients (an :class:`Outbreak` says; others: usual)."""
    if isinstance(surge, Outbreak):
        return surge.ili_share, surge.pathogen
    return ILI_SHARE_OF_FEVER, None


class _Lab:
    """Swab results of one site-day: about half the ILI cases are tested."""

    def __init__(self) -> None:
        self.tested = 0
        self.pathogens: dict[str, int] = {}

    def test(self, rng: random.Random, ili: int, positive_share: float, pathogen: str | None) -> None:
        """``pathogen`` None: positives spread over the usual winter mix; else all of that pathogen."""
        tested = max(1, binomial(rng, ili, 0.5)) if ili else 0  # a site swabs at least one ILI case
        self.tested += tested
        for _ in range(binomial(rng, tested, positive_share)):
            name = pathogen or rng.choices(list(PATHOGENS), weights=list(PATHOGENS.values()))[0]
            self.pathogens[name] = self.pathogens.get(name, 0) + 1

    def result(self) -> LabResults:
        return LabResults(tested=self.tested, positive=sum(self.pathogens.values()), pathogens=self.pathogens)
