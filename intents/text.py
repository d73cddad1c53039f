"""Normalising what the driver said: case, punctuation, contractions, politeness, numbers in words."""

from __future__ import annotations

import re

from intents.numbers import words_to_digits

CONTRACTIONS = {"what's": "what is", "it's": "it is", "i'm": "i am", "let's": "let us", "we're": "we are",
                "don't": "do not", "that's": "that is", "who's": "who is", "how's": "how is", "i'd": "i would",
                "can't": "cannot", "won't": "will not", "isn't": "is not", "where's": "where is", "there's": "there is"}
POLITE_PREFIX = re.compile(
    r"^(?:(?:hey|hi|ok|okay) (?:car|carvoice|assistant)|hey|hi|okay|ok|so|um|uh|erm|er|hmm|well|actually|wait|"
    r"oh|please|kindly|just|"
    r"(?:could|can|would|will) you(?: please)?|i (?:want|need|would like) you to|i would like to|i want to|"
    r"i wanna|go ahead and|could we|can we|let us|i need you to)\s+")
POLITE_SUFFIX = re.compile(r"\s+(?:please|thanks|thank you|for me|right now|now|ok|okay)$")


def normalize(text: str) -> str:
    """Lower case, symbols as words, contractions expanded, punctuation dropped, politeness trimmed."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"\ba\s*/\s*c\b|\ba\.c\.?|\ba c\b", "ac", text)
    text = text.replace("°c", " degrees celsius").replace("°f", " degrees fahrenheit").replace("°", " degrees")
    text = text.replace("%", " percent")
    for short, full in CONTRACTIONS.items():
        text = re.sub(rf"\b{re.escape(short)}\b", full, text)
    text = re.sub(r"n't\b", " not", text)
    text = re.sub(r"(?<=\w)'s\b", "", text)  # possessive: "my wife's seat" -> "my wife seat"
    text = re.sub(r"(?<=\d)\.(?=\d)", "<dot>", text)
    text = re.sub(r"[^\w\s'<>:-]|(?<!\w)'|'(?!\w)|(?<!\w)-|-(?!\w)", " ", text).replace("<dot>", ".")
    text = " ".join(text.split())
    previous = None
    while previous != text:
        previous = text
        text = POLITE_PREFIX.sub("", text)
        text = POLITE_SUFFIX.sub("", text)
    return text


def with_digits(text: str) -> str:
    return words_to_digits(text)
