"""What ``vigil demo`` prints for each delivery (vigil/cli/demo.py)."""

from __future__ import annotations

import io

import pytest

from vigil.cli.demo import show_delivery


class Screen(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, s: str) -> int:
        self.writes.append(s)
        return super().write(s)


def test_a_delivery_line_is_one_write_so_other_threads_cannot_split_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the receiver's threads and the demo's summaries print at once; a line and its newline written apart
    # let another thread's text in between (print() writes them apart)
    screen = Screen()
    monkeypatch.setattr("sys.stdout", screen)
    show_delivery("送达/delivered to capacity-coordinators: [firing] ICU (WardProjectedFull)")
    assert screen.writes == [
        "    ✉ 送达/delivered to capacity-coordinators: [firing] ICU (WardProjectedFull)\n"
    ]
