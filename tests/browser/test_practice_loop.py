"""The first practice loop in a real browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from hyperlearn.service.setup import init_database
from hyperlearn.settings import Settings
from hyperlearn.store.engine import make_engine
from hyperlearn.web.app import create_app
from tests.conftest import T0

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Debian's chromium (.ci/run installs it)")
        pytest.skip("browser tests need Debian's chromium: apt-get install -y chromium")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def browser_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The app on a database of its own (migrated, starter content loaded)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'hyperlearn.sqlite3'}"
    init_database(make_engine(url), T0)
    return create_app(Settings(database_url=url))


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn on a free local port in a thread; yields the base URL."""
    port = free_port()
    instance = uvicorn.Server(uvicorn.Config(app, port=port, log_level="error"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(browser_app(tmp_path_factory)) as base_url:
        yield base_url


def test_register_onboard_answer_with_the_keyboard_and_see_progress(
    server: str, screenshots: Path
) -> None:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(server)
        with page.expect_navigation():
            page.click("text=Create an account")
        page.fill("input[name=username]", "browser-learner")
        page.fill("input[name=password]", "a long enough password")
        page.fill("input[name=password_again]", "a long enough password")
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.fill("input[name=name]", "Browser learner")
        page.check("input[value=en]")
        page.select_option("select[name=level]", "A1")
        page.check("input[value=football]")
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url.endswith("/placement")  # the placement test is offered: skip it here
        with page.expect_navigation():
            page.click("text=Skip it and start practising")
        assert page.url.endswith("/practice")

        for _ in range(3):
            assert page.locator(".sentence").inner_text().strip()
            with page.expect_navigation():
                if page.locator(".options button").count():
                    page.keyboard.press("1")  # number keys pick a choice
                else:
                    page.fill("input.answer", "no idea")
                    page.keyboard.press("Enter")  # Enter submits
            heading = page.locator("h1").inner_text()
            assert heading in ("Correct!", "Not quite.")
            assert page.locator(".rule h2").inner_text().strip()
            with page.expect_navigation():
                page.keyboard.press("Enter")  # Enter goes on to the next exercise
            assert page.url.endswith("/practice")

        page.goto(f"{server}/progress")
        assert "3 exercises answered" in page.locator("main").inner_text()
        page.screenshot(path=str(screenshots / "progress.png"))
        browser.close()
    assert problems == []
