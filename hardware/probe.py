"""What this machine is: cores, CPU features, memory, board, accelerators, onnxruntime providers and
llama.cpp's build; and which hardware profile fits it, with the reasons."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hardware.profile import HardwareProfile, all_profiles

INTERESTING_FLAGS = ("avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni",
                     "amx_tile", "amx_int8", "asimd", "asimddp", "sve", "i8mm", "fphp")
"""CPU flags that matter to llama.cpp, CTranslate2 and onnxruntime (x86 and Arm names)."""
ACCELERATOR_DEVICES = ("/dev/accel/accel0", "/dev/fastrpc-cdsp", "/dev/fastrpc-adsp", "/dev/nvidia0",
                       "/dev/nvhost-ctrl-gpu", "/dev/dri/renderD128", "/etc/nv_tegra_release")
"""Intel NPU, Qualcomm Hexagon DSP/NPU (FastRPC), NVIDIA GPU, Jetson GPU, a render node, a Jetson release."""


@dataclass
class Machine:
    arch: str
    cpu_model: str
    logical_cores: int
    physical_cores: int
    memory_gb: float
    cpu_features: list[str]
    board: str
    devices: list[str]
    onnx_providers: list[str]
    llama_features: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def probe(root: Path = Path("/"), arch: str | None = None) -> Machine:
    """This machine; tests give the ``root`` of a recorded /proc, /sys and /dev, and its ``arch``."""
    live = root == Path("/")
    cpuinfo = _read(root / "proc/cpuinfo")
    flags = set(re.findall(r"^(?:flags|Features)\s*:\s*(.*)$", cpuinfo, re.MULTILINE)[0].split()) \
        if re.search(r"^(?:flags|Features)\s*:", cpuinfo, re.MULTILINE) else set()
    model = re.search(r"^(?:model name|Hardware|cpu model)\s*:\s*(.*)$", cpuinfo, re.MULTILINE)
    cores = {(m.group(1), m.group(2)) for m in re.finditer(r"physical id\s*:\s*(\d+)[\s\S]*?core "
                                                           r"id\s*:\s*(\d+)",
                                                           cpuinfo)}
    meminfo = re.search(r"MemTotal:\s*(\d+) kB", _read(root / "proc/meminfo"))
    logical = len(os.sched_getaffinity(0)) if live else len(re.findall(r"^processor\s*:", cpuinfo,
                                                                       re.MULTILINE))
    return Machine(
        arch=arch or platform.machine(),
        cpu_model=model.group(1).strip() if model else "unknown",
        logical_cores=logical,
        physical_cores=len(cores) or logical,
        memory_gb=round(int(meminfo.group(1)) / 1024 / 1024, 1) if meminfo else 0.0,
        cpu_features=sorted(flags & set(INTERESTING_FLAGS)),
        board=_read(root / "proc/device-tree/model").strip("\x00\n ") or _read(
            root / "sys/devices/virtual/dmi/id/product_name").strip(),
        devices=[d for d in ACCELERATOR_DEVICES if (root / d.lstrip("/")).exists()],
        onnx_providers=_onnx_providers() if live else [],
        llama_features=llama_build_features() if live else [],
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _onnx_providers() -> list[str]:
    import onnxruntime

    return onnxruntime.get_available_providers()


def llama_build_features() -> list[str]:
    """What llama.cpp was compiled with ("AVX2", "AVX512", "NEON", "CUDA", ...), from its system info."""
    try:
        import llama_cpp
    except ImportError:
        return []
    info = llama_cpp.llama_print_system_info().decode()
    features = re.findall(r"(\w+) = 1", info)
    if llama_cpp.llama_supports_gpu_offload():
        features.append("GPU_OFFLOAD")
    return features


@dataclass
class Verdict:
    profile: HardwareProfile
    matches: bool
    reasons: list[str]


def judge(profile: HardwareProfile, machine: Machine) -> Verdict:
    """Whether ``profile`` fits ``machine``, and why (one reason per condition)."""
    match, reasons, ok = profile.match, [], True

    def check(condition: bool, yes: str, no: str) -> None:
        nonlocal ok
        ok &= condition
        reasons.append(yes if condition else no)

    if match.arch:
        check(machine.arch in match.arch, f"arch {machine.arch}",
              f"arch {machine.arch} is not {'/'.join(match.arch)}")
    if missing := [f for f in match.cpu_features if f not in machine.cpu_features]:
        check(False, "", f"CPU lacks {', '.join(missing)}")
    elif match.cpu_features:
        check(True, f"CPU has {', '.join(match.cpu_features)}", "")
    if missing := [f for f in match.llama_features if f not in machine.llama_features]:
        check(False, "", f"llama.cpp build lacks {', '.join(missing)}")
    elif match.llama_features:
        check(True, f"llama.cpp built with {', '.join(match.llama_features)}", "")
    if match.board:
        found = [b for b in match.board if b.lower() in machine.board.lower()]
        check(bool(found), f"board {machine.board!r}", f"board {machine.board or 'unknown'!r} is not "
                                                       f"{' / '.join(match.board)}")
    if match.devices:
        found = [d for d in match.devices if d in machine.devices]
        check(bool(found), f"has {', '.join(found)}", f"none of {', '.join(match.devices)}")
    return Verdict(profile, ok, reasons)


def pick(machine: Machine,
         profiles: list[HardwareProfile] | None = None) -> tuple[HardwareProfile, list[Verdict]]:
    """The highest-priority profile that fits, and the verdict on every profile."""
    verdicts = [judge(profile, machine) for profile in profiles or all_profiles()]
    fitting = [v for v in verdicts if v.matches]
    if not fitting:
        raise LookupError("no hardware profile fits this machine; force one with --profile")
    best = max(fitting, key=lambda v: v.profile.priority)
    return best.profile, sorted(verdicts, key=lambda v: (not v.matches, -v.profile.priority))
