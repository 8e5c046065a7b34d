from __future__ import annotations

import io
import sys

from latdeploy.cli.progress import stage_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_with_each_stage_and_quiet_or_a_pipe_get_nothing(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with stage_progress(2, quiet=False, label="verify") as advance:
        advance("float simulator")
        advance("Lava")
    shown = terminal.getvalue()
    assert "verify: float simulator" in shown and "verify: Lava" in shown and "2/2" in shown
    for quiet, stream in ((True, _Terminal()), (False, io.StringIO())):
        monkeypatch.setattr(sys, "stderr", stream)
        with stage_progress(2, quiet=quiet, label="verify") as advance:
            advance("Lava")
        assert stream.getvalue() == ""
