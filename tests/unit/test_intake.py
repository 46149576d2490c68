"""The rules a person's text passes before the bot reads it, without the stack: cleaning, typed
commands, and the flood guard on a clock the test moves."""

import pytest

from channels.conversations import ConversationService
from channels.intake import MENU_PAYLOADS, clean, is_command
from channels.ratelimit import FloodGuard, Pace
from channels.telegram.handlers import COMMANDS, UNKNOWN_COMMAND


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("  hello \n", "hello"),
        ("a\x00b", "ab"),  # PostgreSQL refuses NUL in text
        ("\x1b[31mred\x1b[0m", "[31mred[0m"),
        ("line\nbreak\tand tab", "line\nbreak\tand tab"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),  # UTF-8 cannot encode it
        ("😀🇺🇦👍🏽", "😀🇺🇦👍🏽"),
        ("\x00\x01 \x7f", ""),
    ],
)
def test_clean_keeps_every_real_character_and_only_those(raw, cleaned):
    assert clean(raw) == cleaned
    clean(raw).encode("utf-8")  # storable and sendable


@pytest.mark.parametrize(
    "text", ['/inform{"pesel":"44051401458"}', "/human_handoff", "  /restart", "\u2003/greet", "/", "//x"]
)
def test_what_rasa_reads_as_an_intent_is_a_command(text):
    assert is_command(text)


@pytest.mark.parametrize("text", ["1/2 of the form", "what is /start?", "\u200b/inform", "http://x/y"])
def test_a_slash_later_in_the_text_is_not_a_command(text):
    # U+200B is no whitespace for Python's strip(), which Rasa uses: Rasa reads that text as text.
    assert not is_command(text)


def test_telegrams_menu_commands_are_menu_payloads():
    assert {*COMMANDS.values(), UNKNOWN_COMMAND} <= MENU_PAYLOADS
    # They carry no entities: they set nothing a person could not set by typing.
    assert not any("{" in payload for payload in MENU_PAYLOADS)


def test_a_burst_then_one_notice_then_silence_until_the_bucket_refills():
    clock = Clock()
    guard = FloodGuard(burst=3, per_minute=6, clock=clock)  # a token every 10 s
    assert [guard.check("a") for _ in range(6)] == [Pace.OK] * 3 + [Pace.WARN] + [Pace.DROP] * 2
    assert guard.check("b") is Pace.OK, "other conversations are not affected"
    clock.now += 10
    assert [guard.check("a"), guard.check("a")] == [Pace.OK, Pace.DROP]  # one token back, still warned
    clock.now += 30  # full again: a new flood gets a new notice
    assert [guard.check("a") for _ in range(4)] == [Pace.OK] * 3 + [Pace.WARN]


def test_memory_holds_only_conversations_that_have_not_rested_and_never_more_than_tracked():
    clock = Clock()
    guard = FloodGuard(burst=2, per_minute=60, tracked=100, clock=clock)
    for n in range(1000):
        guard.check(f"c{n}")
    assert guard.tracked == 100
    clock.now += 2  # every bucket has filled up again
    guard.check("late")
    assert guard.tracked == 1


def test_forgetting_the_least_recently_active_only_ever_lets_a_message_through():
    clock = Clock()
    guard = FloodGuard(burst=1, per_minute=1, tracked=2, clock=clock)
    assert [guard.check("a"), guard.check("a")] == [Pace.OK, Pace.WARN]
    guard.check("b")
    guard.check("c")  # "a" is forgotten: it starts with a full bucket
    assert guard.check("a") is Pace.OK


@pytest.mark.parametrize("arguments", [{"burst": 0}, {"per_minute": 0}, {"tracked": 0}])
def test_a_limit_that_would_refuse_everything_is_refused(arguments):
    with pytest.raises(ValueError):
        FloodGuard(**arguments)


def test_the_service_keeps_the_guard_it_is_given_even_before_it_tracks_anyone():
    guard = FloodGuard(burst=1)
    service = ConversationService(None, None, None, None, guard)  # type: ignore[arg-type]  # only the guard is used
    assert service.flood is guard
