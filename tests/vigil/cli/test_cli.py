from __future__ import annotations

import pytest

from vigil.cli import main


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["simulate", "--speed", "-3"], ["--speed", "'-3' is not a speed factor", "max"]),
        (["simulate", "--duration", "5x"], ["--duration", "'5x' is not a positive duration", "6h"]),
        (["simulate", "--start", "2026-01-01T00:00"], ["--start", "no time zone", "+08:00"]),
        (["simulate", "--start", "tomorrow"], ["--start", "not an ISO 8601 time"]),
        (
            ["simulate", "--duration", "1d", "--forever"],
            ["--forever", "not allowed with argument --duration"],
        ),
        (["replay", "--input", "/nonexistent.ndjson"], ["--input", "no such file"]),
        (["demo", "--duration", "-1"], ["--duration", "positive number of seconds"]),
        (["kafka", "restart"], ["invalid choice: 'restart'", "start"]),
        (["bench", "--rows", "a,x"], ["--rows", "'a,x' has no row x", "a,b,c,d,e,f,g"]),
        (["bench", "--rows", ","], ["--rows", "names no row", "--rows a,b,c"]),
        (["bench", "--days", "0"], ["--days", "between 0 and 366", "--days 7"]),
        (["bench", "--days", "week"], ["--days", "'week' is not a number"]),
        (["bench", "--kafka", "localhost"], ["--kafka", "HOST:PORT", "127.0.0.1:19092"]),
        (["bench", "--seed", "x"], ["--seed", "invalid int value"]),
        (["beds", "--ward", "cafeteria"], ["--ward", "'cafeteria' is not a ward type", "icu, isolation"]),
        (["beds", "suggest", "--ward", "bed", "--district", "x"], ["--ward", "'bed'", "general"]),
        (["beds", "--url", "localhost:6066"], ["--url", "not a worker URL", "http://127.0.0.1:6066"]),
        (["beds", "suggest", "--ward", "icu", "--district", "chengguan", "--limit", "0"], ["--limit"]),
    ],
)
def test_bad_arguments_name_the_argument_and_the_fix(
    argv: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err


def test_bad_setting_is_reported_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VIGIL_PARTITIONS", "0")
    assert main(["topics", "list"]) == 2
    err = capsys.readouterr().err
    assert "partitions:" in err and "greater than or equal to 1" in err and "Traceback" not in err


def test_local_broker_commands_refuse_when_pointed_at_a_cluster(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VIGIL_KAFKA_BOOTSTRAP", "kafka1:9092")
    assert main(["kafka", "start"]) == 2
    assert "unset it to use the local broker" in capsys.readouterr().err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("kafka", "topics", "worker", "simulate", "replay", "demo"):
        assert command in out
