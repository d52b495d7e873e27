"""The interface language: English source texts, Russian from a gettext PO catalogue.

- Catalogues: `locale/messages.pot` holds every English message (extracted by `make messages`
  with `locale/babel.cfg`), `locale/ru/LC_MESSAGES/messages.po` their Russian. The PO file is
  read with Babel at start-up, so a fresh install needs no compile step.
- Which language a request gets: a signed-in user's `ui_language` (their account setting);
  otherwise the `lang` cookie set by the switcher in the footer; otherwise the browser's
  Accept-Language; otherwise English.
- Templates call `_()`, `ngettext()` and `{% trans %}` (jinja2.ext.i18n, new style: the
  variables of a message are escaped, its text is trusted). Python code calls
  `tr(request, ...)` and `ntr(request, ...)`; service errors (`ServiceError`, whose messages
  are marked with `N_`) are shown with `reason(request, error)`.
- Content (skills, rules, items, texts) is not interface: it is shown as written.
"""

from __future__ import annotations

import gettext as gettext_module
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.requests import Request

from hyperlearn.service.errors import ServiceError
from hyperlearn.web.auth import current_user

# Each language named in itself, as the switcher shows it.
LANGUAGES = {"en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "lang"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The translations of one interface language (English: the messages themselves)."""
    if language not in LANGUAGES or language == DEFAULT_LANGUAGE:
        return gettext_module.NullTranslations()
    with catalogue_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    # Babel's reader gives a Catalog; its MO form is what gettext's classes load (fuzzy
    # entries are left out, as msgfmt does).
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def valid_language(value: str | None) -> str | None:
    return value if value in LANGUAGES else None


def negotiate(accept_language: str | None) -> str | None:
    """The supported language the browser prefers most (Accept-Language, with q values), or
    None. `ru-RU` counts as `ru`; ties go to the first listed."""
    best: str | None = None
    best_q = 0.0
    for part in (accept_language or "")[:500].split(",")[:30]:
        tag, _, rest = part.strip().partition(";")
        q = 1.0
        for param in rest.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        language = tag.strip().lower().split("-")[0]
        if language in LANGUAGES and q > best_q:
            best, best_q = language, q
    return best


def browser_language(request: Request) -> str:
    """The language of an anonymous visitor: the switcher's cookie, else Accept-Language."""
    return (
        valid_language(request.cookies.get(LANG_COOKIE))
        or negotiate(request.headers.get("accept-language"))
        or DEFAULT_LANGUAGE
    )


def request_language(request: Request) -> str:
    user = current_user(request)
    if user is not None:
        return valid_language(user.ui_language) or DEFAULT_LANGUAGE
    return browser_language(request)


def tr(request: Request, message: str, /, **params: Any) -> str:
    """`message` in the request's language, with %(name)s placeholders filled from params."""
    text = translations(request_language(request)).gettext(message)
    return text % params if params else text


def ntr(request: Request, singular: str, plural: str, n: int, /, **params: Any) -> str:
    """The plural form for `n` (Russian has three); `%(num)s` is n."""
    text = translations(request_language(request)).ngettext(singular, plural, n)
    return text % {"num": n, **params}


def reason(request: Request, error: ServiceError) -> str:
    """A service error's reason in the request's language. Text parameters that are messages
    themselves (a language's name, say) are translated too."""
    found = translations(request_language(request))
    params = {
        name: found.gettext(value) if isinstance(value, str) and value else value
        for name, value in error.params.items()
    }
    text = found.gettext(error.message)
    return text % params if params else text


@pass_context
def _template_gettext(context: Context, message: str) -> str:
    return translations(request_language(context["request"])).gettext(message)


@pass_context
def _template_ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(request_language(context["request"])).ngettext(singular, plural, n)


def install(env: Environment) -> None:
    """Give a template environment `_`, `ngettext` and `{% trans %}` for the language of the
    request being rendered (every page is rendered with `request` in its context)."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # as babel.cfg extracts them
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _template_gettext, _template_ngettext, newstyle=True
    )
    env.globals["ui_language"] = request_language
    env.globals["ui_languages"] = LANGUAGES
