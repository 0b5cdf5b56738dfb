"""Personal data out of a citizen's message: what the review inbox keeps and shows.

Masked: e-mail addresses, tax codes, IBANs, phone numbers (and any other long number: a file
number, a document), house numbers after a street name, and names in the forms people
use to introduce themselves ("mi chiamo ...", "sono Mario Rossi", "sig.ra Bianchi",
"cordiali saluti, Anna Verdi"), also in lowercase ("sono mario rossi", "mi chiamo giulia"). The placeholders are plain words in brackets, so the
masked message still reads as Italian and a trainer can use it as an example.
"""

from __future__ import annotations

import re

EMAIL = "[email]"
PHONE = "[telefono]"
NUMBER = "[numero]"
TAX_CODE = "[codice fiscale]"
IBAN = "[iban]"
HOUSE_NUMBER = "[civico]"
NAME = "[nome]"
PLACEHOLDERS = (EMAIL, PHONE, NUMBER, TAX_CODE, IBAN, HOUSE_NUMBER, NAME)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Spaces allowed every four characters, as banks print them.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", re.IGNORECASE)
_TAX_CODE = re.compile(r"\b[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]\b", re.IGNORECASE)
# An Italian number however it is written: "333 - 123 - 4567", "(+39) 333 1234567",
# "+39 (0)71 222 3344", "0039 333..."; a mobile starts with 3, a landline with 0.
_PHONE = re.compile(
    r"(?<![\w+])(?:\(?(?:\+\s?|00\s?)\d{2}\)?[\s.\-/]*)?"
    r"(?:\(0\)\s*[1-9]|[03])\d(?:(?:\s*[.\-/–—]\s*|\s{1,3})?\d){6,}(?!\w)"
)
# Digits with single separators (spaces, dots, dashes, slashes), optionally international.
_DIGITS = re.compile(r"(?<![\w+])(?:\+|00)?\d(?:[ .\-/]?\d){5,}(?!\w)")
_DATE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
_STREET = re.compile(
    r"\b(?:via|viale|v\.le|piazza|p\.zza|piazzale|corso|c\.so|largo|vicolo|strada|"
    r"contrada|località|localita|loc\.|lungomare|borgo|salita|galleria)"
    r"(?:\s+(?!\d)[\w'’.]+){1,4}?\s*,?\s*(?:n\.|n°|nr\.?|numero|civico)?\s*"
    r"(?P<number>\d{1,4}(?:\s?/\s?[a-z0-9]\b|[a-z]\b)?)(?![\w/])",
    re.IGNORECASE,
)
_CAPITALISED = r"[A-ZÀ-Ý][a-zà-ÿ'’]+"
_LOWER_OR_CAPITALISED = r"[A-Za-zÀ-ÿ'’]+"
# Words that follow "mi chiamo Anna" but are not a surname.
_NOT_A_SURNAME = (
    "e|ed|ho|abito|vivo|sono|vorrei|volevo|chiedo|scrivo|di|da|del|della|per|e'|è|"
    "residente|nata|nato|ma|perché|perche|non|avrei|mi|ti|vi|ci|la|il|lo|le|gli|"
    "a|in|con|su|che|come|quando|dove|grazie|buongiorno|buonasera|salve|ciao"
)
_INTRODUCED = re.compile(
    r"(?P<lead>\b(?:mi chiamo|il mio nome (?:è|e'|e)|nome e cognome:?|nome:|"
    r"mi firmo)\s+)"
    rf"(?P<name>{_LOWER_OR_CAPITALISED}(?:\s+(?!(?:{_NOT_A_SURNAME})\b){_LOWER_OR_CAPITALISED})?)",
    re.IGNORECASE,
)
_CASE_SENSITIVE_LEAD = (
    r"(?:[Ss]ono|[Ii]o sono|[Aa] nome di|[Pp]er conto di|[Ss]aluti,?|[Cc]ordiali saluti,?|"
    r"[Dd]istinti saluti,?|[Ff]irmato:?|[Ss]ig\.?|[Ss]ig\.ra|[Ss]igg?\.?ra|[Ss]ignor[ae]?|"
    r"[Dd]ott\.?(?:ssa)?|[Dd]ottor(?:e|essa)?|[Aa]vv\.?|[Aa]vvocato|[Pp]rof\.?(?:ssa)?|"
    r"[Pp]rofessor(?:e|essa)?|[Ii]ng\.?)"
)
_TITLED = re.compile(
    rf"(?P<lead>(?<![\w.]){_CASE_SENSITIVE_LEAD}\s+)"
    rf"(?P<name>{_CAPITALISED}(?:\s+{_CAPITALISED})?)"
)
# "sono mario rossi": lowercase after "sono" is usually not a name ("sono stanco", "sono
# iscritto"), so there only the most common Italian first names count (ISTAT's most given,
# without those that are also words: Felice, Serena, Fortunato, Gioia, Rosa, Bianca...).
_COMMON_FIRST_NAMES = """
    alessandro andrea antonio angelo alberto alessio alfredo aldo anna alessandra
    alessia alice angela antonella arianna aurora barbara beatrice benedetta bruno
    carlo claudio cristian cristiano camilla carla carmela carolina caterina chiara
    cinzia claudia cristina daniele davide diego domenico dario daniela debora
    denise donatella elena eleonora elisa elisabetta emanuela emma erika enrico
    emanuele enzo edoardo ettore fabio federico filippo francesco fabrizio flavio
    federica filomena francesca gabriele giacomo gianluca giorgio giovanni giulio
    giuseppe giancarlo gianni gino gabriella giada giorgia giovanna giulia giuseppina
    graziella greta ilaria irene ivan jacopo lorenzo luca luigi leonardo lucio
    lucia laura letizia lisa loredana lucrezia luisa manuel marco mario massimo
    matteo mattia maurizio michele mirko monica marta martina michela mara marisa
    maria marianna marilena matilde melissa miriam nicola nicolò niccolò nadia
    nicoletta noemi ornella orietta paolo pietro piero pasquale patrizia paola
    roberto riccardo raffaele renato rocco roberta rita rebecca rossella samuele
    sergio simone stefano salvatore silvio sara silvia simona sofia sonia stefania
    teresa tiziana tommaso umberto valerio vincenzo vittorio valentina valeria
    vanessa veronica viola vittoria walter
"""
_FIRST_NAMES = frozenset(_COMMON_FIRST_NAMES.split())
_LOWER_INTRODUCED = re.compile(
    r"(?P<lead>(?<![\w.])(?:io sono|sono|sn|saluti,?|cordiali saluti,?|distinti saluti,?|"
    r"firmato:?|a nome di|per conto di)\s+)"
    rf"(?P<name>(?P<first>[a-zà-ÿ'’]+)(?:\s+(?!(?:{_NOT_A_SURNAME})\b)[a-zà-ÿ'’]+)?)",
    re.IGNORECASE,
)
# Capitalised words after "sono" that are not names ("Sono Iscritto" is rare but happens).
_NOT_NAMES = {
    "Comune", "Ancona", "Iscritto", "Iscritta", "Residente", "Disabile", "Anziano",
    "Anziana", "Io", "Qui", "Ancora", "Molto", "Davvero", "Il", "La", "Lo", "Un", "Una",
}  # fmt: skip


def _iban(match: re.Match[str]) -> str:
    found = match.group(0)
    # A real IBAN has mostly digits; "ciao23 come stai" must not look like one.
    return IBAN if sum(c.isdigit() for c in found) >= 10 else found


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    return found if _DATE.search(found) else PHONE  # two dates are a period, not a number


def _digits(match: re.Match[str]) -> str:
    found = match.group(0)
    if _DATE.fullmatch(found):
        return found
    count = sum(c.isdigit() for c in found)
    if found.startswith(("+", "00")) or (count >= 8 and found.lstrip()[0] in "03"):
        return PHONE
    return NUMBER


def _house_number(match: re.Match[str]) -> str:
    start, end = match.span("number")
    whole = match.group(0)
    offset = match.start()
    return whole[: start - offset] + HOUSE_NUMBER + whole[end - offset :]


def _name(match: re.Match[str]) -> str:
    words = match.group("name").split()
    if words[0] in _NOT_NAMES:
        return match.group(0)
    return match.group("lead") + NAME


def _lowercase_name(match: re.Match[str]) -> str:
    if match.group("first").lower() not in _FIRST_NAMES:
        return match.group(0)
    return match.group("lead") + NAME


def mask_names(text: str) -> str:
    """Only the names masked: for an operator's reply, whose numbers and addresses are
    the office's own and must stay."""
    text = _INTRODUCED.sub(_name, text)
    text = _TITLED.sub(_name, text)
    return _LOWER_INTRODUCED.sub(_lowercase_name, text)


def mask(text: str) -> str:
    """The message with personal data replaced by placeholders (``[telefono]``...)."""
    text = _EMAIL.sub(EMAIL, text)
    text = _TAX_CODE.sub(TAX_CODE, text)
    text = _IBAN.sub(_iban, text)
    text = _PHONE.sub(_phone, text)
    text = _DIGITS.sub(_digits, text)
    text = _STREET.sub(_house_number, text)
    return mask_names(text)
