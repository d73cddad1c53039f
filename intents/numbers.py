"""Numbers said in words ("twenty one point five", "a hundred", "half") turned into digits."""

from __future__ import annotations

import re

UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
WORD = r"(?:" + "|".join(sorted(list(UNITS) + list(TENS) + ["hundred", "a"], key=len, reverse=True)) + r")"
NUMBER_WORDS = re.compile(rf"\b{WORD}(?:[\s-]+(?:and[\s-]+)?{WORD})*(?:\s+point\s+{WORD}(?:\s+{WORD})*)?\b")


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


def _replace_words(words: list[str]) -> str:
    number = _value(words)
    return str(number) if number is not None else " ".join(words)


def words_to_digits(text: str) -> str:
    """``"set it to twenty one point five"`` -> ``"set it to 21.5"``; other words are left alone."""
    text = re.sub(r"\s+and a half\b", " point five", text)
    text = re.sub(r"\ba couple(?: of)?\b", "2", text)
    text = re.sub(r"\ba few\b", "3", text)
    text = NUMBER_WORDS.sub(_replace, text)
    return re.sub(r"\b(\d+) point (\d+)\b", r"\1.\2", text)
