"""Hardware profiles: every built-in one loads, bad ones are refused with the reason, the probe picks the
right profile (here, and on recorded Arm boards), and missing onnxruntime providers fall back to CPU."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from assistant.voice.speech import Synthesizer
from hardware.probe import pick, probe
from hardware.profile import ProfileError, all_profiles, load_profile, profile_names
from hardware.providers import CPU, usable_providers
from tests.helpers import CARVOICE

X86 = load_profile("x86-64-avx2").model_dump(mode="json")


def test_at_least_five_targets_load_and_are_named_after_their_files():
    names = profile_names()
    assert len(names) >= 5
    assert [profile.name for profile in all_profiles()] == names
    assert {"qualcomm-sa8295p", "intel-core-ultra-npu", "nvidia-jetson-orin", "raspberry-pi-5"} <= set(names)


def write_profile(tmp_path: Path, **changes) -> Path:
    data = json.loads(json.dumps(X86))
    for dotted, value in changes.items():
        section, _, key = dotted.rpartition("__")
        (data[section] if section else data)[key] = value
    lines = []
    for key, value in data.items():
        if not isinstance(value, dict):
            lines.append(f"{key} = {json.dumps(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in value.items() if v is not None]
    path = tmp_path / "custom.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_profile_file_can_be_loaded(tmp_path):
    assert load_profile(write_profile(tmp_path, name="my-board")).name == "my-board"


@pytest.mark.parametrize("changes, message", [
    ({"onnx__providers": ["NpuMagicExecutionProvider"]}, "unknown onnxruntime provider"),
    ({"models__llm": "gpt-5"}, "not in the model manifest"),
    ({"models__asr": "qwen2.5-coder-0.5b-instruct"}, "is a llm model, not asr"),
    ({"llm__type_v": "q8_0", "llm__flash_attn": False}, "needs flash_attn"),
    ({"llm__n_threads": 0}, "n_threads"),
    ({"status": "hoped"}, "status"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_profiles_are_refused_with_the_reason(changes, message, tmp_path):
    with pytest.raises(ProfileError, match=message):
        load_profile(write_profile(tmp_path, **changes))


def test_unreadable_and_unknown_profiles_are_clear_errors(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [unclosed")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(broken)
    with pytest.raises(ProfileError, match="no hardware profile 'pentium-ii'"):
        load_profile("pentium-ii")


def test_this_machine_gets_the_x86_avx2_profile():
    """This CI machine: x86-64 with AVX-512 and AMX, but llama.cpp built for AVX2 only (see the Makefile)."""
    machine = probe()
    if machine.arch != "x86_64" or "AVX512" in machine.llama_features:
        pytest.skip("not the x86-64 AVX2 machine these tests were written on")
    profile, verdicts = pick(machine)
    assert profile.name == "x86-64-avx2"
    avx512 = next(v for v in verdicts if v.profile.name == "x86-64-avx512")
    assert not avx512.matches and "llama.cpp build lacks AVX512" in avx512.reasons


@pytest.mark.parametrize("memory_gb, expected", [
    (24.0, "qwen2.5-coder-1.5b-instruct-q4_k_m"), (4.0, "qwen2.5-coder-1.5b-instruct-q4_k_m"),
    (3.8, "qwen2.5-coder-0.5b-instruct"), (2.0, "qwen2.5-coder-0.5b-instruct"),
])
def test_the_default_profile_runs_the_1_5b_where_memory_allows(memory_gb, expected):
    assert load_profile("x86-64-avx2").for_memory(memory_gb).models.llm == expected


def test_a_small_llm_must_be_an_llm(tmp_path):
    with pytest.raises(ProfileError, match="is a asr model, not llm"):
        load_profile(write_profile(tmp_path, models__small_llm="whisper-tiny.en"))


def recorded_board(tmp_path: Path, model: str, flags: str, devices: tuple[str, ...] = ()) -> Path:
    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/device-tree/model").write_text(model + "\x00")
    cpus = "".join(f"processor\t: {n}\nFeatures\t: {flags}\n\n" for n in range(4))
    (tmp_path / "proc/cpuinfo").write_text(cpus)
    (tmp_path / "proc/meminfo").write_text("MemTotal:        8000000 kB\n")
    for device in devices:
        (tmp_path / device.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / device.lstrip("/")).touch()
    return tmp_path


@pytest.mark.parametrize("board, flags, devices, expected", [
    ("Raspberry Pi 5 Model B Rev 1.0", "fp asimd asimddp", (), "raspberry-pi-5"),
    ("NVIDIA Jetson AGX Orin Developer Kit", "fp asimd asimddp", ("/etc/nv_tegra_release",), "nvidia-jetson-orin"),
    ("Qualcomm Technologies, Inc. SA8295P ADP", "fp asimd asimddp i8mm", ("/dev/fastrpc-cdsp",), "qualcomm-sa8295p"),
    ("Qualcomm Technologies, Inc. SA8155P ADP", "fp asimd", ("/dev/fastrpc-adsp",), "qualcomm-sa8155p"),
])
def test_the_probe_recognises_arm_boards(board, flags, devices, expected, tmp_path):
    machine = probe(recorded_board(tmp_path, board, flags, devices), arch="aarch64")
    assert machine.logical_cores == 4 and machine.memory_gb == pytest.approx(7.6, abs=0.1)
    assert pick(machine)[0].name == expected


def test_an_unknown_arm_board_has_no_profile(tmp_path):
    with pytest.raises(LookupError, match="--profile"):
        pick(probe(recorded_board(tmp_path, "Mystery board", "fp asimd"), arch="aarch64"))


def test_missing_providers_fall_back_to_cpu_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert usable_providers(["QNNExecutionProvider", CPU], available=[CPU]) == [CPU]
        assert usable_providers(["CUDAExecutionProvider"], available=["CUDAExecutionProvider", CPU]) == [
            "CUDAExecutionProvider", CPU]
    assert "QNNExecutionProvider is not available" in caplog.text


def test_a_voice_on_an_npu_profile_still_speaks_here(test_registry, caplog):
    qualcomm = load_profile("qualcomm-sa8295p")
    with caplog.at_level(logging.WARNING):
        voice = Synthesizer(test_registry.verify("piper-en_US-joe-medium") / "en_US-joe-medium.onnx", qualcomm.onnx)
    assert voice.voice.session.get_providers() == [CPU]
    assert sum(len(chunk) for chunk in voice.speak("Hello.")) > 1000
    assert "QNNExecutionProvider is not available" in caplog.text


def test_hw_probe_command_explains_and_can_be_forced():
    picked = subprocess.run([CARVOICE, "hw", "probe", "--json"], capture_output=True, text=True, timeout=120)
    assert picked.returncode == 0, picked.stderr
    report = json.loads(picked.stdout)
    assert report["machine"]["logical_cores"] >= 1 and report["onnx_providers"][-1] == CPU
    assert all(verdict["reasons"] for verdict in report["verdicts"])
    forced = subprocess.run([CARVOICE, "hw", "probe", "--json", "--profile", "raspberry-pi-5"], capture_output=True,
                            text=True, timeout=120)
    assert json.loads(forced.stdout)["profile"]["name"] == "raspberry-pi-5"
    wrong = subprocess.run([CARVOICE, "hw", "probe", "--profile", "pentium-ii"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "no hardware profile" in wrong.stderr


def test_readme_lists_every_profile():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert [name for name in profile_names() if f"| `{name}` |" not in readme] == []
