"""The built-in thesaurus: the words citizens write for the ones the office writes.

A Comune that imports its FAQ should find «spazzatura» in the entries about «rifiuti» on
day one, before its office has written a single synonym. thesaurus.yml next to this
module holds those groups for municipal Italian in general, never for one Comune; they
are read exactly like the office's own (:class:`urp.faq.text.Synonyms`), which come
first and win on conflicts.

The file is checked on the stems the search compares, not on the text, because that is
where a mistake would hide: a phrase made only of stop words («coppia di fatto» is just
«coppia») rewrites an unrelated word, two spellings of one phrase in two groups make the
result depend on their order, and a key that contains a phrase of another group is
rewritten a second time (with «vigili» -> «polizia locale», a key «vigili del fuoco»
would become «polizia locale fuoco»).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import yaml

from urp.faq.text import terms

THESAURUS_FILE = Path(__file__).with_name("thesaurus.yml")

Terms = tuple[str, ...]


class ThesaurusError(ValueError):
    """The thesaurus file is malformed or its groups would rewrite the wrong words."""


def _strings(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _contains(longer: Terms, shorter: Terms) -> bool:
    size = len(shorter)
    return any(longer[i : i + size] == shorter for i in range(len(longer) - size + 1))


def parse_groups(data: object, source: str = "thesaurus.yml") -> dict[str, list[str]]:
    """The groups of ``data`` (the parsed YAML), checked; :class:`ThesaurusError` if wrong.

    Checks, all on the stems: every key and phrase has a content word; no phrase
    (keys included) is written twice, in one group or in two; no key contains a phrase
    of another group, nor one of its own other than itself.
    """
    if not isinstance(data, Mapping) or not data:
        raise ThesaurusError(f"{source}: serve un elenco di gruppi «parola: [sinonimi]»")
    groups: dict[str, list[str]] = {}
    for key, phrases in data.items():
        if not isinstance(key, str) or not key.strip():
            raise ThesaurusError(f"{source}: la chiave {key!r} non è una parola")
        if not _strings(phrases) or not all(p.strip() for p in phrases):
            raise ThesaurusError(f"{source}: «{key}» vuole un elenco di frasi non vuote")
        groups[key.strip()] = [p.strip() for p in phrases]

    owner: dict[Terms, tuple[str, str]] = {}  # a phrase's stems -> (its group, as written)
    keys: dict[str, Terms] = {}
    for key, phrases in groups.items():
        for phrase in (key, *phrases):
            stems = tuple(terms(phrase))
            if not stems:
                raise ThesaurusError(f"{source}: «{phrase}» ({key}) ha solo parole vuote")
            if stems in owner:
                other, written = owner[stems]
                raise ThesaurusError(
                    f"{source}: «{phrase}» ({key}) è già «{written}» ({other}): "
                    f"per la ricerca sono la stessa frase ({' '.join(stems)})"
                )
            owner[stems] = (key, phrase)
        keys[key] = tuple(terms(key))

    for key, key_stems in keys.items():
        for stems, (other, written) in owner.items():
            rewritten = stems != keys[other]  # a key is read as itself: harmless
            if rewritten and len(stems) < len(key_stems) and _contains(key_stems, stems):
                raise ThesaurusError(
                    f"{source}: la chiave «{key}» contiene «{written}» ({other}), "
                    "che la riscriverebbe"
                )
    return groups


def load_groups(path: Path) -> dict[str, list[str]]:
    """The checked groups of a thesaurus file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ThesaurusError(f"{path.name}: YAML non valido: {error}") from error
    return parse_groups(data, path.name)


@lru_cache(maxsize=1)
def _default() -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((key, tuple(p)) for key, p in load_groups(THESAURUS_FILE).items())


def default_groups() -> dict[str, list[str]]:
    """The built-in groups, read and checked once per process (a fresh copy each call)."""
    return {key: list(phrases) for key, phrases in _default()}
