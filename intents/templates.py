"""Sentence templates as data, in the spirit of hassil: parsed once, matched many times, every word accounted for.

Template syntax (``data/sentences.yaml``):

* ``word``: that word; ``(a|b c)``: one of the alternatives; ``[a|b]``: optional;
* ``<name>``: an expansion (a named template piece, itself a template);
* ``{list:arg}``: one phrase of the slot list ``list``, whose value becomes argument ``arg``
  (``{list}`` alone: the argument has the list's name). Built-in lists: ``number`` (digits) and
  ``text`` (any words, for names and destinations).

A template matches only the *whole* clause: there is no keyword spotting, and a sentence with a word
no template accounts for does not match at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

TOKEN = re.compile(r"\(|\)|\[|\]|\||\{[^}]+\}|<[^>]+>|[^\s()\[\]|{}<>]+")
NUMBER_PATTERN = r"-?\d+(?:\.\d+)? "
TEXT_PATTERN = r"(?:\S+ )+?"
BUILT_IN = {"number": NUMBER_PATTERN, "text": TEXT_PATTERN}


class TemplateError(ValueError):
    """A template that cannot be parsed, or that names an unknown list or expansion."""


@dataclass(frozen=True)
class SlotList:
    """Phrases a slot accepts, each with the argument value it stands for."""

    name: str
    values: dict[str, Any]
    """phrase -> value"""

    def pattern(self) -> str:
        phrases = sorted(self.values, key=len, reverse=True)
        return "|".join(re.escape(phrase) + " " for phrase in phrases)

    def value(self, phrase: str) -> Any:
        return self.values[phrase]

    def find(self, words: str) -> Any | None:
        """The value of the longest phrase of this list said anywhere in ``words``, else ``None``."""
        for phrase in sorted(self.values, key=len, reverse=True):
            if re.search(rf"\b{re.escape(phrase)}\b", words):
                return self.values[phrase]
        return None


@dataclass
class Template:
    """One compiled sentence template."""

    text: str
    regex: re.Pattern
    slots: dict[str, tuple[str, str]]
    """regex group -> (argument name, list name)"""

    @property
    def has_text(self) -> bool:
        return any(list_name == "text" for _, list_name in self.slots.values())


@dataclass
class Grammar:
    """Compiles templates against named expansions and slot lists."""

    expansions: dict[str, str]
    lists: dict[str, SlotList]
    _expanding: set[str] = field(default_factory=set)

    def compile(self, text: str) -> Template:
        slots: dict[str, tuple[str, str]] = {}
        tokens = TOKEN.findall(text)
        position, pattern = self._alternatives(tokens, 0, slots, text)
        if position != len(tokens):
            raise TemplateError(f"unbalanced brackets in template {text!r}")
        return Template(text, re.compile(pattern), slots)

    def _alternatives(self, tokens: list[str], i: int, slots: dict, text: str) -> tuple[int, str]:
        options, current = [], ""
        while i < len(tokens) and tokens[i] not in (")", "]"):
            token = tokens[i]
            if token == "|":
                options.append(current)
                current, i = "", i + 1
            elif token in ("(", "["):
                i, inner = self._alternatives(tokens, i + 1, slots, text)
                closing = ")" if token == "(" else "]"
                if i >= len(tokens) or tokens[i] != closing:
                    raise TemplateError(f"expected {closing!r} in template {text!r}")
                current += f"(?:{inner})" + ("?" if token == "[" else "")
                i += 1
            elif token.startswith("{"):
                current += self._slot(token[1:-1], slots, text)
                i += 1
            elif token.startswith("<"):
                current += f"(?:{self._expansion(token[1:-1], slots, text)})"
                i += 1
            else:
                current += re.escape(token) + " "
                i += 1
        options.append(current)
        # the longest alternative first: "(i would love|i would love to hear) {text}" must not take "to hear" as text
        return i, "|".join(sorted(options, key=len, reverse=True))

    def _slot(self, spec: str, slots: dict, text: str) -> str:
        list_name, _, arg = spec.partition(":")
        if list_name not in self.lists and list_name not in BUILT_IN:
            raise TemplateError(f"unknown slot list {list_name!r} in template {text!r}")
        group = f"g{len(slots)}"
        slots[group] = (arg or list_name, list_name)
        pattern = BUILT_IN.get(list_name) or self.lists[list_name].pattern()
        return f"(?P<{group}>{pattern})"

    def _expansion(self, name: str, slots: dict, text: str) -> str:
        """An expansion compiled in place, so its slots become groups of the template using it."""
        if name not in self.expansions:
            raise TemplateError(f"unknown expansion <{name}> in template {text!r}")
        if name in self._expanding:
            raise TemplateError(f"expansion <{name}> refers to itself")
        self._expanding.add(name)
        try:
            return self._alternatives(TOKEN.findall(self.expansions[name]), 0, slots, text)[1]
        finally:
            self._expanding.discard(name)

    def match(self, template: Template, words: str) -> dict[str, Any] | None:
        """The slot values when ``template`` matches all of ``words``, else ``None``."""
        found = template.regex.fullmatch(words + " ")
        if found is None:
            return None
        values = {}
        for group, (arg, list_name) in template.slots.items():
            phrase = found.group(group)
            if phrase is None:
                continue
            phrase = phrase.strip()
            if list_name == "number":
                values[arg] = float(phrase)
            elif list_name == "text":
                values[arg] = phrase
            elif isinstance(value := self.lists[list_name].value(phrase), dict):
                values.update(value)  # a phrase that settles several arguments: "my feet"
            else:
                values[arg] = value
        return values


@dataclass(frozen=True)
class Rule:
    """Templates of one meaning: what they stand for, fixed arguments, arguments whose sign flips."""

    target: str
    sentences: tuple[str, ...]
    args: dict[str, Any] = field(default_factory=dict)
    negate: tuple[str, ...] = ()


def rules_of(target: str, entries: list) -> Iterator[Rule]:
    """A data-file entry list: template strings, or {sentences: [...], args: {...}, negate: [...]}."""
    for entry in entries:
        if isinstance(entry, str):
            yield Rule(target, (entry,))
        else:
            yield Rule(target, tuple(entry["sentences"]), dict(entry.get("args", {})), tuple(entry.get("negate", ())))
