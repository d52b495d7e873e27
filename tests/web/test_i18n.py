"""The interface in English and Russian: the catalogues are complete, and each user sees their
own language (the account setting; before login the switcher's cookie or Accept-Language)."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi import FastAPI

from hyperlearn.service import accounts
from hyperlearn.settings import Settings
from hyperlearn.web import i18n
from hyperlearn.web.app import create_app
from tests.conftest import Clock
from tests.signin import PASSWORD, AppClient, form_csrf, sign_up

PACKAGE = Path(i18n.__file__).resolve().parents[1]  # src/hyperlearn, as `make messages` runs
# The same keywords as the Makefile's I18N_KEYWORDS, on top of Babel's defaults (_, N_, ...).
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "tr": (2,),
    "ntr": (2, 3),
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]|\{(\w+)\}")


def _extracted() -> set[str | tuple[str, ...]]:
    with (i18n.LOCALE_DIR / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]
    found: set[str | tuple[str, ...]] = set()
    for _, _, message, _, _ in extract_from_dir(
        str(PACKAGE), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        found.add(message if isinstance(message, str) else tuple(m or "" for m in message))
    return found


def _catalogue(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def test_every_message_has_a_russian_translation() -> None:
    used = _extracted()
    assert len(used) > 250, "extraction found too little: is babel.cfg right?"
    template = _catalogue(i18n.LOCALE_DIR / "messages.pot")
    in_template = {m.id if isinstance(m.id, str) else tuple(m.id) for m in template if m.id}
    assert used - in_template == set(), "run `make messages`: messages.pot is out of date"
    russian = _catalogue(i18n.catalogue_path("ru"), locale="ru")
    assert russian.num_plurals == 3
    problems = []
    for msgid in sorted(used, key=str):
        key = msgid if isinstance(msgid, str) else msgid[0]
        entry = russian.get(key)
        if entry is None:
            problems.append(f"missing: {msgid!r}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        forms = [entry.string] if isinstance(entry.string, str) else list(entry.string or ())
        if isinstance(msgid, tuple) and len(forms) != 3:
            problems.append(f"not three plural forms: {msgid!r}")
        wanted = _placeholders(msgid if isinstance(msgid, str) else msgid[1])
        for form in forms:
            if not form:
                problems.append(f"untranslated: {msgid!r}")
            elif _placeholders(form) != wanted:
                problems.append(f"placeholders differ: {msgid!r} -> {form!r}")
            elif form.count("%%") != (msgid if isinstance(msgid, str) else msgid[0]).count("%%"):
                problems.append(f"literal % signs differ: {msgid!r} -> {form!r}")
    assert problems == []


def test_russian_plurals_follow_the_number() -> None:
    ru = i18n.translations("ru")
    singular, plural = "%(count)s learner", "%(count)s learners"
    assert [ru.ngettext(singular, plural, n) % {"count": n} for n in (1, 3, 5, 21, 12)] == [
        "1 ученик",
        "3 ученика",
        "5 учеников",
        "21 ученик",
        "12 учеников",
    ]
    en = i18n.translations("en")
    assert en.ngettext(singular, plural, 1) == singular
    assert en.gettext("Sign in") == "Sign in" and ru.gettext("Sign in") == "Войти"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("en-GB,en;q=0.9,ru;q=0.8", "en"),
        ("de-DE,de;q=0.9,ru;q=0.5", "ru"),
        ("de, fr", None),
        ("ru;q=0, en;q=0.1", "en"),
        ("ru;q=bogus, en", "en"),
        ("", None),
        (None, None),
    ],
)
def test_accept_language_is_negotiated(header: str | None, expected: str | None) -> None:
    assert i18n.negotiate(header) == expected


@pytest.fixture
def app(fresh_database_url: str) -> Iterator[FastAPI]:
    seeds = iter(range(1_000_000))
    app = create_app(
        Settings(database_url=fresh_database_url),
        clock=Clock(),
        rng_factory=lambda: random.Random(next(seeds)),
    )
    yield app
    app.state.engine.dispose()


def _browser(app: FastAPI, accept_language: str) -> AppClient:
    client = AppClient(app)
    client.headers["Accept-Language"] = accept_language
    return client


def _onboard(client: AppClient) -> None:
    page = client.post(
        "/onboard",
        data={"name": "Noor", "language": "en", "level": "A2", "interests": ["food"]},
    )
    assert page.status_code == 200, page.text


def _stored_language(app: FastAPI, client: AppClient) -> str:
    with app.state.sessions() as session:
        return accounts.find_user(session, client.username).ui_language


def test_a_russian_user_sees_russian_pages_and_an_english_user_english(app: FastAPI) -> None:
    russian = _browser(app, "ru-RU,ru;q=0.9,en;q=0.5")
    register = russian.get("/register")
    assert '<html lang="ru">' in register.text
    assert "Создать аккаунт" in register.text and "Create an account" not in register.text
    sign_up(russian, "russian-learner")
    assert _stored_language(app, russian) == "ru"
    # From now on the account decides, whatever the browser sends.
    russian.headers["Accept-Language"] = "en"
    _onboard(russian)
    practice = russian.get("/practice")
    assert '<html lang="ru">' in practice.text
    for text in ("Занятия", "Почему это упражнение?", "Сообщить об ошибке в упражнении"):
        assert text in practice.text
    assert "Why this exercise?" not in practice.text
    dashboard = russian.get("/dashboard")
    assert "Ваша сводка" in dashboard.text and "Ответов пока нет." in dashboard.text
    assert "Show as a table" not in dashboard.text

    english = _browser(app, "en-GB,en;q=0.9")
    sign_up(english, "english-learner")
    assert _stored_language(app, english) == "en"
    _onboard(english)
    page = english.get("/practice")
    assert '<html lang="en">' in page.text and "Why this exercise?" in page.text
    assert "Почему" not in page.text
    assert "Your dashboard" in english.get("/dashboard").text


def test_a_russian_user_gets_russian_errors_and_plurals(app: FastAPI) -> None:
    russian = _browser(app, "ru")
    page = russian.get("/register")
    short = russian.post(
        "/register",
        data={
            "username": "short-password",
            "password": "short",
            "password_again": "short",
            "csrf_token": form_csrf(page.text),
        },
    )
    assert short.status_code == 422
    assert "пароль должен содержать не меньше 8 символов" in short.text
    sign_up(russian, "ru-plurals")
    account = russian.get("/account")
    assert "В этот аккаунт выполнен вход в 1 браузере." in account.text
    _onboard(russian)
    wrong = russian.post("/classes/join", data={"code": "NOPE2345"})
    assert wrong.status_code == 404
    assert "класса с таким кодом приглашения нет" in wrong.text


def test_the_footer_switcher_works_before_and_after_login(app: FastAPI) -> None:
    visitor = _browser(app, "en")
    home = visitor.get("/login")
    assert "Sign in" in home.text and 'action="/language"' in home.text
    switched = visitor.post(
        "/language",
        data={"lang": "ru", "next": "/login", "csrf_token": form_csrf(home.text)},
        follow_redirects=False,
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    assert visitor.cookies.get(i18n.LANG_COOKIE) == "ru"
    assert '<html lang="ru">' in visitor.get("/login").text
    # Registering keeps the language the visitor chose, over Accept-Language.
    sign_up(visitor, "switcher")
    assert _stored_language(app, visitor) == "ru"
    back = visitor.post("/language", data={"lang": "en", "next": "/account"})
    assert back.status_code == 200 and "Your account" in back.text
    assert _stored_language(app, visitor) == "en"
    # An off-site `next` goes home instead; an unknown language changes nothing.
    away = visitor.post(
        "/language", data={"lang": "en", "next": "//evil.example"}, follow_redirects=False
    )
    assert away.headers["location"] == "/"
    bad = visitor.post("/language", data={"lang": "xx", "next": "/account"})
    assert bad.status_code == 422
    assert _stored_language(app, visitor) == "en"


def test_the_account_page_sets_the_language_for_every_session(app: FastAPI) -> None:
    client = sign_up(_browser(app, "en"), "account-language")
    saved = client.post("/account/language", data={"ui_language": "ru"})
    assert saved.status_code == 200
    assert "Сохранено: страницы теперь на выбранном языке." in saved.text
    assert client.get("/api/me").json()["ui_language"] == "ru"
    # Another browser, which asks for English, gets Russian once signed in to this account.
    other = _browser(app, "en")
    login = other.get("/login")
    signed = other.post(
        "/login",
        data={
            "username": client.username,
            "password": PASSWORD,
            "csrf_token": form_csrf(login.text),
        },
    )
    assert '<html lang="ru">' in signed.text
    refused = client.post("/account/language", data={"ui_language": "fr"})
    assert refused.status_code == 422
    assert client.get("/api/me").json()["ui_language"] == "ru"
