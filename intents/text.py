"""Normalising what the driver said: case, punctuation, contractions, politeness, numbers in words."""

from __future__ import annotations

import re

from intents.numbers import words_to_digits

CONTRACTIONS = {"what's": "what is", "it's": "it is", "i'm": "i am", "let's": "let us", "we're": "we are",
                "don't": "do not", "that's": "that is", "who's": "who is", "how's": "how is", "i'd": "i would",
                "can't": "cannot", "won't": "will not", "isn't": "is not", "where's": "where is", "there's": "there is"}
UNMARKED_CONTRACTIONS = {"whats": "what is", "im": "i am", "dont": "do not", "doesnt": "does not", "didnt": "did not",
                         "cant": "cannot", "isnt": "is not", "thats": "that is", "hows": "how is", "wheres": "where is",
                         "theres": "there is", "youre": "you are", "ive": "i have", "wanna": "want to"}
"""Contractions as speech recognisers often write them, without the apostrophe; "its" is "it is" only where a
sentence or clause starts with it ("its freezing in here"), elsewhere it is the possessive."""
CLAUSE_START_ITS = re.compile(r"(^|\b(?:and|but|so|because|cause) )its\b")
REQUEST_VERBS = frozenset(
    "open close turn switch set put play pause stop skip mute unmute raise lower increase decrease reduce heat cool "
    "warm start take make navigate bring change adjust crack roll find get drive defrost demist resume cancel "
    "show tell read keep".split())
HESITATIONS = re.compile(r"\b(?:um+|uh+|uhm|erm|er|hmm+|mm+)\b")
"""Sounds of hesitation, anywhere in a sentence ("turn the fan down um no actually up"): never a word of it."""
INTERJECTIONS = frozenset("brr brrr man ugh urgh wow phew gosh jeez geez god oof ooh ah ahh argh damn dang whoa yikes "
                          "boy hm hmm huh".split())
"""Exclamations that open a sentence ("brr, I'm freezing", "man, it's boiling"): neither a request nor a name."""
POLITE_PREFIX = re.compile(
    r"^(?:(?:hey|hi|ok|okay) (?:car|carvoice|assistant)|hey|hi|okay|ok|so|um|uh|erm|er|hmm|well|actually|wait|"
    rf"(?:oh )?(?:{'|'.join(sorted(INTERJECTIONS))})|"
    r"oh|please|kindly|just|now|i think|no(?= (?:go back|undo)\b)|"
    r"(?:could|can|would|will)(?: not)? you(?: please| maybe| possibly| perhaps)?|cannot you|i (?:want|need|would like) you to|"
    r"i would like to|i want to|i wanna|i (?:want|would like|need|prefer) it(?= (?:\w+ ){0,3}\w+er\b)|(?:would|will) it be possible to|is it possible to|(?:(?:can|could) (?:you )?)?tell me(?= (?:what|how|who|where|when|which)\b)|(?:can|could) i (?:get|have)|i (?:would like|want|need) (?=(?:\w+ ){0,2}more\b)|go ahead and|could we|can we|let us|i need you to|i would not mind|"
    r"if you (?:could|can|would)(?: please)?|if (?:it is|that is) not too much (?:trouble|to ask))\s+")
POLITE_SUFFIX = re.compile(r"\s+(?:please|thanks|thank you|right now|now|ok|okay|instead|if possible|like (?:crazy|mad)|"
                           r"(?:just )?(?:a|one) (?:sec|second|moment)|"
                           r"for (?:a|one) (?:sec|second|moment|bit|while)|"
                           r"if you (?:can|could|do not mind)|if (?:that|it) is (?:ok|okay|alright|all right|fine|possible|not a problem)|that would be (?:great|nice|lovely|good|awesome|perfect))$")
GERUND_REQUEST = re.compile(r"^(?:would you mind|do you mind|how about|what about) (?P<verb>\w+)ing\b")
"""'would you mind closing the windows': a request whose verb is a gerund."""


def normalize(text: str) -> str:
    """Lower case, symbols as words, contractions expanded, punctuation dropped, politeness trimmed."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"\ba\s*/\s*c\b|\ba\.c\.?|\ba c\b", "ac", text)
    text = text.replace("°c", " degrees celsius").replace("°f", " degrees fahrenheit").replace("°", " degrees")
    text = text.replace("%", " percent")
    text = CLAUSE_START_ITS.sub(r"\1it is", text)
    for short, full in (CONTRACTIONS | UNMARKED_CONTRACTIONS).items():
        text = re.sub(rf"\b{re.escape(short)}\b", full, text)
    text = re.sub(r"n't\b", " not", text)
    text = re.sub(r"'d\b", " would", text)
    text = re.sub(r"(?<=\w)'s\b", "", text)  # possessive: "my wife's seat" -> "my wife seat"
    text = re.sub(r"(?<=\d)\.(?=\d)", "<dot>", text)
    text = re.sub(r"[^\w\s'<>:-]|(?<!\w)'|'(?!\w)|(?<!\w)-|-(?!\w)", " ", text).replace("<dot>", ".")
    text = " ".join(HESITATIONS.sub(" ", text).split())
    previous = None
    while previous != text:
        previous = text
        text = GERUND_REQUEST.sub(_base_verb, text)
        text = POLITE_PREFIX.sub("", text)
        text = POLITE_SUFFIX.sub("", text)
    return text


def _base_verb(gerund: re.Match) -> str:
    """ "closing" -> "close", "stopping" -> "stop", "turning" -> "turn"; unknown verbs stay as they were."""
    stem = gerund["verb"]
    for verb in (stem, stem + "e", stem[:-1]):
        if verb in REQUEST_VERBS:
            return verb
    return gerund[0]


def with_digits(text: str) -> str:
    return words_to_digits(text)
