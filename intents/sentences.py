"""The fast path's sentence templates compiled once (``data/sentences.yaml`` plus the slot lists derived from the
catalogue), and the :class:`Call` a match becomes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any

import yaml

from intents.actions import GENRE_PHRASES, POI_PHRASES
from intents.catalogue import CATALOGUE
from intents.templates import Grammar, Rule, SlotList, Template, TemplateError, rules_of


@dataclass(frozen=True)
class Call:
    """One catalogue action with its (unvalidated) arguments."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    declined: bool = False
    """The driver asked for this *not* to be done ("don't open the windows")."""

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{'not ' if self.declined else ''}{self.name}({args})"


GROUP = re.compile(r"\(\?P<\w+>")
"""A named group of a template's pattern."""


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    template: Template


@dataclass(frozen=True)
class Sentences:
    """The compiled templates: catalogue intents, then follow-ups."""

    grammar: Grammar
    intents: tuple[CompiledRule, ...]
    follow_ups: tuple[CompiledRule, ...]
    referents: dict[str, Any] = field(default_factory=dict)
    """Action -> what "it" names after it: a phrase, or {place argument: {value: phrase}}."""

    @cached_property
    def fixed_request(self) -> re.Pattern:
        """Every intent template without free text, as one pattern (whether some words are a request of their own)."""
        return _one_pattern(r for r in self.intents if not r.template.has_text)

    @cached_property
    def any_request(self) -> re.Pattern:
        """Every intent template as one pattern: a quick test before matching them one by one."""
        return _one_pattern(self.intents)


def _one_pattern(rules: Iterable[CompiledRule]) -> re.Pattern:
    return re.compile("|".join(f"(?:{GROUP.sub('(?:', r.template.regex.pattern)})" for r in rules))


def _slot_list(name: str, spec: dict | list) -> SlotList:
    """A slot list from data: {value: [phrases]} or [{value: ..., phrases: [...]}] for values that are mappings."""
    entries = spec.items() if isinstance(spec, dict) else ((item["value"], item["phrases"]) for item in spec)
    return SlotList(name, {str(phrase): value for value, phrases in entries for phrase in phrases})


def compile_sentences(data: dict) -> Sentences:
    """Templates and lists from the data file, plus the lists derived from the catalogue."""
    lists = {name: _slot_list(name, spec) for name, spec in data["lists"].items()}
    lists["poi"] = SlotList("poi", {p: f"poi:{category}" for category, phrases in POI_PHRASES.items() for p in phrases})
    lists["genre"] = SlotList("genre", {phrase: phrase for phrase in GENRE_PHRASES})
    grammar = Grammar(data["expansions"], lists)

    def compiled(section: str) -> tuple[CompiledRule, ...]:
        """Templates in file order, those with free text last: a name never wins over a fixed phrase."""
        rules = []
        for target, entries in data[section].items():
            for rule in rules_of(target, entries):
                for sentence in rule.sentences:
                    try:
                        rules.append(CompiledRule(rule, grammar.compile(sentence)))
                    except TemplateError as exc:
                        raise TemplateError(f"{section}.{target}: {exc}") from None
        return tuple(sorted(rules, key=lambda r: r.template.has_text))

    unknown = set(data["intents"]) - set(CATALOGUE)
    if unknown:
        raise TemplateError(f"templates for actions the catalogue does not have: {', '.join(sorted(unknown))}")
    return Sentences(grammar, compiled("intents"), compiled("follow_ups"), data.get("referents", {}))


@cache
def default_sentences() -> Sentences:
    return compile_sentences(yaml.safe_load(resources.files("intents").joinpath("data/sentences.yaml").read_text()))
