"""Reading texts: from bytes or pasted strings to paragraphs and sentences with offsets.

Everything a learner pastes is untrusted: it is size-checked before decoding, refused when it
is binary or mixes English and Russian, reduced to plain text when it is HTML (tags dropped,
never rendered), and split into sentences by a well-kept rule-based splitter per language
(`pysbd` for English, `razdel` for Russian). Offsets of paragraphs and sentences refer to
`ReadingText.body`, so every answer span can be checked against the text the learner reads.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from hyperlearn.core import Language

MAX_BYTES = 1_000_000
MAX_TITLE_CHARS = 200
# A sentence questions can be built from: enough words to carry a fact, not a whole page.
MIN_SENTENCE_WORDS = 4
MAX_SENTENCE_WORDS = 60
# Share of letters of the other script above which a text counts as mixed-language (names and
# quoted words of the other language stay well below it in real news texts).
MIXED_SHARE = 0.2

WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*|\d+(?:[.,]\d+)*")
TOKEN = re.compile(r"[^\W_]+(?:['’\-.,][^\W_]+)*|[^\w\s]")
_LATIN = re.compile(r"[A-Za-z]")
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_LOOKS_LIKE_HTML = re.compile(
    r"<\s*(html|body|p|div|br|span|a|h[1-6]|li|ul|ol|table|script|style|article|section)\b",
    re.IGNORECASE,
)
_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "table",
        "article",
        "section",
        "header",
        "footer",
        "blockquote",
        "title",
    ]
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head"})


class TextProblem(ValueError):
    """Input that cannot become a reading text; the message says why, for the learner."""


@dataclass(frozen=True, slots=True)
class Sentence:
    index: int  # position in the whole text
    paragraph: int
    start: int  # character offsets in ReadingText.body
    end: int
    text: str

    @property
    def words(self) -> list[str]:
        return WORD.findall(self.text)

    @property
    def usable(self) -> bool:
        return MIN_SENTENCE_WORDS <= len(self.words) <= MAX_SENTENCE_WORDS


@dataclass(frozen=True, slots=True)
class ReadingText:
    title: str
    language: Language
    body: str  # paragraphs joined by blank lines
    paragraphs: tuple[tuple[int, int], ...]  # (start, end) offsets in body
    sentences: tuple[Sentence, ...]
    source: str = ""
    licence: str = ""
    record_id: str = ""
    label: str = ""  # a level the source gives (OneStopEnglish: elementary...), else ""

    @property
    def usable_sentences(self) -> list[Sentence]:
        return [s for s in self.sentences if s.usable]

    def paragraph_texts(self) -> list[str]:
        return [self.body[a:b] for a, b in self.paragraphs]


def decode(raw: bytes) -> str:
    """UTF-8 text from uploaded bytes, or a TextProblem that says what is wrong."""
    if len(raw) > MAX_BYTES:
        raise TextProblem(
            f"the text is too large ({len(raw):,} bytes); the limit is {MAX_BYTES:,} bytes (1 MB)"
        )
    if b"\x00" in raw:
        raise TextProblem("this is a binary file, not text; paste or upload plain text or HTML")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TextProblem(
            "the file is not UTF-8 text; save it as UTF-8 plain text and try again"
        ) from None


def html_to_text(html: str) -> str:
    """The visible text of an HTML fragment: tags dropped, entities decoded, block elements
    turned into paragraph breaks. Nothing of the markup survives to be rendered."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def script_shares(text: str) -> tuple[float, float]:
    """(Latin, Cyrillic) shares of the text's letters of either script."""
    latin = len(_LATIN.findall(text))
    cyrillic = len(_CYRILLIC.findall(text))
    total = latin + cyrillic
    return (latin / total, cyrillic / total) if total else (0.0, 0.0)


def check_language(text: str, language: Language) -> None:
    latin, cyrillic = script_shares(text)
    if latin == cyrillic == 0.0:
        raise TextProblem("the text has no English or Russian words")
    if min(latin, cyrillic) >= MIXED_SHARE:
        raise TextProblem(
            f"the text mixes English and Russian ({latin:.0%} Latin, {cyrillic:.0%} Cyrillic "
            "letters); give each language its own text"
        )
    found = Language.EN if latin > cyrillic else Language.RU
    if found is not language:
        names = {Language.EN: "English", Language.RU: "Russian"}
        raise TextProblem(
            f"the text looks {names[found]}, not {names[language]}; choose its language"
        )


def paragraphs_of(text: str) -> list[str]:
    """Paragraphs: blank-line separated blocks; a text without blank lines has one paragraph
    per line (OneStopEnglish and most copied web text). Lines inside a block are joined."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(c if c in "\n\t" or unicodedata.category(c)[0] != "C" else " " for c in text)
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    if len(blocks) == 1:
        blocks = [line for line in blocks[0].split("\n") if line.strip()]
    return [" ".join(block.split()) for block in blocks]


def build_text(
    raw: str,
    language: Language,
    *,
    title: str = "",
    source: str = "",
    licence: str = "",
    record_id: str = "",
    label: str = "",
) -> ReadingText:
    """A checked, split text; raises TextProblem for empty, huge, mixed or wrong-language
    input. HTML is reduced to its text first."""
    if len(raw.encode("utf-8")) > MAX_BYTES:
        raise TextProblem(f"the text is too large; the limit is {MAX_BYTES:,} bytes (1 MB)")
    if "\x00" in raw:
        raise TextProblem("this is binary data, not text")
    if _LOOKS_LIKE_HTML.search(raw):
        raw = html_to_text(raw)
    paragraphs = paragraphs_of(raw)
    if not paragraphs:
        raise TextProblem("the text is empty")
    body = "\n\n".join(paragraphs)
    check_language(body, language)
    spans: list[tuple[int, int]] = []
    sentences: list[Sentence] = []
    offset = 0
    for number, paragraph in enumerate(paragraphs):
        spans.append((offset, offset + len(paragraph)))
        for start, end in split_sentences(paragraph, language):
            sentences.append(
                Sentence(
                    index=len(sentences),
                    paragraph=number,
                    start=offset + start,
                    end=offset + end,
                    text=paragraph[start:end],
                )
            )
        offset += len(paragraph) + 2
    title = " ".join(title.split())[:MAX_TITLE_CHARS] or _title_from(sentences)
    return ReadingText(
        title=title,
        language=language,
        body=body,
        paragraphs=tuple(spans),
        sentences=tuple(sentences),
        source=source,
        licence=licence,
        record_id=record_id,
        label=label,
    )


def _title_from(sentences: Sequence[Sentence]) -> str:
    if not sentences:
        return "Untitled text"
    words = sentences[0].text.split()
    return " ".join(words[:8]) + (" …" if len(words) > 8 else "")


def split_sentences(paragraph: str, language: Language) -> list[tuple[int, int]]:
    """(start, end) of each sentence in the paragraph, surrounding spaces trimmed."""
    if language is Language.RU:
        import razdel

        pieces = [(s.start, s.stop) for s in razdel.sentenize(paragraph)]
    else:
        pieces = [(s.start, s.end) for s in _english_segmenter().segment(paragraph)]
    spans = []
    for start, end in pieces:
        while start < end and paragraph[start].isspace():
            start += 1
        while end > start and paragraph[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


@cache
def _english_segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=True)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


# ---------------------------------------------------------------- files


@dataclass(frozen=True, slots=True)
class TextFile:
    path: Path
    title: str
    label: str  # OneStopEnglish level name, else ""
    record_id: str


ONESTOP_LEVELS = {"ele": "elementary", "int": "intermediate", "adv": "advanced"}
ONESTOP_DIRS = {"Ele-Txt": "ele", "Int-Txt": "int", "Adv-Txt": "adv"}
_ONESTOP_NAME = re.compile(r"^(?P<title>.+)-(?P<level>ele|int|adv)\.txt$", re.IGNORECASE)
_ONESTOP_HEADER = re.compile(r"^\s*(Elementary|Intermediate|Advanced)\s*$", re.IGNORECASE)


def find_text_files(paths: Sequence[Path]) -> Iterator[TextFile]:
    """Plain .txt/.html files, and the OneStopEnglish layout (a folder holding
    Texts-SeparatedByReadingLevel/{Ele,Int,Adv}-Txt, one of those folders, or its files)."""
    for path in paths:
        if path.is_dir():
            levelled = path / "Texts-SeparatedByReadingLevel"
            root = levelled if levelled.is_dir() else path
            folders = [root / name for name in ONESTOP_DIRS if (root / name).is_dir()]
            for folder in folders or [root]:
                for file in sorted(folder.iterdir()):
                    if file.is_file() and file.suffix.lower() in (".txt", ".html", ".htm"):
                        yield _text_file(file)
        else:
            yield _text_file(path)


def _text_file(path: Path) -> TextFile:
    match = _ONESTOP_NAME.match(path.name)
    if match:
        level = ONESTOP_LEVELS[match["level"].lower()]
        return TextFile(path, match["title"], level, f"{path.parent.name}/{path.name}")
    return TextFile(path, path.stem.replace("_", " "), "", path.name)


def read_text_file(file: TextFile) -> str:
    """The file's text; a OneStopEnglish level header line ("Intermediate") is dropped."""
    with file.path.open("rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    text = decode(raw)
    if file.label:
        lines = text.split("\n")
        if lines and _ONESTOP_HEADER.match(lines[0]):
            text = "\n".join(lines[1:])
    return text


def is_onestop(file: TextFile) -> bool:
    return bool(file.label)
