"""The teacher view in a real browser (a class, its heat map, a learner's detail), a reported
exercise's round trip, and one accessibility pass over the main pages: every form control has
an accessible name, and Tab reaches every interactive element."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI

from hyperlearn.service import accounts
from hyperlearn.store import repository
from tests.browser.test_practice_loop import CHROMIUM_ARGS, browser_app, chromium_path, serving
from tests.conftest import T0
from tests.signin import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

_numbers = itertools.count(1)


@dataclass(frozen=True)
class Live:
    url: str
    app: FastAPI


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A live server whose app the tests also reach directly (to make teachers, read reports)."""
    app = browser_app(tmp_path_factory)
    with serving(app) as url:
        yield Live(url, app)
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Person:
    """One browser context (its own cookies) with console errors and page errors collected."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1200, "height": 900})
        self.page = self.context.new_page()
        self.base_url = base_url
        self.problems: list[str] = []
        # A CSP violation (an inline script or style) is reported as a console error.
        self.page.on(
            "console", lambda m: self.problems.append(m.text) if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))

    def goto(self, path: str) -> Page:
        response = self.page.goto(f"{self.base_url}{path}")
        assert response is not None and response.status == 200, path
        return self.page

    def submit(self, selector: str) -> None:
        with self.page.expect_navigation():
            self.page.click(selector)

    def close(self) -> None:
        self.context.close()
        assert self.problems == []


def make_teacher(live: Live) -> str:
    """A teacher account made on the command line's path (the accounts service)."""
    username = f"browser-teacher{next(_numbers)}"
    with live.app.state.sessions() as session:
        accounts.create_user(session, username=username, password=PASSWORD, role="teacher", now=T0)
    return username


def sign_in(person: Person, username: str) -> None:
    person.goto("/login")
    person.page.fill("input[name=username]", username)
    person.page.fill("input[name=password]", PASSWORD)
    person.submit("button[type=submit]")
    assert person.page.url == f"{person.base_url}/" or "/teacher" in person.page.url


def register(person: Person) -> None:
    person.goto("/register")
    person.page.fill("input[name=username]", f"browser-learner{next(_numbers)}")
    person.page.fill("input[name=password]", "a long enough password")
    person.page.fill("input[name=password_again]", "a long enough password")
    person.submit("button[type=submit]")


def onboard(person: Person, name: str) -> None:
    page = person.page
    page.fill("input[name=name]", name)
    page.check("input[value=en]")
    page.select_option("select[name=level]", "A1")
    page.check("input[value=food]")
    person.submit("button[type=submit]")
    assert page.url.endswith("/placement")
    person.submit("text=Skip it and start practising")
    assert page.url.endswith("/practice")


def answer_one(person: Person) -> None:
    """Answer the exercise on /practice with the keyboard; ends on the feedback page."""
    page = person.page
    with page.expect_navigation():
        if page.locator(".options button").count():
            page.keyboard.press("1")
        else:
            page.fill("input.answer", "no idea")
            page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() in ("Correct!", "Not quite.")


def answer(person: Person, count: int) -> None:
    for _ in range(count):
        answer_one(person)
        with person.page.expect_navigation():
            person.page.keyboard.press("Enter")
        assert person.page.url.endswith("/practice")


def create_class(person: Person, name: str) -> tuple[str, str]:
    """Create a class on /teacher; returns its id and invite code, read from its page."""
    page = person.goto("/teacher")
    page.fill("input[name=name]", name)
    page.select_option("select[name=language]", "en")
    person.submit("text=Create the class")
    found = re.search(r"/teacher/classes/([^/?#]+)$", page.url)
    assert found, page.url
    assert page.locator("h1").inner_text() == name
    code = page.locator("code.invite").first.inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{6,}", code), code
    return found.group(1), code


def join_class(person: Person, code: str, class_name: str) -> None:
    page = person.goto("/classes")
    page.fill("input[name=code]", code.lower())  # codes are forgiving about case
    person.submit("text=Join the class")
    assert "You joined the class." in page.locator("main").inner_text()
    assert class_name in page.locator("table.data").inner_text()


def withheld(live: Live, item_id: str) -> bool:
    with live.app.state.sessions() as session:
        return item_id in repository.withheld_item_ids(session)


# -- a teacher and a learner -------------------------------------------------------------------


def test_a_teacher_creates_a_class_and_sees_the_learner(
    live: Live, chromium: Browser, screenshots: Path
) -> None:
    tutor = Person(chromium, live.url)
    sign_in(tutor, make_teacher(live))
    assert "No classes yet" in tutor.goto("/teacher").locator("main").inner_text()
    class_id, code = create_class(tutor, "Year 9 English")
    home = tutor.goto("/teacher")
    assert code in home.locator("table.data").inner_text()
    home.screenshot(path=str(screenshots / "teacher-home.png"), full_page=True)

    noor = Person(chromium, live.url)
    register(noor)
    onboard(noor, "Noor Browser")
    join_class(noor, code, "Year 9 English")
    noor.goto("/practice")
    answer(noor, 4)

    page = tutor.goto(f"/teacher/classes/{class_id}")
    assert "1 learner" in page.locator("main").inner_text()
    heat = page.locator("table.heat")
    assert heat.locator("thead th").all_inner_texts()[2] == "Noor Browser"
    # One row per skill; the learner's column counts the four answers given.
    counts = heat.locator("tbody tr td:nth-of-type(2) .count").all_inner_texts()
    assert len(counts) == heat.locator("tbody tr").count() > 10
    assert sum(int(c.split("/")[1]) for c in counts) == 4
    page.screenshot(path=str(screenshots / "class-heat-map.png"), full_page=True)

    with page.expect_navigation():
        heat.locator("thead a", has_text="Noor Browser").click()
    assert re.search(r"/teacher/learners/[^/]+$", page.url)
    assert page.locator("h1").inner_text() == "Noor Browser"
    assert "4 exercises answered" in page.locator("p.accuracy").inner_text()
    assert page.locator("section", has_text="Recent answers").locator("tbody tr").count() == 4
    page.screenshot(path=str(screenshots / "learner-detail.png"), full_page=True)
    noor.close()
    tutor.close()


def test_a_reported_exercise_is_withheld_until_a_teacher_restores_it(
    live: Live, chromium: Browser, screenshots: Path
) -> None:
    learner = Person(chromium, live.url)
    register(learner)
    onboard(learner, "Reporting learner")
    page = learner.page
    item_id = page.locator("form[action='/practice/report'] input[name=item_id]").input_value()
    assert not withheld(live, item_id)
    page.click("text=Report a problem with this exercise")
    reason = page.get_by_label("What is wrong?")
    assert reason.is_visible()
    reason.fill("two answers look right to me")
    page.screenshot(path=str(screenshots / "practice-report-form.png"), full_page=True)
    learner.submit("text=Send report")
    assert "withheld until a teacher has checked it" in page.locator("main").inner_text()
    assert withheld(live, item_id)
    # Withheld from this learner (and everyone): the next exercises are other items.
    for _ in range(3):
        shown = page.locator("#answer-form input[name=item_id]").input_value()
        assert shown != item_id
        answer(learner, 1)

    tutor = Person(chromium, live.url)
    sign_in(tutor, make_teacher(live))
    assert "1 waiting for review" in tutor.goto("/teacher").locator("main").inner_text()
    queue = tutor.goto("/teacher/reports")
    entry = queue.locator("article.reported")
    assert entry.count() == 1
    assert "two answers look right to me" in entry.inner_text()
    queue.screenshot(path=str(screenshots / "report-queue.png"), full_page=True)
    tutor.submit(f"form[action='/teacher/reports/{item_id}/restore'] button")
    assert "Done: the exercise was restored." in queue.locator("main").inner_text()
    assert "No open reports" in queue.locator("main").inner_text()
    assert not withheld(live, item_id)
    learner.close()
    tutor.close()


# -- accessibility -----------------------------------------------------------------------------

# A form control's accessible name, the way the accname rules find it for these pages:
# aria-labelledby, aria-label, its <label>s, a button's text, a title. A placeholder does not
# count: it disappears as soon as someone types.
CONTROL_NAMES = """() => {
  const text = (e) => (e.textContent || "").replace(/\\s+/g, " ").trim();
  const name = (e) => {
    const ids = (e.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean);
    const by = ids.map((id) => document.getElementById(id)).filter(Boolean).map(text).join(" ");
    if (by.trim()) return by.trim();
    const aria = (e.getAttribute("aria-label") || "").trim();
    if (aria) return aria;
    const labels = [...(e.labels || [])].map(text).join(" ").trim();
    if (labels) return labels;
    if (e.tagName === "BUTTON" && text(e)) return text(e);
    if (e.tagName === "INPUT" && ["submit", "button", "reset"].includes(e.type)) {
      return (e.value || "").trim();
    }
    return (e.getAttribute("title") || "").trim();
  };
  const controls = "input:not([type=hidden]), select, textarea, button";
  return [...document.querySelectorAll(controls)].map((e) => [e.outerHTML.slice(0, 160), name(e)]);
}"""

# Chromium's own accessibility tree: no interactive node it exposes may be nameless.
NAMED_ROLES = {
    "button",
    "checkbox",
    "combobox",
    "link",
    "listbox",
    "radio",
    "searchbox",
    "slider",
    "spinbutton",
    "switch",
    "textbox",
}

# What Tab should reach: every interactive element that is shown and enabled, native or given
# a widget role (a tabindex="-1" on one of them takes it away from the keyboard: a failure).
MARK_FOCUSABLE = """() => {
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, "
    + "[tabindex]:not([tabindex='-1']), [contenteditable=true], [onclick], [role=button], "
    + "[role=link], [role=checkbox], [role=radio], [role=tab], [role=menuitem], [role=switch]";
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
  window.__focusable = [...document.querySelectorAll(selector)].filter(
    (e) => !e.disabled && shown(e) && !e.closest("[inert]"));
  window.__seen = new Set(document.activeElement ? [document.activeElement] : []);
  document.addEventListener("focusin", (event) => window.__seen.add(event.target), true);
  return window.__focusable.length;
}"""

# Focusable elements Tab has not reached; a radio group counts once (arrow keys move in it).
UNREACHED = """() => {
  const seen = window.__seen;
  const groups = new Set([...seen].filter((e) => e.type === "radio").map((e) => e.name));
  return window.__focusable
    .filter((e) => !seen.has(e) && !(e.type === "radio" && groups.has(e.name)))
    .map((e) => e.outerHTML.slice(0, 160));
}"""


def check_names(page: Page, where: str) -> int:
    controls: list[list[str]] = page.evaluate(CONTROL_NAMES)
    nameless = [html for html, name in controls if not name]
    assert nameless == [], f"{where}: form controls without an accessible name: {nameless}"
    cdp = page.context.new_cdp_session(page)
    tree: dict[str, Any] = cdp.send("Accessibility.getFullAXTree")
    cdp.detach()
    unnamed = [
        node["role"]["value"]
        for node in tree["nodes"]
        if not node.get("ignored")
        and node.get("role", {}).get("value") in NAMED_ROLES
        and not str(node.get("name", {}).get("value", "")).strip()
    ]
    assert unnamed == [], f"{where}: Chromium exposes nameless {unnamed}"
    return len(controls)


def check_keyboard(page: Page, where: str) -> None:
    total: int = page.evaluate(MARK_FOCUSABLE)
    assert total > 0, where
    unreached: list[str] = []
    for presses in range(1, 2 * total + 12):
        page.keyboard.press("Tab")
        if presses % 8 == 0 or presses >= total:
            unreached = page.evaluate(UNREACHED)
            if not unreached:
                break
    assert unreached == [], f"{where}: Tab never reaches {unreached}"


def check_page(page: Page, where: str) -> None:
    check_names(page, where)
    check_keyboard(page, where)


def test_the_main_pages_are_labelled_and_reachable_by_keyboard(
    live: Live, chromium: Browser
) -> None:
    learner = Person(chromium, live.url)
    check_page(learner.goto("/register"), "register")
    check_page(learner.goto("/login"), "login")
    register(learner)
    page = learner.page
    check_page(page, "onboarding")
    onboard(learner, "Keyboard learner")

    # The first exercise with everything open; then exercises until one with a typed answer
    # came up (choice and judgement items have buttons, cloze and correction a text field).
    # The random policy mixes the four types (about half are typed).
    page.click("text=Report a problem with this exercise")
    page.click("text=Why this exercise?")
    check_page(page, "practice")
    check_page(learner.goto("/settings"), "settings")
    page.check("input[name=policy][value=random]")
    learner.submit("text=Save")
    assert "Saved." in page.locator("main").inner_text()
    learner.goto("/practice")
    typed = feedback = False
    for _ in range(20):
        typed = typed or page.locator("input.answer").count() > 0
        check_names(page, "practice")
        answer_one(learner)
        if not feedback:
            check_page(page, "feedback")
            feedback = True
        with page.expect_navigation():
            page.keyboard.press("Enter")
        if typed:
            break
    assert typed, "no exercise with a typed answer came up"
    for path in ("/progress", "/dashboard", "/classes", "/account"):
        check_page(learner.goto(path), path)

    tutor = Person(chromium, live.url)
    sign_in(tutor, make_teacher(live))
    check_page(tutor.goto("/teacher"), "teacher home")
    class_id, code = create_class(tutor, "Keyboard class")
    join_class(learner, code, "Keyboard class")
    check_page(tutor.goto(f"/teacher/classes/{class_id}"), "teacher class")
    check_page(tutor.goto("/teacher/reports"), "report queue")
    learner.close()
    tutor.close()
