"""How drivers phrase requests, beyond the templates: clause splits, negation, exclusions, corrections, and
which words can be part of a name (what to play, where to go). Patterns over normalised text."""

from __future__ import annotations

import re
from typing import Any

UNSAFE = re.compile(r"\b(?:brakes?|airbags?|steering|accelerat\w*|speed up|go faster|drive faster|cruise control|"
                    r"autopilot|self driving|turn off the engine|engine off|stop the engine|unlock|lock the doors|"
                    r"open the (?:doors?|trunk|boot|bonnet|hood)|handbrake|parking brake|gear|traction|esp|abs|"
                    r"seat ?belts?|headlights?|(?:fog|hazard|warning|brake|tail|parking|high beam|low beam) ?lights?|"
                    r"hazards|high beams?|lights off|horn|wipers?|wipe)\b")
NOT_IN_A_PLACE_NAME = frozenset("me us you we i be is are so can could would should will take please as want need "
                                "then because from".split())
"""Words of a sentence around a destination, never of the destination itself."""
NOT_A_NAME = frozenset("that it this there here them one nearest closest nearby".split())
"""Words that point at something said before: a name or destination made only of them names nothing."""
POINTERS = frozenset("this that it one".split())
"""Words that end a reference to what plays now ("the song before this one"), never a title to play."""
NOT_IN_A_TITLE = frozenset("again last previous next back up bluetooth phone usb aux navigation".split())
"""Words that ask for another media action (a track, a source) or another domain, never part of what to play."""
HEDGES = re.compile(r"\b(?:not|no|never|nothing|nobody|without|if|unless|maybe|perhaps|might|whether|"
                    r"(?:i|we) wonder|wondering|should i|should we|would it(?! take)|could it|in case|later|tomorrow|"
                    r"tonight|once|when|until|after|before(?! (?:this|that|it)\b)|in \w+ minutes?|except|instead|pretend|"
                    r"ignore|imagine|suppose|say|repeat|quote|spell|undo|changed my mind|"
                    r"(?:on )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?|weekend|next (?:week|month)|"
                    r"this (?:evening|afternoon)|in the morning|(?:as|where) (?:it|they) (?:is|are)|alone)\b")
"""Negation, conditions, hedges, later and quotes: never acted on from a model's reading."""
PEOPLE = r"(?:my|our|his|her|the) (?:friend|wife|husband|partner|boss|mom|mum|dad|brother|sister|son|daughter|kid|child|" \
         r"children|passenger|colleague|buddy|mate|girlfriend|boyfriend)s?"
NARRATIVE = re.compile(rf"\b(?:i|we|you|he|she|they|{PEOPLE}) (?:just |already )?(?:\w*[^\We]ed|left|forgot|was|were|had|did|got|went|came|saw|thought|"
                       r"said|told|ran|took|kept|put it)\b|\bdid\b|\b(?:yesterday|last (?:time|night|week|year)|at home|at work|always|usually|often|sometimes|"
                       r"every time)\b")
"""Something that happened, happens elsewhere or happens as a habit ("I left the windows open at home", "my brother
always turns it up", "my friend just texted me ..."): not a request ("we need" is not a past tense)."""
REASON = re.compile(r"^(?:i am|we are|it is|there is|there are|this|that|the|my|our|i|we|so|too|because|since|as)\b")
"""How a reason said beside a request opens ("that truck stinks, stop letting the outside air in"; "... it's an
electric car")."""
STATE = re.compile(r"^(?:i am|we are|it is|there is|there are|(?:the|my|our|this|that|it) (?:\w+ ){0,3}(?:is|are|feels?))\b")
"""A state said ("i am hot", "the fan is too loud"): beside an explicit request, the reason for it."""
CLAUSE_SPLIT = re.compile(r"\s*\b(?:and then|and also|and|then|also|plus|but|after that)\b\s*")
NEGATED = re.compile(r"^(?:please )?(?:do not|never|no need to|there is no need to|you do not (?:need|have) to|"
                     r"i do not want (?:you )?to|i do not need (?:you )?to)\s+(?P<rest>.+)$")
KEPT = re.compile(r"^(?:(?:keep|leave) .+ (?:on|off|going|running|playing|alone|as it is|as they are|where it is|"
                  r"where they are|the same|open|closed)|(?:do not|never) (?:touch|change|mess with) .+)$")
"""A clause that asks for nothing to change ("... but keep the AC on"): fine beside a request, nothing alone."""
PLEA = re.compile(r"^(?:(?:can|could|would|will) you |please )?(?:(?:do|try) something|help(?: me)?(?: out)?|fix (?:it|that|this)|"
                  r"sort (?:it|that|this) out)(?: about (?:it|that|this))?(?: for me)?(?: please)?$")
"""A plea beside a request ("I'm cold, can you do something"): asks for what the request says, nothing alone."""
EXCLUDED = re.compile(r"^(?:not|without|except) (?P<rest>.+)$")
"""A clause that narrows the one before ("heat my seat, not the passenger's")."""
DENIED_STATE = re.compile(r"^(?P<said>(?:i|we|it) (?:am|are|is)) not (?P<rest>.+)$")
"""A state said not to be so ("i am not hot"): what it would ask for is not wanted."""
NUMBER_ONLY = re.compile(r"-?\d+(?:\.\d+)?(?: (?:degrees?|percent))?")
"""A value alone ("not 20"): refused, with nothing else said."""
CONTRAST = re.compile(r"\s+(?=(?:not|without|except)\s)")
JOINED_BEFORE_NOT = frozenset(
    "do does did is am are was were be been being will would could can cannot should shall may might must need "
    "have has had if it or so and but i you we he she they why how that this what whether just really still "
    "mind want maybe sure yet also plus then soon there".split())
"""Where "not"/"without" may start a clause of its own ("open the passenger window not mine") unless the word
before it belongs with it ("I am not", "do not", "if not")."""
AMOUNT_WORDS = re.compile(r"\b(?:all the way|fully|completely|too|so|that|much|far|high|low|max\w*|full|half|"
                          r"hot|cold|warm|loud|quiet|strong|fast|\d+)\b")
CORRECTION = re.compile(r"\b(?:no wait|wait no|no no|i mean|or actually no|actually no|or actually|no actually|"
                        r"or rather|no sorry|sorry|never mind|nevermind|scratch that|(?:i|we) (?:have )?changed (?:my|our) mind)\b|^(?:no|nope|actually)\b")
"""A driver correcting themselves ("no, make it 19"): only what follows the last of these counts."""
BARE_NO = re.compile(r"(?<=\w) no\b(?! (?:need|more|longer|one|way|idea|matter|problem|thanks)\b)(?= \w)")
"""A "no" inside a sentence that, whole, means nothing ("twenty no twenty two"): a correction too."""


def could_be_a_place(destination: Any) -> bool:
    """ "Nuremberg", "the old town": yes; "be late for the meeting so take me to nuremberg", "drive to", "that", "the
    moon from the earth": no, that is a sentence or a pointer, not a place."""
    if not isinstance(destination, str):
        return True
    words = destination.split()
    return not (set(words) & NOT_IN_A_PLACE_NAME or set(words) <= NOT_A_NAME
                or words[-1] in ("to", "for", "from", "the", "a", "an"))


def could_be_a_title(query: Any) -> bool:
    """ "Miles Davis", "some jazz": yes; "the last song again", "my phone over bluetooth", "it": no, those ask for
    another action."""
    if not isinstance(query, str):
        return True
    words = query.split()
    return not (set(words) & NOT_IN_A_TITLE or set(words) <= NOT_A_NAME or words[-1] in POINTERS)


def contrasts(clause: str) -> list[str]:
    """The clause cut before each "not"/"without" that starts a contrast rather than a negated verb."""
    parts: list[str] = []
    for piece in CONTRAST.split(clause):
        if parts and parts[-1].split()[-1] in JOINED_BEFORE_NOT:
            parts[-1] += " " + piece
        else:
            parts.append(piece)
    return parts
