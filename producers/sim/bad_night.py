"""The demo's bad night, built from the city model: what a command centre dreads, compressed into the first
minutes of a run so every alert the worker raises is seen on its way to a person.

- a mass-casualty incident in the most populous urban district (calls bunch in the first minutes; its
  ambulances and then its neighbours' run out: stalled calls, level zero, slow responses);
- the emergency department that takes that district's trauma patients cannot offload ambulances;
- that hospital's ICU has been filling for hours (the last hours of bed snapshots are sent first too, so the
  trend is there at once: projected full, then over the critical line);
- an influenza outbreak at two sentinel sites of one district, running for days before tonight: the sentinel
  history is sent first, so the detectors have a baseline and the outbreak is already visible.

Pure: a function of the city and the start time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from producers.sim.surge import EmergencyCrowding, MassCasualty, Outbreak, Surge, WardFilling
from vigil.core.city import City, DistrictType
from vigil.core.contracts import Complaint, Ward

HISTORY = timedelta(days=35)  # sentinel reports sent before the night: the EWMA baseline is 28 days
BED_HISTORY = timedelta(hours=6)  # bed snapshots sent before the night: the trend window (6 h)


@dataclass(frozen=True)
class BadNight:
    surges: tuple[Surge, ...]
    history_from: datetime  # sentinel reports from here up to the start are sent at once, before the night
    beds_from: datetime  # and bed snapshots from here
    mci_district: str
    outbreak_sites: tuple[str, ...]
    hospital: str

    def describe(self) -> str:
        return (
            f"批量伤员/mass-casualty incident in {self.mci_district}; {self.hospital} ED cannot offload and "
            f"its ICU fills; outbreak at sentinel sites {', '.join(self.outbreak_sites)}"
        )


def bad_night(city: City, start: datetime) -> BadNight:
    """The scenario for ``city`` starting at ``start`` (timezone-aware)."""
    urban = [d for d in city.districts if d.type is DistrictType.URBAN] or list(city.districts)
    mci = max(urban, key=lambda d: d.population).id
    trauma = _trauma_hospital(city, mci)
    by_district: dict[str, list[str]] = {}
    for site in city.sentinel_sites:
        by_district.setdefault(site.district, []).append(site.id)
    pairs = sorted((sorted(ids) for ids in by_district.values() if len(ids) >= 2), key=lambda ids: ids[0])
    outbreak_sites = tuple(pairs[0][:2]) if pairs else tuple(s.id for s in city.sentinel_sites[:2])
    today = start.astimezone(ZoneInfo(city.timezone)).date()
    surges: list[Surge] = [
        MassCasualty(mci, start + timedelta(minutes=5), timedelta(minutes=25), calls=30, echo_share=0.4),
        EmergencyCrowding(trauma, start - timedelta(hours=1), timedelta(hours=6), timedelta(minutes=45)),
        Outbreak(outbreak_sites, today - timedelta(days=4), peak_factor=4.0, ramp_days=2, plateau_days=None),
    ]
    hospital = next(h for h in city.hospitals if h.id == trauma)
    if hospital.wards.get(Ward.ICU, 0) > 0:
        # about 2 beds an hour on a 60-bed ICU, from its usual 85 %: projected full from the history, critical
        # within the hour
        filling = WardFilling(trauma, Ward.ICU.value, start - timedelta(hours=4), timedelta(hours=4), 0.98)
        surges.append(filling)
    return BadNight(tuple(surges), start - HISTORY, start - BED_HISTORY, mci, outbreak_sites, trauma)


def _trauma_hospital(city: City, district: str) -> str:
    """Where the simulator takes the district's trauma patients (the same choice the dispatch sim makes)."""
    from producers.sim.dispatch import choose_hospital

    return choose_hospital(city, district, Complaint.TRAUMA).id
