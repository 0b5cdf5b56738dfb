"""Per-sender rate limit (urp.inbound.ratelimit) and every channel's door to Rasa (channels.gate)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from channels import gate
from urp.core.settings import RateLimit, SettingsError, parse_settings
from urp.inbound.cleaning import EMPTY_TEXT
from urp.inbound.ratelimit import RateLimiter, Verdict, client_address, sender_key, trusted_proxies

LIMIT = RateLimit(burst=3, per_minute=6)  # a token every 10 seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _redis_url() -> str:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_timeout=1).ping()
    except Exception:
        pytest.skip("Redis non raggiungibile")
    return url


@pytest.fixture(params=["memory", "redis"])
def make_limiter(request: pytest.FixtureRequest) -> Any:
    url = _redis_url() if request.param == "redis" else None

    def make(clock: Clock) -> RateLimiter:
        return RateLimiter(LIMIT, redis_url=url, clock=clock)

    return make


def test_a_flood_gets_one_notice_then_drops_and_recovers(make_limiter: Any) -> None:
    clock = Clock()
    limiter = make_limiter(clock)
    sender = f"39333{uuid.uuid4().int % 10**7}"
    verdicts = [limiter.check(sender) for _ in range(8)]
    assert verdicts == [Verdict.PASS] * 3 + [Verdict.NOTICE] + [Verdict.DROP] * 4
    assert limiter.dropped == 5
    clock.now += 10  # one token back
    assert limiter.check(sender) is Verdict.PASS
    # Still in the notice's window (30 s): dropped without a second notice.
    assert limiter.check(sender) is Verdict.DROP
    clock.now += 25  # the window is over: one more notice for a flood still going
    assert [limiter.check(sender) for _ in range(4)] == [Verdict.PASS] * 2 + [
        Verdict.NOTICE,
        Verdict.DROP,
    ]


def test_other_senders_are_unaffected(make_limiter: Any) -> None:
    limiter = make_limiter(Clock())
    flooder, other = f"a{uuid.uuid4().hex}", f"b{uuid.uuid4().hex}"
    for _ in range(20):
        limiter.check(flooder)
    assert [limiter.check(other) for _ in range(3)] == [Verdict.PASS] * 3


def test_replicas_share_the_buckets_through_redis() -> None:
    url = _redis_url()
    clock = Clock()
    one, two = (RateLimiter(LIMIT, redis_url=url, clock=clock) for _ in range(2))
    sender = uuid.uuid4().hex
    assert [one.check(sender), two.check(sender), one.check(sender)] == [Verdict.PASS] * 3
    assert two.check(sender) is Verdict.NOTICE


def test_redis_down_fails_open() -> None:
    limiter = RateLimiter(LIMIT, redis_url="redis://127.0.0.1:1/0")
    assert all(limiter.check("x") is Verdict.PASS for _ in range(10))
    assert asyncio.run(limiter.check_async("x")) is Verdict.PASS


def test_a_server_asks_without_blocking_and_gets_the_same_verdicts(make_limiter: Any) -> None:
    """What the channels call: the same buckets as check, shared with it."""
    clock = Clock()
    limiter = make_limiter(clock)
    sender = uuid.uuid4().hex

    async def flood() -> list[Verdict]:
        return [await limiter.check_async(sender) for _ in range(5)]

    assert asyncio.run(flood()) == [Verdict.PASS] * 3 + [Verdict.NOTICE, Verdict.DROP]
    assert limiter.check(sender) is Verdict.DROP  # the same bucket
    assert limiter.dropped == 3
    clock.now += 10
    assert asyncio.run(flood())[0] is Verdict.PASS  # a new event loop: a new client


def test_the_event_loop_runs_on_while_redis_makes_the_limit_wait() -> None:
    url = _redis_url()
    import redis

    limiter = RateLimiter(LIMIT, redis_url=url, clock=Clock())
    admin = redis.Redis.from_url(url)

    async def ask_while_ticking() -> tuple[int, Verdict]:
        # The script writes: it waits until the pause ends, which this loop does after ticking
        # ten times while the answer is pending. A client that blocked the loop would tick
        # only after Redis's own 20 s, with the answer in: however slow the machine, only a
        # blocking client fails.
        admin.execute_command("CLIENT", "PAUSE", "20000", "WRITE")
        asking = asyncio.create_task(limiter.check_async(uuid.uuid4().hex))
        pending_ticks = 0
        while not asking.done():
            pending_ticks += 1
            if pending_ticks == 10:
                admin.execute_command("CLIENT", "UNPAUSE")
            await asyncio.sleep(0.01)
        return pending_ticks, await asking

    try:
        ticks, verdict = asyncio.run(ask_while_ticking())
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
        admin.close()
    assert verdict is Verdict.PASS
    assert ticks >= 10


def test_the_sender_key_hides_the_number() -> None:
    assert "393331234567" not in sender_key("393331234567")
    assert sender_key("393331234567") == sender_key("393331234567")


def _settings(tmp: Path, section: Any) -> Any:
    data = yaml.safe_load(Path("settings/ancona.yml").read_text(encoding="utf-8"))
    data["rate_limit"] = section
    return parse_settings(data, tmp / "s.yml")


def test_settings_carry_the_limit(tmp_path: Path) -> None:
    assert _settings(tmp_path, {"burst": 5, "per_minute": 2}).rate_limit == RateLimit(5, 2.0)


@pytest.mark.parametrize(
    "section",
    [
        "tanti",
        {"burst": 0},
        {"burst": "10"},
        {"burst": True},
        {"per_minute": 0},
        {"per_minute": []},
    ],
)
def test_settings_refuse_a_bad_limit(tmp_path: Path, section: Any) -> None:
    with pytest.raises(SettingsError, match="rate_limit"):
        _settings(tmp_path, section)


def test_the_gate_cleans_the_text_and_answers_a_flood_once() -> None:
    gate.use_limiter(RateLimiter(RateLimit(burst=2, per_minute=1), clock=Clock()))
    received: list[UserMessage] = []

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)

    async def run() -> tuple[list[bool], CollectingOutputChannel]:
        output = CollectingOutputChannel()
        passed = [
            await gate.admit(on_new_message, text, output, "citizen", input_channel="rest")
            for text in ("\x00 \x1b", "orari\x07 anagrafe", "ancora", "e ancora")
        ]
        return passed, output

    try:
        passed, output = asyncio.run(run())
        other = CollectingOutputChannel()
        assert asyncio.run(
            gate.admit(on_new_message, "ciao", other, "someone else", input_channel="rest")
        )
    finally:
        gate.use_limiter(None)
    assert passed == [True, True, False, False]
    assert [m.text for m in received] == [EMPTY_TEXT, "orari anagrafe", "ciao"]
    assert [m["text"] for m in output.messages] == [gate.notice_text()]
    assert "velocemente" in gate.notice_text()


# --- the limit per client address (channels whose caller picks the sender) ----------------


def test_new_senders_from_one_address_share_its_bucket(make_limiter: Any) -> None:
    clock = Clock()
    limiter = make_limiter(clock)
    address = f"192.0.2.{uuid.uuid4().int % 250}-{uuid.uuid4().hex}"
    per_address = LIMIT.per_address.burst
    verdicts = [limiter.check(uuid.uuid4().hex, address=address) for _ in range(per_address + 3)]
    assert verdicts == [Verdict.PASS] * per_address + [Verdict.NOTICE] + [Verdict.DROP] * 2
    assert limiter.check(uuid.uuid4().hex, address=f"other-{address}") is Verdict.PASS
    assert limiter.check(uuid.uuid4().hex) is Verdict.PASS  # no address: the sender only
    clock.now += LIMIT.per_address.window  # the address's bucket is full again
    assert limiter.check(uuid.uuid4().hex, address=address) is Verdict.PASS


def test_an_address_counts_under_the_limit_per_address(make_limiter: Any) -> None:
    async def flood() -> list[Verdict]:
        limiter = make_limiter(Clock())
        address = uuid.uuid4().hex
        return [await limiter.check_async(uuid.uuid4().hex, address=address) for _ in range(31)]

    assert LIMIT.per_address == RateLimit(burst=30, per_minute=60)
    assert asyncio.run(flood())[-2:] == [Verdict.PASS, Verdict.NOTICE]


TRUSTED = trusted_proxies({"URP_TRUSTED_PROXIES": "127.0.0.1, ::1, 10.0.0.0/8"})


@pytest.mark.parametrize(
    ("peer", "forwarded", "address"),
    [
        ("198.51.100.7", [], "198.51.100.7"),
        ("198.51.100.7", ["203.0.113.1"], "198.51.100.7"),  # not a proxy: its header ignored
        ("127.0.0.1", ["203.0.113.1"], "203.0.113.1"),
        ("127.0.0.1", ["1.1.1.1, 203.0.113.1"], "203.0.113.1"),  # the client's own is left
        ("127.0.0.1", ["203.0.113.1, 10.1.2.3"], "203.0.113.1"),  # two proxies in a row
        ("127.0.0.1", ["1.1.1.1", "203.0.113.1"], "203.0.113.1"),  # two headers
        ("127.0.0.1", ["nonsense"], None),  # the proxy is the client: this machine
        ("127.0.0.1", [], None),
        ("::1", [], None),
        ("::ffff:198.51.100.7", [], "198.51.100.7"),
        ("2001:db8:1:2:3:4:5:6", [], "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", [], "2001:db8:1:2::/64"),
        ("", [], None),
        ("not an address", [], None),
    ],
)
def test_the_client_address(peer: str, forwarded: list[str], address: str | None) -> None:
    assert client_address(peer, forwarded, TRUSTED) == address


def test_trusted_proxies_from_the_environment() -> None:
    assert [str(n) for n in trusted_proxies({})] == ["127.0.0.1/32", "::1/128"]
    assert trusted_proxies({"URP_TRUSTED_PROXIES": "none"}) == ()
    assert client_address("127.0.0.1", ["203.0.113.1"], ()) is None
    with pytest.raises(ValueError, match="URP_TRUSTED_PROXIES"):
        trusted_proxies({"URP_TRUSTED_PROXIES": "nginx.local"})
