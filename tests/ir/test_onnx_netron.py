"""latdeploy's ONNX files open in Netron: served by the ``netron`` package, rendered by headless Chromium.

Netron draws nodes of an unknown domain (``latdeploy``) as generic boxes named by their
``op_type``; these tests check that every registered node type and every node of the
shipped model's exported graph is drawn, and that no error dialog appears (a damaged
file shows Netron's error alert, which the checks here recognise). Chromium is driven
over the DevTools protocol on a pipe and polled until Netron has finished (``--dump-dom``
with a virtual-time budget dumps before Netron's layout worker is done).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import latdeploy
import latdeploy.sim.fixed_delay  # noqa: F401  (registers the DelayDenseInt kernel)
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.ir import NODE_TYPES, SpikeInput
from latdeploy.ir.onnx_io import to_onnx, write_onnx
from tests.ir.node_examples import node_graphs
from tests.report.test_html import CHROMIUM_FLAGS, _chromium

DRAWN = """JSON.stringify({
    body: document.body.className,
    message: document.getElementById('message-text').innerText.trim(),
    names: Array.from(document.querySelectorAll('g[id^="node-name-"]'), (e) => e.id.slice('node-name-'.length)),
    types: Array.from(document.querySelectorAll('.node-item-type text'), (e) => e.textContent),
})"""


def _netron():
    try:
        import netron
    except ImportError:
        if os.environ.get("LATDEPLOY_REQUIRE_NETRON"):
            pytest.fail("netron is not installed (the 'test' extra installs it)")
        pytest.skip("netron is not installed; set LATDEPLOY_REQUIRE_NETRON=1 to make this a failure")
    return netron


class _DevTools:
    """Headless Chromium driven over the DevTools protocol on a pipe (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, profile: Path) -> None:
        to_chrome, self._writer = os.pipe()
        self._reader, from_chrome = os.pipe()
        flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"]
        self._process = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_chrome} 4>&{from_chrome}', _chromium(), *flags],
            pass_fds=(to_chrome, from_chrome),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer, self._calls = b"", 0

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Send one command; return its result (events in between are skipped)."""
        self._calls += 1
        message: dict[str, Any] = {"id": self._calls, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 60
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._calls:
                    assert "error" not in reply, (method, reply["error"])
                    return reply["result"]
            ready, _, _ = select.select([self._reader], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"chromium did not answer {method} within 60 s"
            chunk = os.read(self._reader, 1 << 20)
            assert chunk, "chromium closed the DevTools pipe"
            self._buffer += chunk

    def evaluate(self, expression: str, session: str) -> Any:
        """Return the JSON value of ``expression`` evaluated in the page of ``session``."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        return result["result"].get("value")

    def close(self) -> None:
        """Close the browser (kill it if it does not exit) and the pipe."""
        try:
            self.call("Browser.close")
            self._process.wait(timeout=20)
        except (AssertionError, OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()
        finally:
            os.close(self._writer)
            os.close(self._reader)


def render_in_netron(path: Path, work: Path) -> dict[str, Any]:
    """Open ``path`` with ``netron.start`` in headless Chromium; return what Netron drew.

    Netron asks for cookie consent before it opens a file (a message that waits for a
    click), so its ``consent`` cookie is set first; then the page is polled until Netron
    shows the graph (body class ``default``) or an error (``alert``), at most 90 s.

    Returns:
        ``{body, message, names, types}``: the page's body class, Netron's message text
        (errors), the node names and the node type labels drawn.
    """
    netron = _netron()
    address = netron.start(str(path), address=("localhost", 0), browse=False)
    browser = _DevTools(work / "chromium-profile")
    try:
        cookie = {"name": "consent", "value": "1", "domain": address[0], "path": "/"}
        browser.call("Storage.setCookies", {"cookies": [cookie]})
        target = browser.call("Target.createTarget", {"url": f"http://{address[0]}:{address[1]}/"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            body = str(browser.evaluate("document.body ? document.body.className : ''", session))
            if body == "default" or "alert" in body.split():
                break
            time.sleep(0.1)
        return json.loads(browser.evaluate(DRAWN, session))
    finally:
        browser.close()
        netron.stop(address)


def test_shipped_model_graph_onnx_renders(shipped_model_path, tmp_path):
    model, metadata = latdeploy.load(shipped_model_path)
    graph = graph_from_module(model, metadata)
    drawn = render_in_netron(write_onnx(graph, tmp_path / "graph.onnx"), tmp_path)
    assert drawn["body"] == "default" and drawn["message"] == ""
    chip = [node for node in graph.nodes if not isinstance(node, SpikeInput)]
    assert drawn["names"] == [node.name for node in chip]
    assert drawn["types"] == [type(node).__name__ for node in chip]


@given(data=st.data())
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_registered_node_type_renders(data, tmp_path_factory):
    """One graph per registered node type, side by side in one model (names prefixed by the type)."""
    combined = onnx.ModelProto()
    expected: list[str] = []
    for type_name in sorted(NODE_TYPES):
        model = onnx.compose.add_prefix(to_onnx(data.draw(node_graphs(NODE_TYPES.get(type_name)))), f"{type_name}.")
        if not combined.graph.node:
            combined.CopyFrom(model)
        else:
            for part in ("node", "initializer", "input", "output", "value_info"):
                getattr(combined.graph, part).extend(getattr(model.graph, part))
        expected.extend(node.name for node in model.graph.node)
    onnx.checker.check_model(combined, full_check=True)
    work = tmp_path_factory.mktemp("netron")
    onnx.save(combined, work / "all.onnx")
    drawn = render_in_netron(work / "all.onnx", work)
    assert drawn["body"] == "default" and drawn["message"] == ""
    assert sorted(drawn["names"]) == sorted(expected)
    assert set(drawn["types"]) == set(NODE_TYPES) - {"SpikeInput"}  # the input is the graph's input, not a node


def test_damaged_file_shows_netron_error(shipped_model_path, tmp_path):
    """The checks above can fail: a truncated file gives Netron's error alert and no nodes."""
    model, metadata = latdeploy.load(shipped_model_path)
    path = write_onnx(graph_from_module(model, metadata), tmp_path / "graph.onnx")
    path.write_bytes(path.read_bytes()[:200])
    drawn = render_in_netron(path, tmp_path)
    assert "alert" in drawn["body"].split() and drawn["message"] and drawn["names"] == []
