"""Italian text as the FAQ search compares it: folded, without stop words, stemmed.

«Dov'è l'ufficio TARI? Perchè non riesco a pagarla» and «dove si paga la tassa rifiuti»
should meet on the same words. The steps, each cheap enough for every message:

1. fold: lowercase, accents dropped (è/e, perché/perche), elisions split
   (dell'anagrafe -> dell anagrafe), punctuation gone;
2. stop words dropped: spaCy's Italian list, minus the words that carry a municipal
   meaning there (casa, città, consiglio, via, giorni ...) and the question words that
   tell one FAQ from the next (dove, quando, quanto ...), plus the courtesies citizens
   wrap a question in (buongiorno, vorrei sapere ...);
3. a light stemmer folds plurals, gender and the common verb forms onto one stem
   (pagamenti/pagamento, iscriversi/iscrizione stays apart, pago/paga/pagare/pagato meet);
4. the office's synonyms work both ways: each phrase of a group is read as the group's
   first word (tassa sui rifiuti -> tari).

Typos are left to the character n-grams of :mod:`urp.faq.search`.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from urp.core.text import fold

APOSTROPHES = "'’‘`´"
TOKEN = re.compile(r"[a-z0-9]+")

# In spaCy's list, but they name what citizens ask about or tell questions apart.
_KEPT_WORDS = """
    anni anno anticipo attesa casa cento citta consiglio dove fine giorni giorno governo
    lavoro mesi ministro nazionale ora ore paese persone posto quando quanta quante quanti
    quanto registrazione scola scuola tempo titolo via vita
    """
KEPT_WORDS = frozenset(_KEPT_WORDS.split())
# The wrapping of a question, not its subject: «buongiorno, volevo sapere se ...», and the
# modal verbs around the one that matters («devo pagare», «posso rinnovare»).
_COURTESIES = """
    buongiorno buonasera buon salve ciao gentile gentili egregio spettabile vorrei volevo
    vorremmo volevamo sapere chiedere chiedo domanda domandare informazione informazioni
    info gentilmente cortesemente cortese scusate scusi scusa saluti cordiali distinti
    grazie mille potete potreste potrebbe puoi potresti dirmi sapreste saprebbe aiutarmi
    aiuto per favore piacere ok okay
    devo devi dobbiamo dovete devono posso puoi possiamo potete possono voglio vuoi vuole
    vogliamo volete vogliono so sai
    cm cmq nn x xke xk xch xche ke k qlc qlcs pk pke xo tt
    """
COURTESIES = frozenset(_COURTESIES.split())

# Longest first. Verb endings go before the final vowel, so that pagare, pagato, pagata
# and paga all end at «pag»; participles share the suffix of their plural and feminine,
# so nouns in -ato/-ati (certificato, certificati) stay together too.
_VERB_SUFFIXES = """
    erebbero irebbero arebbero assero essero issero eranno iranno aranno avamo evamo
    ivamo avate evate ivate avano evano ivano arono erono irono iamo iate ando endo
    are ere ire ato ata ati ate ito ita iti ite uto uta uti ute ava eva iva avo evo ivo
    """
VERB_SUFFIXES = tuple(sorted(_VERB_SUFFIXES.split(), key=len, reverse=True))
# Pronouns attached to an infinitive or gerund: pagarla -> pagare, iscriversi -> iscrivere.
ENCLITIC = re.compile(
    r"(ar|er|ir|and|end)(?:gliel[aeio]|gliene|sene|mel[aeio]|si|la|le|li|lo|ne|mi|ti|ci|vi|gli)$"
)
ENCLITIC_MIN_LENGTH = 7  # «parla», «armi» are not infinitives with a pronoun
MIN_STEM = 3


def _spacy_stop_words() -> frozenset[str]:
    """spaCy's Italian stop words, read from its module without importing spaCy.

    ``import spacy`` pulls in thinc and, here, TensorFlow: seconds at every start for one
    list of words.
    """
    spec = importlib.util.find_spec("spacy")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("spaCy non è installato: serve la sua lista di parole vuote")
    path = next(iter(spec.submodule_search_locations)) + "/lang/it/stop_words.py"
    module_spec = importlib.util.spec_from_file_location("_urp_it_stop_words", path)
    if module_spec is None or module_spec.loader is None:
        raise RuntimeError(f"lista di parole vuote di spaCy non trovata in {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return frozenset(module.STOP_WORDS)


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Folded spaCy stop words minus :data:`KEPT_WORDS`, plus :data:`COURTESIES`."""
    folded = {fold(word).strip(APOSTROPHES) for word in _spacy_stop_words()}
    return frozenset((folded - KEPT_WORDS) | COURTESIES)


# Dotted abbreviations: «C.I.E.», «i.m.u.» are words, not stray letters.
DOTTED = re.compile(r"\b(?:[a-z]\.){2,}(?:[a-z]\b)?")


def words(text: str) -> list[str]:
    """Folded words, elisions split: «Dov'è l'ufficio?» -> ['dov', 'e', 'l', 'ufficio']."""
    folded = DOTTED.sub(lambda m: m.group(0).replace(".", ""), fold(text))
    for mark in APOSTROPHES:
        folded = folded.replace(mark, " ")
    return TOKEN.findall(folded)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light Italian stemmer: inflection only, never derivation.

    >>> [stem(w) for w in ("pagamenti", "pagamento", "pagare", "paga", "pagarla")]
    ['pagament', 'pagament', 'pag', 'pag', 'pag']
    """
    if len(word) <= MIN_STEM or word.isdigit():
        return word
    if len(word) >= ENCLITIC_MIN_LENGTH:
        word = ENCLITIC.sub(lambda m: m.group(1) + ("o" if m.group(1)[-1] == "d" else "e"), word)
    for suffix in VERB_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    if word[-1] in "aeio" and len(word) - 1 >= MIN_STEM:
        word = word[:-1]
        # banca/banche, ufficio/uffici, farmacia/farmacie: one stem.
        if word[-1] in "hi" and len(word) - 1 >= MIN_STEM:
            word = word[:-1]
    return word


def content_words(text: str) -> list[str]:
    """The folded words of ``text`` without stop words and stray letters, in order."""
    stops = stop_words()
    return [w for w in words(text) if w not in stops and (len(w) > 1 or w.isdigit())]


def terms(text: str) -> list[str]:
    """The stems of the content words of ``text``, in order."""
    return [stem(w) for w in content_words(text)]


Canonical = tuple[tuple[str, ...], tuple[str, ...]]  # a group's word: stems, as written
MAX_PASSES = 3


class Synonyms:
    """The office's synonyms: every phrase of a group becomes the group's first word.

    ``{"tari": ["tassa rifiuti"]}``: «tasse sui rifiuti» is read as «tari», so a question
    with either finds the entries written with the other (both ways). Replacing instead
    of adding keeps the message as long as it was: adding every synonym made the entries
    of one subject look alike and lowered the confidence (measured by ``make eval-faq``).
    """

    def __init__(self, groups: Mapping[str, Sequence[str]]) -> None:
        phrases: dict[tuple[str, ...], Canonical] = {}
        for key, others in groups.items():
            written = tuple(content_words(key))
            if not written:
                continue
            canonical = (tuple(stem(w) for w in written), written)
            for phrase in (key, *others):
                phrases.setdefault(tuple(terms(phrase)), canonical)
        phrases.pop((), None)
        # By first stem, longest first: «carta d'identità elettronica» before «carta
        # d'identità». A message is read once, left to right (hundreds of groups, every
        # message and every question of the index).
        self._by_first: dict[str, list[tuple[tuple[str, ...], Canonical]]] = {}
        for phrase, canonical in sorted(phrases.items(), key=lambda item: -len(item[0])):
            self._by_first.setdefault(phrase[0], []).append((phrase, canonical))

    def __bool__(self) -> bool:
        return bool(self._by_first)

    def replace(self, stems: list[str], written: list[str]) -> tuple[list[str], list[str]]:
        """The stems and the words as written, each phrase replaced by its group's word;
        again on the result, as a replaced word can complete a longer phrase («pass per
        la zona a traffico limitato» -> «pass ztl» -> «permesso ztl»)."""
        for _ in range(MAX_PASSES):
            replaced = self._replace_once(stems, written)
            if replaced[0] == stems:
                break
            stems, written = replaced
        return stems, written

    def _replace_once(self, stems: list[str], written: list[str]) -> tuple[list[str], list[str]]:
        """The longest phrase starting at each word, from the left."""
        out_stems: list[str] = []
        out_written: list[str] = []
        start = 0
        while start < len(stems):
            for phrase, (canonical_stems, canonical_words) in self._by_first.get(stems[start], ()):
                if tuple(stems[start : start + len(phrase)]) == phrase:
                    out_stems += canonical_stems
                    out_written += canonical_words
                    start += len(phrase)
                    break
            else:
                out_stems.append(stems[start])
                out_written.append(written[start])
                start += 1
        return out_stems, out_written


@dataclass(frozen=True)
class Analysis:
    stems: str  # the stems of the content words, synonyms replaced
    letters: str  # the content words as written (folded), synonyms replaced

    @classmethod
    def of(cls, text: str, synonyms: Synonyms | None = None) -> Analysis:
        written = content_words(text)
        stems = [stem(w) for w in written]
        if synonyms:
            stems, written = synonyms.replace(stems, written)
        return cls(" ".join(stems), " ".join(written))


def normalise(text: str, synonyms: Synonyms | None = None) -> str:
    """The stems the search indexes: «Dov'è l'ufficio TARI?» -> 'dov uffic tar'."""
    return Analysis.of(text, synonyms).stems
