"""Headless Chromium (Debian's package) driven over the Chrome DevTools Protocol through a pipe.

``--remote-debugging-pipe`` makes Chromium read protocol messages on file descriptor 3 and
write its answers and events on 4, each a JSON text ended by a NUL byte: no port, no websocket,
no driver binary and no browser download, only the standard library. Every event is kept, so a
test can read the console errors and the network requests a page caused.

Also a script: ``python -m tests.bench.report.browser REPORT.html OUT.png`` takes the README's
screenshot of a report's first interactive curve figure, with a value hovered.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--hide-scrollbars", "--mute-audio",
         # Any host name fails to resolve: an offline page must not notice.
         "--host-resolver-rules=MAP * ~NOTFOUND"]  # fmt: skip


def _above_9(fd: int) -> int:
    """A close-on-exec copy of ``fd`` numbered 10 or more; ``fd`` itself is closed."""
    copy = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return copy


class BrowserError(RuntimeError):
    """The browser answered a command with an error, or did not answer in time."""


class Chromium:
    """One headless Chromium with one page, driven over the DevTools protocol.

    Use as a context manager; :attr:`events` holds every event of the page's session, in
    order, as ``(method, params)``.
    """

    def __init__(self, width: int = 1100, height: int = 900, timeout: float = 60.0):
        if CHROMIUM is None:
            raise BrowserError("Debian's chromium is not installed")
        self.timeout = timeout
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._answers: queue.Queue = queue.Queue()
        self._next_id = 0
        self._profile = tempfile.TemporaryDirectory()
        to_browser, self._write = os.pipe()
        self._read, from_browser = os.pipe()
        # Above 9, so that moving them onto 3 and 4 in the child overwrites neither.
        to_browser, from_browser = (_above_9(fd) for fd in (to_browser, from_browser))

        def protocol_fds() -> None:  # in the child, before exec: the pipe on fds 3 and 4
            os.dup2(to_browser, 3)  # dup2 leaves the copies inheritable
            os.dup2(from_browser, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}",
             f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=protocol_fds,
        )  # fmt: skip
        os.close(to_browser)
        os.close(from_browser)
        threading.Thread(target=self._listen, daemon=True).start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        attached = self.call("Target.attachToTarget", targetId=target, flatten=True)
        self.session = attached["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False, session=True)  # fmt: skip
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)

    def _listen(self) -> None:
        buffer = b""
        with os.fdopen(self._read, "rb", buffering=0) as stream:
            while chunk := stream.read(65536):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._answers.put(message)
                    elif message.get("sessionId"):
                        self.events.append((message["method"], message.get("params", {})))

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        """Send one command (to the page's session when ``session``) and return its result."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                answer = self._answers.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise BrowserError(f"{method}: no answer in {self.timeout} s") from None
            if answer["id"] == self._next_id:
                break
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", session=True, expression=expression,
                           returnByValue=True, awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float | None = None) -> Any:
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise BrowserError(f"{expression!r} stayed falsy for {timeout or self.timeout} s")

    def open(self, path: Path) -> None:
        """Load a local file and wait for its load event."""
        seen = len(self.events)
        self.call("Page.navigate", session=True, url=Path(path).resolve().as_uri())
        deadline = time.monotonic() + self.timeout
        while not any(m == "Page.loadEventFired" for m, _ in self.events[seen:]):
            if time.monotonic() > deadline:
                raise BrowserError(f"{path}: no load event in {self.timeout} s")
            time.sleep(0.05)

    def click(self, x: float, y: float) -> None:
        """A left click at page coordinates ``(x, y)`` of the viewport."""
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", session=True, type=kind, x=x, y=y,
                      button="left", clickCount=1)  # fmt: skip

    def hover(self, x: float, y: float) -> None:
        """Move the mouse to viewport coordinates ``(x, y)``."""
        self.call("Input.dispatchMouseEvent", session=True, type="mouseMoved", x=x, y=y)

    def screenshot(self, clip: dict[str, float] | None = None) -> bytes:
        """A PNG of the viewport, or of ``clip`` (x, y, width, height in page pixels)."""
        params: dict[str, Any] = {"format": "png"}
        if clip is not None:
            params["clip"] = {**clip, "scale": 1}
        return base64.b64decode(self.call("Page.captureScreenshot", session=True, **params)["data"])

    def console_errors(self) -> list[str]:
        """Uncaught exceptions, ``console.error`` calls and error log entries so far."""
        errors = []
        for method, params in self.events:
            if method == "Runtime.exceptionThrown":
                errors.append(str(params["exceptionDetails"]))
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                errors.append(str(params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                errors.append(params["entry"]["text"])
        return errors

    def requests(self) -> list[str]:
        """The URL of every request the page sent so far (its own file included)."""
        return [p["request"]["url"] for m, p in self.events if m == "Network.requestWillBeSent"]

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):  # already gone
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._write)
        self._profile.cleanup()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def box(browser: Chromium, selector: str) -> dict[str, float]:
    """The element's box in viewport pixels, after scrolling it into the middle of the view."""
    return browser.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
        " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })()"
    )


def screenshot_figure(report: Path, out: Path, colours: int = 96) -> None:
    """The README's picture: the first interactive curve figure of ``report`` with a value
    hovered, as a PNG of ``colours`` colours (a few tens of kilobytes)."""
    from PIL import Image

    with Chromium(width=1000, height=800) as browser:
        browser.open(report)
        browser.wait_for("document.body.getAttribute('data-figures-drawn')")
        number = browser.evaluate(
            "Array.from(document.querySelectorAll('script[type=\"application/json\"]'))"
            ".findIndex(s => JSON.parse(s.textContent).kind === 'curves') + 1"
        )
        figure = f"figure[data-figure-spec='figure-spec-{number}']"
        clip = box(browser, figure)  # scrolled into view first: a later scroll ends the hover
        point = browser.evaluate(
            f'(() => {{ const r = document.querySelector("{figure} .scatterlayer '
            '.trace:last-child .point").getBoundingClientRect(); return {x: r.x + r.width / 2,'
            " y: r.y + r.height / 2}; })()"
        )
        browser.hover(point["x"], point["y"])
        browser.wait_for(f'!!document.querySelector("{figure} .hoverlayer .hovertext")')
        time.sleep(0.5)
        clip["y"] += browser.evaluate("window.scrollY")
        out.write_bytes(browser.screenshot(clip))
    Image.open(out).convert("RGB").quantize(colours).save(out, optimize=True)


if __name__ == "__main__":
    screenshot_figure(Path(sys.argv[1]), Path(sys.argv[2]))
