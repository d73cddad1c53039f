"""Numbers said in words ("twenty one point five", "a hundred", "half") turned into digits."""

from __future__ import annotations

import re

UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
WORD = r"(?:" + "|".join(sorted(list(UNITS) + list(TENS) + ["hundred", "a"], key=len, reverse=True)) + r")"
NUMBER_WORDS = re.compile(rf"\b{WORD}(?:[\s-]+(?:and[\s-]+)?{WORD})*(?:\s+point\s+{WORD}(?:\s+{WORD})*)?\b")


DURATIONS_AND_HALVES = (
    (r"\ban hour and a half\b", "90 minutes"), (r"\bhalf an hour\b", "30 minutes"),
    (r"\b(?:a )?quarter of an hour\b", "15 minutes"), (r"\ban hour\b", "60 minutes"),
    (r"\bhalf a degree\b", "0.5 degrees"),
)
"""Amounts said with fractions of a unit, in the unit the catalogue uses."""


def _value(words: list[str]) -> int | None:
    total, current, seen = 0, 0, False
    for word in words:
        if word in UNITS:
            current += UNITS[word]
        elif word in TENS:
            current += TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word == "a":
            current += 1 if not seen else 0
        else:
            return None
        seen = True
    return total + current


def _replace(match: re.Match) -> str:
    text = match.group(0)
    whole, _, fraction = text.partition(" point ")
    words = [w for w in re.split(r"[\s-]+", whole) if w != "and"]
    if words == ["a"]:
        return text
    if words[0] == "a" and (len(words) == 1 or words[1] != "hundred"):
        return "a " + _replace_words(words[1:]) if len(words) > 1 else text
    number = _value(words)
    if number is None:
        return text
    if fraction:
        digits = "".join(str(UNITS.get(w, "")) for w in fraction.split())
        return f"{number}.{digits}" if digits else str(number)
    return str(number)


PRONOUN_BEFORE = re.compile(r"\b(?:the|this|that|which|other|another|front|rear|back|left|right|same|new|last|next|"
                            r"passenger|driver|first|second|every|each|my|your|her|his|big|little|small) $")


def _is_pronoun(number: re.Match) -> bool:
    """ "the front one", "this one": "one" standing for a thing, not a number."""
    return number[0] == "one" and PRONOUN_BEFORE.search(number.string[:number.start()]) is not None


def _replace_words(words: list[str]) -> str:
    number = _value(words)
    return str(number) if number is not None else " ".join(words)


def words_to_digits(text: str) -> str:
    """``"set it to twenty one point five"`` -> ``"set it to 21.5"``; other words are left alone."""
    for amount, digits in DURATIONS_AND_HALVES:
        text = re.sub(amount, digits, text)
    text = re.sub(r"\s+and a half\b", " point five", text)
    text = re.sub(r"\ba couple(?: of)?\b", "2", text)
    text = re.sub(r"\ba few\b", "3", text)
    text = NUMBER_WORDS.sub(lambda number: number[0] if _is_pronoun(number) else _replace(number), text)
    return re.sub(r"\b(\d+) point (\d+)\b", r"\1.\2", text)
