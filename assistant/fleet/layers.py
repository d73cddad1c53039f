"""The effective configuration: defaults < local < fleet < group < vehicle, and where each value came from."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from assistant.config import CarvoiceConfig, leaves, merge
from vehicle_bus.protocol import validation_problems

ORDER = ("local", "fleet", "group", "vehicle")


class LayerError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def effective(layers: dict[str, dict[str, Any]]) -> tuple[CarvoiceConfig, dict[str, str]]:
    """The validated config from the given layers (any of ``ORDER``) and the source of every leaf
    ("default" for what no layer sets). Raises ``LayerError`` with readable problems."""
    data: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in ORDER:
        if layers.get(layer):
            data = merge(data, layers[layer], layer, sources)
    try:
        config = CarvoiceConfig.model_validate(data)
    except ValidationError as exc:
        raise LayerError(validation_problems(exc)) from None
    every = leaves(config.model_dump(mode="json"))
    return config, {path: sources.get(path, "default") for path in every}


def changed_settings(before: CarvoiceConfig, after: CarvoiceConfig) -> list[str]:
    """Dotted paths whose value differs."""
    old, new = flat(before.model_dump(mode="json")), flat(after.model_dump(mode="json"))
    return sorted(path for path in old.keys() | new.keys() if old.get(path) != new.get(path))


def flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    result = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        result |= flat(value, path) if isinstance(value, dict) and value else {path: value}
    return result


def descriptions(model: type[BaseModel] = CarvoiceConfig, prefix: str = "") -> dict[str, str]:
    """Each setting's description (dotted path -> text), from the config model's field documentation."""
    found = {}
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = field.annotation if isinstance(field.annotation, type) and issubclass(field.annotation,
                                                                                       BaseModel) \
            else None
        if nested:
            found |= descriptions(nested, f"{path}.")
        else:
            found[path] = field.description or ""
    return found
