"""Placement and the dashboard in a real browser: keyboard only, charts drawn, CSP-clean."""

from __future__ import annotations

from pathlib import Path

from tests.browser import test_practice_loop as loop
from tests.browser.test_practice_loop import CHROMIUM_ARGS, chromium_path

server = loop.server  # the live-server fixture, one per module


def test_take_the_placement_test_then_see_the_dashboard(server: str, screenshots: Path) -> None:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        problems: list[str] = []
        # A CSP violation (an inline script or style) is reported as a console error.
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{server}/register")
        page.fill("input[name=username]", "placement-learner")
        page.fill("input[name=password]", "a long enough password")
        page.fill("input[name=password_again]", "a long enough password")
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.fill("input[name=name]", "Placed learner")
        page.check("input[value=en]")
        page.select_option("select[name=level]", "B1")
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url.endswith("/placement")
        page.screenshot(path=str(screenshots / "placement-offer.png"))
        with page.expect_navigation():
            page.keyboard.press("Enter")  # Enter starts the test
        questions = 0
        while page.locator("#answer-form").count():
            questions += 1
            assert questions <= 15
            if questions == 1:
                page.screenshot(path=str(screenshots / "placement-question.png"))
            with page.expect_navigation():
                if page.locator(".options button").count():
                    page.keyboard.press("1")
                else:
                    page.fill("input.answer", "no idea")
                    page.keyboard.press("Enter")
        assert "You are around" in page.locator("h1").inner_text()
        page.screenshot(path=str(screenshots / "placement-result.png"))
        with page.expect_navigation():
            page.keyboard.press("Enter")  # on to practice
        assert page.url.endswith("/practice")

        page.goto(f"{server}/dashboard")
        charts = page.locator("svg.chart")
        assert charts.count() == 4
        for n in range(4):
            box = charts.nth(n).bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 100
        assert page.locator("svg.chart circle").count() > 0  # data points were drawn
        assert page.locator(".skill-node").count() > 20
        page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)
        browser.close()
    assert problems == []
