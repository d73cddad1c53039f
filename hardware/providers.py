"""onnxruntime execution providers: the profile's preference, cut to what this onnxruntime build has."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hardware.profile import OnnxOptions

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"


def known_providers() -> list[str]:
    """Every provider name onnxruntime knows, built in here or not."""
    import onnxruntime

    return onnxruntime.get_all_providers()


def usable_providers(preferred: list[str], available: list[str] | None = None) -> list[str]:
    """``preferred`` in order, without those this build lacks (each logged as a warning), CPU always last."""
    if available is None:
        import onnxruntime

        available = onnxruntime.get_available_providers()
    usable = []
    for provider in preferred:
        if provider == CPU:
            continue
        if provider in available:
            usable.append(provider)
        else:
            log.warning("%s is not available in this onnxruntime build (%s); falling back", provider,
                        ", ".join(available))
    return [*usable, CPU]


def onnx_session(model: Path | str, options: OnnxOptions):
    """An onnxruntime session on the profile's providers (those this build lacks dropped, with a warning)."""
    import onnxruntime

    session_options = onnxruntime.SessionOptions()
    session_options.intra_op_num_threads = options.threads
    session_options.inter_op_num_threads = 1
    session_options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(model), sess_options=session_options,
                                        providers=usable_providers(options.providers))
