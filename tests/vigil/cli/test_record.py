"""`vigil record`'s arguments: a bad one is refused before any broker is asked, naming the flag and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from vigil.cli import main
from vigil.cli.record import sources
from vigil.core.contracts import Source

FROM, TO = "2026-11-20T22:00:00+08:00", "2026-11-21T06:00:00+08:00"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--from", "2026-11-20T22:00", "--to", TO], ["--from", "no time zone", "+08:00"]),
        (["--from", FROM, "--to", "tomorrow"], ["--to", "not an ISO 8601 time", "2026-11-23T08:00:00+08:00"]),
        (["--from", TO, "--to", FROM], ["--to", "is not later than --from", "the end of the range"]),
        (["--from", FROM, "--to", FROM], ["--to", "is not later than --from"]),
        (["--from", FROM, "--to", TO, "--sources", "dispatch,weather"], ["--sources", "'weather'", "beds"]),
        (
            ["--from", FROM, "--to", TO, "--output", "/nonexistent/dir/x.ndjson"],
            ["--output", "does not exist"],
        ),
        (["--to", TO], ["--from"]),
    ],
)
def test_bad_arguments_name_the_argument_and_the_fix(
    argv: list[str], words: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if "--output" not in argv:
        argv = [*argv, "--output", str(tmp_path / "night.ndjson")]
    with pytest.raises(SystemExit) as info:
        main(["record", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err, err
    assert not list(tmp_path.iterdir())


def test_sources_are_kept_once_in_the_order_given() -> None:
    assert sources("beds, Dispatch,beds") == (Source.BEDS, Source.DISPATCH)
