"""The municipality settings: every fact the assistant tells citizens.

One YAML file per municipality, chosen with ``URP_SETTINGS`` (default: the Ancona
example shipped in ``settings/ancona.yml``). Nothing municipality-specific lives in code,
domain or stories.

Over 500 lines on purpose: one idea, the settings file. Each section's value type, its
defaults and its validation (with the Italian message an office reads) sit side by side,
so that a new setting is one edit here; the parsers build the types, so a split would
need a third module for the types that every feature imports.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from urp.core.hours import WeeklyHours
from urp.core.text import fold

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SETTINGS = PROJECT_ROOT / "settings" / "ancona.yml"
REPORTING_MODES = ("redirect", "collect")
DEFAULT_RETENTION_DAYS = 180
DEFAULT_MESSAGING_LIMIT = 250  # Meta: a new business portfolio starts at 250
# Meta's template categories we use (authentication is for one-time codes only).
TEMPLATE_CATEGORIES = ("marketing", "utility")


class SettingsError(ValueError):
    """The settings file is missing, unreadable or has a wrong value."""


# One client address may send as many messages as this many citizens.
ADDRESS_FACTOR = 10


@dataclass(frozen=True)
class RateLimit:
    burst: int = 30  # messages in a row before the limit
    per_minute: float = 30.0  # then this many a minute

    @property
    def window(self) -> float:
        """Seconds for an empty bucket to be full again."""
        return self.burst * 60.0 / self.per_minute

    @property
    def per_address(self) -> RateLimit:
        """The limit of one client address of the channels whose caller picks the sender."""
        return RateLimit(self.burst * ADDRESS_FACTOR, self.per_minute * ADDRESS_FACTOR)


@dataclass(frozen=True)
class Topic:
    """A subject citizens can follow ("emergenze"), with the words that name it."""

    key: str
    label: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class SubscriptionSettings:
    label_prefix: str  # "Utente" -> "Utente 00001"
    label_digits: int
    subscribe_keywords: tuple[str, ...]  # exact messages that always mean subscribe
    unsubscribe_keywords: tuple[str, ...]
    default_topic: str
    topics: dict[str, Topic]
    # Double opt-in: «Iscrivimi» gets the privacy notice, and only a «SÌ» within
    # confirm_minutes subscribes (subscription.confirm, off by default).
    confirm: bool = False
    confirm_minutes: int = 30

    def label(self, number: int) -> str:
        return f"{self.label_prefix} {number:0{self.label_digits}d}"

    def find_topic(self, words: str) -> Topic | None:
        """The topic a citizen's words name ("allerte meteo" -> emergenze), if any."""
        wanted = fold(words)
        for topic in self.topics.values():
            if wanted in {fold(topic.key), fold(topic.label), *map(fold, topic.synonyms)}:
                return topic
        return None


@dataclass(frozen=True)
class Office:
    """A municipal office citizens ask the hours of ("orari anagrafe")."""

    key: str
    label: str
    synonyms: tuple[str, ...]
    hours: WeeklyHours
    address: str
    phone: str


@dataclass(frozen=True)
class Closure:
    """Days the URP is closed beyond public holidays (both ends included)."""

    start: date
    end: date
    reason: str


@dataclass(frozen=True)
class BathingSeason:
    """The bathing season as (month, day) bounds, both included, every year."""

    start: tuple[int, int]
    end: tuple[int, int]

    def includes(self, day: date) -> bool:
        return self.start <= (day.month, day.day) <= self.end


@dataclass(frozen=True)
class HandoffSettings:
    """Timeouts of the chats handed over to the office (section ``handoff``)."""

    remind_after: timedelta = timedelta(hours=2)  # pending this long in hours: tell again
    release_after: timedelta = timedelta(minutes=30)  # an operator's chat idle this long...
    idle_action: str = "release"  # ...goes back to the queue ("release") or is closed


IDLE_ACTIONS = ("release", "resolve")


@dataclass(frozen=True)
class MessageTemplate:
    """A WhatsApp template approved by Meta: the only messages allowed outside 24 hours."""

    name: str  # as approved in WhatsApp Manager, e.g. "urp_risposta"
    language: str = "it"
    # The category Meta approved it in: what each message costs (WhatsAppPrices). Marketing
    # when unsaid, the dearer one, so that an estimate never understates the cost.
    category: str = "marketing"


@dataclass(frozen=True)
class WhatsAppPrices:
    """What Meta charges per message delivered, by category (section ``whatsapp.prices``).

    Since 1 July 2025 Meta bills per message: every marketing template, a utility
    template only outside the customer service window (free inside it), free-form
    ("service") messages nothing inside the window. The defaults are Italy's rates in euro
    of Meta's list at the time of writing: the office checks them on Meta's rate card,
    since Meta revises them a few times a year.
    """

    currency: str = "EUR"
    marketing: float = 0.0572
    utility: float = 0.0248
    service: float = 0.0  # a free-form message inside the window: free, unless Meta says

    def per_message(self, category: str, *, in_window: bool = False) -> float:
        """One message of ``category`` ("service": free-form) to a citizen in or out of the
        24-hour window."""
        if category == "utility" and in_window:
            return 0.0
        return float(getattr(self, category, self.marketing))

    def money(self, amount: float, *, digits: int = 2) -> str:
        """«€ 1.234,50» as an Italian office reads money (``digits``: 4 for a price)."""
        symbol = "€" if self.currency == "EUR" else self.currency
        text = f"{amount:,.{digits}f}"
        return f"{symbol} " + text.replace(",", "X").replace(".", ",").replace("X", ".")


@dataclass(frozen=True)
class FaqSettings:
    """How sure the FAQ search must be, and the office's synonyms (section ``faq``)."""

    # Probabilities that the best entry is the right one (urp/faq/confidence.py), chosen by
    # `make eval-faq` on citizens' questions (tests/faq/tuning.yml, docs/nlu-report.md).
    answer_threshold: float = 0.89  # at least this (and `margin` ahead of the next): answer
    suggest_threshold: float = 0.55  # from here to the answer: «Forse cerchi:»
    margin: float = 0.0  # lead in score on the second entry required on top of the model
    # Both ways: "tari" finds «tassa rifiuti» and the other way round.
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The built-in thesaurus of municipal Italian (urp/faq/thesaurus.yml) after the office's.
    builtin_synonyms: bool = True


@dataclass(frozen=True)
class Settings:
    municipality: str  # "Ancona"
    display_name: str  # "Comune di Ancona"
    province_code: str  # for the patron saint's holiday
    timezone: ZoneInfo
    website: str
    urp_phone: str
    urp_email: str
    service_hours: WeeklyHours
    policy_url: str
    policy_version: str
    reporting_mode: str
    reporting_url: str
    reporting_code_prefix: str  # protocol codes: SEG-2026-000123
    subscription: SubscriptionSettings
    closures: tuple[Closure, ...]
    offices: dict[str, Office]
    memo_header: str  # "MEMO COMUNE DI ANCONA"
    pharmacy_fallback: str  # who to ask when the calendar has no shift for a day
    bathing_season: BathingSeason | None  # None: no bathing waters in the municipality
    example_data: Path | None  # office data loaded by `make run` into an empty store
    source: Path
    handoff: HandoffSettings = HandoffSettings()
    # How long conversations, handoff transcripts, reporters' numbers and WhatsApp delivery
    # records are kept (privacy.retention_days): `urp privacy purge` deletes older ones.
    retention: timedelta = timedelta(days=DEFAULT_RETENTION_DAYS)
    # By purpose: "reply" carries an operator's (or the bot's) late answer in {{1}}.
    whatsapp_templates: Mapping[str, MessageTemplate] = field(default_factory=dict)
    # Meta's messaging limit (whatsapp.messaging_limit): distinct recipients of templates
    # outside the 24-hour window per rolling 24 hours; 250 on a new number, None: unlimited.
    whatsapp_messaging_limit: int | None = DEFAULT_MESSAGING_LIMIT
    whatsapp_prices: WhatsAppPrices = field(default_factory=WhatsAppPrices)
    # The office's WhatsApp number as written for people («+39 071 222 2222»), where web
    # citizens are sent to subscribe (whatsapp.number); None: the office has none.
    whatsapp_number: OfficeNumber | None = None
    rate_limit: RateLimit = field(default_factory=RateLimit)
    faq: FaqSettings = field(default_factory=FaqSettings)

    def find_office(self, words: str) -> Office | None:
        """The office the citizen's words name ("ufficio anagrafe" -> anagrafe), if any."""
        wanted = fold(words)
        for office in self.offices.values():
            if wanted in {fold(office.key), fold(office.label), *map(fold, office.synonyms)}:
                return office
        return None

    def facts(self) -> dict[str, str]:
        """The values responses quote, keyed by the slot that carries each one."""
        return {
            "urp_comune": self.display_name,
            "urp_phone": self.urp_phone,
            "urp_email": self.urp_email,
            "urp_hours": self.service_hours.describe(),
            "urp_website": self.website,
            "urp_policy_url": self.policy_url,
            "urp_report_url": self.reporting_url,
            "urp_pharmacy_fallback": self.pharmacy_fallback,
        }


def _require(data: dict[str, Any], dotted: str, source: Path) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or node.get(part) in (None, ""):
            raise SettingsError(f"{source}: manca il valore obbligatorio '{dotted}'")
        node = node[part]
    return node


def _url(data: dict[str, Any], dotted: str, source: Path) -> str:
    value = str(_require(data, dotted, source)).strip()
    if not value.startswith(("https://", "http://")):
        raise SettingsError(f"{source}: '{dotted}' deve essere un indirizzo web, non {value!r}")
    return value


def _subscription(data: dict[str, Any], source: Path) -> SubscriptionSettings:
    section = data.get("subscription") or {}
    if not isinstance(section, dict):
        raise SettingsError(f"{source}: 'subscription' deve essere una mappa")
    raw_topics = section.get("topics") or {"memo": {"label": "Memo", "synonyms": ["memo"]}}
    if not isinstance(raw_topics, dict):
        raise SettingsError(f"{source}: 'subscription.topics' deve elencare i temi")
    topics = {}
    for key, spec in raw_topics.items():
        spec = spec or {}
        if not isinstance(spec, dict):
            raise SettingsError(f"{source}: subscription.topics.{key} deve essere una mappa")
        synonyms = spec.get("synonyms") or []
        if not isinstance(synonyms, list):
            raise SettingsError(
                f"{source}: subscription.topics.{key}.synonyms deve essere una lista"
            )
        topics[str(key)] = Topic(
            str(key), str(spec.get("label") or key), tuple(str(s) for s in synonyms)
        )
    default_topic = str(section.get("default_topic") or next(iter(topics)))
    if default_topic not in topics:
        raise SettingsError(
            f"{source}: subscription.default_topic '{default_topic}' non è tra i temi"
        )
    digits = section.get("label_digits", 5)
    if not isinstance(digits, int) or not 1 <= digits <= 12:
        raise SettingsError(f"{source}: subscription.label_digits deve essere tra 1 e 12")
    keywords = section.get("keywords") or {}
    confirm = section.get("confirm", False)
    if not isinstance(confirm, bool):
        raise SettingsError(f"{source}: subscription.confirm deve essere true o false")
    confirm_minutes = section.get("confirm_minutes", 30)
    if not isinstance(confirm_minutes, int) or not 1 <= confirm_minutes <= 7 * 24 * 60:
        raise SettingsError(
            f"{source}: subscription.confirm_minutes deve essere un numero di minuti da 1 a 10080"
        )

    def _words(name: str, default: str) -> tuple[str, ...]:
        values = keywords.get(name) or [default]
        return tuple(fold(str(v)) for v in values)

    return SubscriptionSettings(
        label_prefix=str(section.get("label_prefix") or "Utente"),
        label_digits=digits,
        subscribe_keywords=_words("subscribe", "iscrivimi"),
        unsubscribe_keywords=_words("unsubscribe", "cancellami"),
        default_topic=default_topic,
        topics=topics,
        confirm=confirm,
        confirm_minutes=confirm_minutes,
    )


def _date(value: Any, where: str, source: Path) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise SettingsError(f"{source}: {where}: data non valida {value!r} (AAAA-MM-GG)") from error


def _closures(data: dict[str, Any], source: Path) -> tuple[Closure, ...]:
    closures = []
    for index, item in enumerate(data.get("urp", {}).get("closures") or []):
        where = f"urp.closures[{index}]"
        if not isinstance(item, dict):
            raise SettingsError(f"{source}: {where} deve avere 'date' oppure 'from' e 'to'")
        start = _date(item.get("date") or item.get("from"), where, source)
        end = _date(item.get("date") or item.get("to") or start, where, source)
        if end < start:
            raise SettingsError(f"{source}: {where}: 'to' precede 'from'")
        closures.append(Closure(start, end, str(item.get("reason") or "chiusura straordinaria")))
    return tuple(closures)


def _offices(data: dict[str, Any], source: Path) -> dict[str, Office]:
    raw = data.get("offices") or {}
    if not isinstance(raw, dict):
        raise SettingsError(f"{source}: 'offices' deve elencare gli uffici")
    offices = {}
    for key, spec in raw.items():
        where = f"offices.{key}"
        if not isinstance(spec, dict) or not isinstance(spec.get("hours"), dict):
            raise SettingsError(f"{source}: {where} deve avere 'hours' con i giorni")
        try:
            hours = WeeklyHours.parse(spec["hours"])
        except ValueError as error:
            raise SettingsError(f"{source}: {where}.hours: {error}") from error
        offices[str(key)] = Office(
            key=str(key),
            label=str(spec.get("label") or key),
            synonyms=tuple(str(s) for s in spec.get("synonyms") or []),
            hours=hours,
            address=str(spec.get("address") or ""),
            phone=str(spec.get("phone") or ""),
        )
    return offices


def _month_day(value: Any, where: str, source: Path) -> tuple[int, int]:
    try:
        month, day = (int(part) for part in str(value).split("-"))
        date(2024, month, day)  # a leap year accepts 02-29
    except ValueError as error:
        raise SettingsError(f"{source}: {where}: usa il formato MM-GG, non {value!r}") from error
    return month, day


def _bathing_season(data: dict[str, Any], source: Path) -> BathingSeason | None:
    season = (data.get("bathing") or {}).get("season")
    if not season:
        return None
    start = _month_day(season.get("from"), "bathing.season.from", source)
    end = _month_day(season.get("to"), "bathing.season.to", source)
    if end < start:
        raise SettingsError(f"{source}: bathing.season: 'to' precede 'from'")
    return BathingSeason(start, end)


def _minutes(section: dict[str, Any], key: str, default: timedelta, source: Path) -> timedelta:
    value = section.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingsError(f"{source}: handoff.{key} deve essere un numero intero di minuti")
    return timedelta(minutes=value)


def _retention(data: dict[str, Any], source: Path) -> timedelta:
    value = (data.get("privacy") or {}).get("retention_days", DEFAULT_RETENTION_DAYS)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        raise SettingsError(
            f"{source}: privacy.retention_days deve essere un numero intero di giorni (1-3650)"
        )
    return timedelta(days=value)


def _handoff(data: dict[str, Any], source: Path) -> HandoffSettings:
    section = data.get("handoff") or {}
    if not isinstance(section, dict):
        raise SettingsError(f"{source}: 'handoff' deve essere una mappa")
    defaults = HandoffSettings()
    idle_action = str(section.get("idle_action", defaults.idle_action))
    if idle_action not in IDLE_ACTIONS:
        raise SettingsError(f"{source}: handoff.idle_action deve essere uno di {IDLE_ACTIONS}")
    return HandoffSettings(
        remind_after=_minutes(section, "remind_after_minutes", defaults.remind_after, source),
        release_after=_minutes(section, "idle_after_minutes", defaults.release_after, source),
        idle_action=idle_action,
    )


def _whatsapp_messaging_limit(data: dict[str, Any], source: Path) -> int | None:
    """Meta's tiers are 250, 2,000, 10,000, 100,000 and unlimited ("illimitato")."""
    section = data.get("whatsapp") or {}
    value = (
        section.get("messaging_limit", DEFAULT_MESSAGING_LIMIT)
        if isinstance(section, dict)
        else DEFAULT_MESSAGING_LIMIT
    )
    if value is None or str(value).strip().lower() in ("illimitato", "unlimited"):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingsError(
            f"{source}: whatsapp.messaging_limit deve essere un numero intero positivo "
            "(250, 2000, 10000, 100000) o «illimitato»"
        )
    return value


# E.164: a country code and the number, at most 15 digits in all.
_E164_DIGITS = re.compile(r"[1-9]\d{7,14}")
_NUMBER_SEPARATORS = re.compile(r"[\s./()-]")


@dataclass(frozen=True)
class OfficeNumber:
    digits: str  # as wa.me wants it: 390712222222
    written: str  # as the settings write it, for people: «+39 071 222 2222»


def parse_office_number(value: Any, source: Path | str = "impostazioni") -> OfficeNumber:
    """A number written for people, with the digits wa.me wants (``390712222222``).

    Only the international form is accepted («+39 071 222 2222» or «0039 071 ...»): a
    number without its country code would open a chat with somebody else abroad.
    """
    text = _NUMBER_SEPARATORS.sub("", str(value))
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    else:
        digits = ""
    if not _E164_DIGITS.fullmatch(digits):
        raise SettingsError(
            f"{source}: whatsapp.number deve essere un numero in formato internazionale, "
            f'per esempio "+39 071 222 2222", non {value!r}'
        )
    return OfficeNumber(digits, " ".join(str(value).split()))


def _whatsapp_number(data: dict[str, Any], source: Path) -> OfficeNumber | None:
    section = data.get("whatsapp")
    value = section.get("number") if isinstance(section, dict) else None
    if value in (None, ""):
        return None
    return parse_office_number(value, source)


def _whatsapp_templates(data: dict[str, Any], source: Path) -> dict[str, MessageTemplate]:
    section = (data.get("whatsapp") or {}).get("templates") or {}
    if not isinstance(section, dict):
        raise SettingsError(f"{source}: 'whatsapp.templates' deve essere una mappa")
    templates = {}
    for purpose, spec in section.items():
        if not isinstance(spec, dict) or not str(spec.get("name") or "").strip():
            raise SettingsError(f"{source}: whatsapp.templates.{purpose} deve avere un 'name'")
        language = str(spec.get("language") or "it")
        category = str(spec.get("category") or "marketing").strip().lower()
        if category not in TEMPLATE_CATEGORIES:
            raise SettingsError(
                f"{source}: whatsapp.templates.{purpose}.category deve essere "
                f"marketing o utility (come approvato da Meta), non {category!r}"
            )
        templates[str(purpose)] = MessageTemplate(str(spec["name"]).strip(), language, category)
    return templates


def _whatsapp_prices(data: dict[str, Any], source: Path) -> WhatsAppPrices:
    section = (data.get("whatsapp") or {}).get("prices") or {}
    if not isinstance(section, dict):
        raise SettingsError(f"{source}: 'whatsapp.prices' deve essere una mappa")
    default = WhatsAppPrices()
    currency = str(section.get("currency") or default.currency).strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise SettingsError(f"{source}: whatsapp.prices.currency deve essere un codice come EUR")
    prices = {}
    for category in (*TEMPLATE_CATEGORIES, "service"):
        value = section.get(category, getattr(default, category))
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 10:
            raise SettingsError(
                f"{source}: whatsapp.prices.{category} deve essere un prezzo per messaggio "
                "(per esempio 0.0572)"
            )
        prices[category] = float(value)
    return WhatsAppPrices(currency=currency, **prices)


MAPPING_SECTIONS = (
    "municipality",
    "urp",
    "privacy",
    "reporting",
    "subscription",
    "offices",
    "memo",
    "pharmacies",
    "bathing",
    "handoff",
    "whatsapp",
    "rate_limit",
    "faq",
)


def _rate_limit(data: dict[str, Any], source: Path) -> RateLimit:
    section = data.get("rate_limit") or {}
    if not isinstance(section, dict):
        raise SettingsError(f"{source}: 'rate_limit' deve essere una mappa")
    default = RateLimit()
    burst, per_minute = (
        section.get("burst", default.burst),
        section.get("per_minute", default.per_minute),
    )
    if isinstance(burst, bool) or not isinstance(burst, int) or not 1 <= burst <= 1000:
        raise SettingsError(f"{source}: rate_limit.burst deve essere un intero tra 1 e 1000")
    if (
        isinstance(per_minute, bool)
        or not isinstance(per_minute, int | float)
        or not 0.1 <= per_minute <= 10_000
    ):
        raise SettingsError(f"{source}: rate_limit.per_minute deve essere tra 0,1 e 10000")
    return RateLimit(burst=burst, per_minute=float(per_minute))


def _faq(data: dict[str, Any], source: Path) -> FaqSettings:
    section, default = data.get("faq") or {}, FaqSettings()
    scores = {}
    for key in ("answer_threshold", "suggest_threshold", "margin"):
        value = section.get(key, getattr(default, key))
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            kind = "un numero" if key == "margin" else "una probabilità"
            raise SettingsError(f"{source}: faq.{key} deve essere {kind} tra 0 e 1")
        scores[key] = float(value)
    if scores["suggest_threshold"] > scores["answer_threshold"]:
        raise SettingsError(f"{source}: faq.suggest_threshold supera faq.answer_threshold")
    synonyms = section.get("synonyms") or {}
    if not isinstance(synonyms, dict) or not all(
        isinstance(words, list) and all(isinstance(w, str) and w.strip() for w in words)
        for words in synonyms.values()
    ):
        raise SettingsError(f"{source}: faq.synonyms: a ogni parola una lista di sinonimi")
    builtin = section.get("builtin_synonyms", default.builtin_synonyms)
    if not isinstance(builtin, bool):
        raise SettingsError(f"{source}: faq.builtin_synonyms deve essere true o false")
    return FaqSettings(
        **scores,
        synonyms={str(k): tuple(str(w) for w in v) for k, v in synonyms.items()},
        builtin_synonyms=builtin,
    )


def parse_settings(data: Any, source: Path) -> Settings:
    """Validate the parsed YAML of a settings file; raise :class:`SettingsError`."""
    try:
        return _parse_settings(data, source)
    except SettingsError:
        raise
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as error:
        # A value of the wrong shape deep inside a section (a number where a list goes...).
        raise SettingsError(f"{source}: un valore ha la forma sbagliata ({error})") from error


def _parse_settings(data: Any, source: Path) -> Settings:
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: il file deve contenere una mappa YAML")
    # An empty section ("reporting:" alone) is an absent one.
    data = {key: value for key, value in data.items() if value is not None}
    for section in MAPPING_SECTIONS:
        if section in data and not isinstance(data[section], dict):
            raise SettingsError(f"{source}: '{section}' deve essere una mappa")
    try:
        timezone = ZoneInfo(str(data.get("timezone", "Europe/Rome")))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise SettingsError(f"{source}: fuso orario non valido ({error})") from error
    hours_spec = _require(data, "urp.service_hours", source)
    if not isinstance(hours_spec, dict):
        raise SettingsError(f"{source}: 'urp.service_hours' deve elencare i giorni")
    try:
        hours = WeeklyHours.parse(hours_spec)
    except ValueError as error:
        raise SettingsError(f"{source}: urp.service_hours: {error}") from error
    mode = str(data.get("reporting", {}).get("mode", "redirect"))
    if mode not in REPORTING_MODES:
        raise SettingsError(f"{source}: reporting.mode deve essere uno di {REPORTING_MODES}")
    name = str(_require(data, "municipality.name", source))
    display_name = str(data["municipality"].get("display_name") or f"Comune di {name}")
    return Settings(
        municipality=name,
        display_name=display_name,
        province_code=str(_require(data, "municipality.province_code", source)).upper(),
        timezone=timezone,
        website=_url(data, "municipality.website", source),
        urp_phone=str(_require(data, "urp.phone", source)),
        urp_email=str(_require(data, "urp.email", source)),
        service_hours=hours,
        policy_url=_url(data, "privacy.policy_url", source),
        policy_version=str(_require(data, "privacy.policy_version", source)),
        reporting_mode=mode,
        reporting_url=_url(data, "reporting.platform_url", source),
        reporting_code_prefix=str(data.get("reporting", {}).get("code_prefix") or "SEG"),
        subscription=_subscription(data, source),
        closures=_closures(data, source),
        offices=_offices(data, source),
        memo_header=str((data.get("memo") or {}).get("header") or f"MEMO {display_name.upper()}"),
        pharmacy_fallback=str(_require(data, "pharmacies.fallback_contact", source)),
        bathing_season=_bathing_season(data, source),
        example_data=(
            source.parent / str(data["example_data"]) if data.get("example_data") else None
        ),
        source=source,
        handoff=_handoff(data, source),
        retention=_retention(data, source),
        whatsapp_templates=_whatsapp_templates(data, source),
        whatsapp_messaging_limit=_whatsapp_messaging_limit(data, source),
        whatsapp_prices=_whatsapp_prices(data, source),
        whatsapp_number=_whatsapp_number(data, source),
        rate_limit=_rate_limit(data, source),
        faq=_faq(data, source),
    )


def settings_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The file to read: ``path``, else ``URP_SETTINGS``, else the Ancona example.

    A relative path is taken from the working directory, else from the project root.
    """
    source = Path(path or os.environ.get("URP_SETTINGS") or DEFAULT_SETTINGS)
    if not source.is_absolute() and not source.exists():
        source = PROJECT_ROOT / source
    return source


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate a settings file (see :func:`settings_path`)."""
    source = settings_path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"impossibile leggere le impostazioni {source}: {error}") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SettingsError(f"{source}: YAML non valido ({error})") from error
    return parse_settings(data, source)


@lru_cache(maxsize=4)
def _cached(path: str, mtime_ns: int) -> Settings:
    return load_settings(path)


def current_settings() -> Settings:
    """Settings for long-running servers: re-read when the file changes on disk."""
    source = settings_path()
    try:
        mtime = source.stat().st_mtime_ns
    except OSError as error:
        raise SettingsError(f"impossibile leggere le impostazioni {source}: {error}") from error
    return _cached(str(source), mtime)
