"""Shared simulator runs: generated once per session, checked by many tests (keeps the suite fast)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from producers.sim import simulate
from tests.producers.simcheck import START
from vigil.core.city import City, load_city
from vigil.core.contracts import Event


@pytest.fixture(scope="session")
def city() -> City:
    return load_city()


@pytest.fixture(scope="session")
def two_days(city: City) -> list[Event]:
    return list(simulate(city, START, timedelta(days=2), seed=11))


@pytest.fixture(scope="session")
def fortnight(city: City) -> list[Event]:
    return list(simulate(city, START, timedelta(days=14), seed=3))
