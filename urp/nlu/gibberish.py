"""Messages that are no message: keyboard mash and code pasted into the chat.

«asdfghjkl» or «jdjdjdjd» is a slip of the thumb, «javascript:alert(1)» a probe: neither asks
anything, so the assistant must not guess an intent from their letters (a classifier on
character n-grams always finds some) and answer «di questo non mi occupo», or worse
subscribe someone. They are unclear messages: the citizen is asked to rephrase.

Short interjections without vowels («mmm», «pff», «grr») are kept out on purpose only when
they are shorter than :data:`MIN_MASH_LENGTH`; SMS abbreviations («cmq», «nn», «xké»,
«grz») are shorter still.
"""

from __future__ import annotations

import re

from urp.core.text import fold

MIN_MASH_LENGTH = 4
# Six consonants in a row: no Italian word has them (nor «Entschuldigung»), «sdfghjkl» does.
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{6,}")
_VOWEL = re.compile(r"[aeiouy]")
_WORD = re.compile(r"[a-z]+")
# Words without vowels that citizens do write.
_ACRONYMS = frozenset({"gdpr", "http", "https", "html", "ctrl", "pptx", "xlsx", "docx"})
# Runs of three neighbouring keys, both ways, that occur in no common Italian word («ert» of
# «certo», «uio» of «buio», «tre», «iop», «rty» and a few more are left out).
_KEY_RUNS = tuple(
    row[i : i + 3]
    for forward in ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    for row in (forward, forward[::-1])
    for i in range(len(row) - 2)
    if row[i : i + 3] not in {"ert", "rty", "uio", "iop", "tyu", "poi", "oiu", "ytr", "tre", "rew"}
)
# Script and query injection: not something a citizen writes to the Comune.
_CODE = re.compile(
    r"javascript\s*:|vbscript\s*:|data\s*:\s*text/html|<\s*/?\s*(script|iframe|img|svg|object)\b"
    r"|\bon(error|load|click|mouseover)\s*=|\balert\s*\(|document\s*\.\s*cookie"
    r"|\$\{\s*jndi|\bunion\s+(all\s+)?select\b|\bdrop\s+table\b|'\s*or\s+'?1'?\s*=\s*'?1"
    r"|\.\./\.\./",
    re.IGNORECASE,
)


def is_mash(word: str) -> bool:
    """Whether one folded word is keyboard mash.

    >>> [is_mash(w) for w in ("asdfghjkl", "jdjdjd", "qwerty", "certo", "cmq", "entschuldigung")]
    [True, True, True, False, False, False]
    """
    if len(word) < MIN_MASH_LENGTH or word in _ACRONYMS:
        return False
    if not _VOWEL.search(word) or _CONSONANT_RUN.search(word) or len(set(word)) == 1:
        return True
    return sum(word.count(run) for run in _KEY_RUNS) >= 2


def looks_like_code(text: str) -> bool:
    """Whether the message carries script or query injection.

    >>> looks_like_code("javascript:alert(1)"), looks_like_code("alert meteo di oggi?")
    (True, False)
    """
    return bool(_CODE.search(text))


def is_gibberish(text: str) -> bool:
    """Whether the message is mash or code rather than words.

    Half of its words being mash is enough («asdasd ciao»); a sentence with one odd word
    in it is not gibberish, nor is a message without letters (an emoji, a number).

    >>> is_gibberish("asdfghjkl"), is_gibberish("sdkjfh skdjfh"), is_gibberish("javascript:alert(1)")
    (True, True, True)
    >>> is_gibberish("ciao"), is_gibberish("👍"), is_gibberish("Entschuldigung, Deutsch?")
    (False, False, False)
    """
    if looks_like_code(text):
        return True
    words = [w for w in _WORD.findall(fold(text)) if len(w) >= 3]
    if not words:
        return False
    mash = sum(is_mash(w) for w in words)
    return mash > 0 and mash * 2 >= len(words)
