"""The performance benchmark's parts run on the small real models and report sane, self-consistent numbers
(no timing limits: only that cached is cheaper than cold, and that the report renders)."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from assistant.cli.bench import perf_table
from assistant.bench.perf import bench_asr, bench_llm, bench_tts, memory_bandwidth_gb_s
from assistant.voice.pipeline import VoicePipeline
from intents.dialogue import Dialogue
from intents.llm import LlmIntentModel
from tests.speech import said


@pytest.fixture
def car_dialogue(car) -> Dialogue:
    return Dialogue(car)


def test_llm_numbers_show_the_cached_prefix_at_work(llm: LlmIntentModel):
    report = bench_llm(llm, runs=1, decode_tokens=8)
    assert report["prompt_tokens"] > 500 and 5 < report["turn_tokens"] < 40
    assert report["ttft_cached_ms"]["p50"] < report["ttft_cold_ms"]["p50"]
    # a prompt is evaluated in batches, a reply one token at a time: the first is always the faster
    assert report["prompt_tokens_per_s"]["p50"] > report["decode_tokens_per_s"]["p50"] > 0
    assert llm.parse("turn on the air conditioning")[0].name == "set_air_conditioning"  # prefix still cached


def test_speech_stage_numbers(recognizer, synthesizer, car_dialogue):
    voice = VoicePipeline(recognizer, car_dialogue, synthesizer)
    asr = bench_asr(voice, [said("play some jazz")], runs=1)
    tts = bench_tts(voice, runs=1)
    assert 0 < asr["tuned_rtf"]["p50"] and 0 < asr["naive_rtf"]["p50"]
    assert tts["first_audio_ms"]["p50"] <= tts["whole_reply_ms"]["p50"] and tts["rtf"]["n"] == 2


def test_memory_bandwidth_is_measured():
    assert 1 < memory_bandwidth_gb_s(threads=2, size_mb=64, runs=2) < 2000, "GB/s: no machine is outside this"


def test_the_report_table_renders():
    stats = {"p50": 1.0, "p95": 2.0, "n": 3}
    report = {"profile": "x86-64-avx2", "llm": "m", "runs": 3, "peak_rss_mb": 1500.0,
              "asr": {"tuned_rtf": stats, "naive_rtf": stats},
              "llm_engine": {"prompt_tokens": 900, "turn_tokens": 12, "prompt_tokens_per_s": stats,
                             "decode_tokens_per_s": stats, "ttft_cold_ms": stats, "ttft_cached_ms": stats},
              "tts": {"rtf": stats, "first_audio_ms": stats, "whole_reply_ms": stats},
              "end_to_end": {"commands": 13, "tuned": {"p50": 600.0, "p95": 900.0, "n": 13},
                             "tuned_by_path": {"fast": {"p50": 500.0, "p95": 700.0, "n": 8}},
                             "naive": {"p50": 6000.0, "p95": 7000.0, "n": 13}},
              "hardware_limit": {"memory_bandwidth_gb_s": 30.0, "decode_bound_tokens_per_s": 27.0,
                                 "decode_fraction_of_bound": 0.5}}
    console = Console(record=True, width=200)
    console.print(perf_table(json.loads(json.dumps(report))))
    text = console.export_text()
    assert "10.0x" in text and "50% of it" in text
