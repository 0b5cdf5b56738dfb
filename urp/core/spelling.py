"""Typos corrected against a known vocabulary: «orari pisicna» is read as «orari piscina».

A spelling layer measured for the NLU (the ``svm-refusi`` variant of ``make eval-nlu``: the
training examples' words) and for the FAQ search (the office's questions, answers and
synonyms). Neither ships it: the gains were within the noise of the measures
(docs/nlu-report.md). The character n-grams already see that «pisicna» looks like
«piscina».

A word is corrected only when all of this holds, so that a word the vocabulary lacks is not
bent into one it has («Jesi» is not «mesi», «secchio» is not «vecchio»):

1. the vocabulary does not know it;
2. Italian does not know it: it is not in wordfreq's Italian list with a Zipf frequency of
   at least :data:`ITALIAN_FLOOR` (wordfreq's large list, from web, books, subtitles and
   chats; below the floor are mostly typos);
3. one edit (a letter missing, extra or wrong, or two adjacent letters swapped) turns it
   into a word of the vocabulary. Of several, the one used most wins.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from urp.core.text import fold

# Zipf frequency (log10 of uses per billion words) below which a word counts as unknown to
# Italian. «morosita» without its accent is 1.5; typos («bibloteca», «pagamneto») are 0.
ITALIAN_FLOOR = 1.5
# Shorter words are left alone: too many of them are one edit from another word.
MIN_LENGTH = 4
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_WORD = re.compile(r"[a-z]+")


@lru_cache(maxsize=1)
def italian_words() -> frozenset[str]:
    """Italian words (folded: no accents) at or above :data:`ITALIAN_FLOOR`.

    wordfreq ships its lists in the package: nothing is downloaded. Its Italian list is read
    bucket by bucket (bucket ``i`` holds the words of Zipf frequency ``9 - i/100``), which
    keeps only the words: about 0.5 s and 50 MB once per process (measured; the frequency
    dictionary wordfreq builds for its own lookups would keep 78 MB)."""
    from wordfreq import DATA_PATH, read_cBpack

    buckets = read_cBpack(str(DATA_PATH / "large_it.msgpack.gz"))
    last = round((9 - ITALIAN_FLOOR) * 100)
    return frozenset(fold(word) for bucket in buckets[: last + 1] for word in bucket)


def _one_edit(word: str) -> set[str]:
    """Every string one deletion, swap of neighbours, replacement or insertion away."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return {
        *(left + right[1:] for left, right in splits if right),
        *(left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1),
        *(left + c + right[1:] for left, right in splits if right for c in _LETTERS),
        *(left + c + right for left, right in splits for c in _LETTERS),
    }


class Speller:
    """Corrects a message's typos towards the words of ``texts`` (see the module's doc)."""

    def __init__(self, texts: Iterable[str]) -> None:
        self._counts: Counter[str] = Counter()
        for text in texts:
            self._counts.update(_WORD.findall(fold(text)))
        self._italian = italian_words() if self._counts else frozenset()

    def word(self, word: str) -> str:
        """``word`` (folded) or the known word it is a typo of."""
        counts = self._counts
        if len(word) < MIN_LENGTH or word in counts or word in self._italian:
            return word
        candidates = [c for c in _one_edit(word) if c in counts]
        if not candidates:
            return word
        return max(candidates, key=lambda c: (counts[c], c))

    def correct(self, text: str) -> str:
        """The message folded, with every typo of a known word replaced by that word."""
        if not self._counts:
            return text
        return _WORD.sub(lambda match: self.word(match.group()), fold(text))


@lru_cache(maxsize=4)
def _speller(vocabulary: tuple[str, ...]) -> Speller:
    return Speller(vocabulary)


def corrected(texts: Iterable[str], vocabulary: tuple[str, ...] = ()) -> list[str]:
    """scikit-learn's FunctionTransformer hook: ``texts`` with their typos of ``vocabulary``
    corrected (the NLU's training words, stored in its model file)."""
    speller = _speller(tuple(vocabulary))
    return [speller.correct(str(text)) for text in texts]


def vocabulary(texts: Iterable[str]) -> tuple[str, ...]:
    """The folded words of ``texts``, once each, sorted: what a model file stores."""
    return tuple(sorted({word for text in texts for word in _WORD.findall(fold(text))}))
