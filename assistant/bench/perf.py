"""``carvoice bench``: every stage and the whole stack, tuned against naive, against the hardware's limit.

Stages, each over several runs (median, p95): speech recognition real-time factor; LLM prompt
processing and decode speed, time to first token cold and with the cached prompt prefix; synthesis
real-time factor and time to first audio; end of speech to first reply audio through the live loop.
The naive baseline uses the same libraries and models on the same audio the way a first attempt
would: faster-whisper's defaults on the whole recording after a fixed 1 s silence timeout, an
uncached free-form chat completion, the whole reply synthesised before it plays. Memory bandwidth is
measured here to bound LLM decode speed (every weight is read once per token).
"""

from __future__ import annotations

import platform
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from assistant.bench.stats import Progress, percentiles, timed
from assistant.bench.voice import FAST_COMMANDS, LLM_COMMANDS, live_latency, speech_end
from assistant.config import CarvoiceConfig
from assistant.engines import Engines
from assistant.runtime import build_dialogue, build_voice, scratch_vehicle
from assistant.voice.audio import ASR_RATE
from assistant.voice.driver_voice import driver_speech
from assistant.voice.pipeline import VoicePipeline
from hardware.probe import probe
from intents.llm import LlmIntentModel, system_prompt

NAIVE_SILENCE_TIMEOUT_S = 1.0
"""How long a record-until-silence front end waits before it stops recording (a common default)."""
BENCH_LLM = "qwen2.5-coder-1.5b-instruct-q4_k_m"
"""The 1.5B model (stand-in for the R1 1.5B distill) is the benchmark's default where installed."""
REPLIES = ("Temperature set to 22 degrees for the front.",
           "Navigating to Hamburg, DE: 612 kilometres, about 6 hours 10 minutes. Traffic is light.")


def bench_asr(voice: VoicePipeline, clips: list[np.ndarray], runs: int) -> dict[str, Any]:
    """Real-time factor (processing time / audio time), tuned vs faster-whisper's defaults."""
    model = voice.recognizer.model
    tuned, naive = [], []
    for _ in range(runs):
        for clip in clips:
            seconds = len(clip) / ASR_RATE
            tuned.append(timed(lambda clip=clip: voice.recognizer.transcribe(clip))[0] / 1000 / seconds)
            naive.append(timed(lambda clip=clip: list(model.transcribe(clip)[0]))[0] / 1000 / seconds)
    return {"tuned_rtf": percentiles(tuned), "naive_rtf": percentiles(naive)}


def bench_llm(llm: LlmIntentModel, runs: int, decode_tokens: int = 48) -> dict[str, Any]:
    """Prompt and decode tokens/s; time to first token cold (whole prompt) and cached (prefix kept)."""
    engine = llm.llm
    prefix = engine.tokenize(llm.prefix.encode(), add_bos=True, special=True)
    turn = engine.tokenize(llm.prompt("make it a bit warmer", None)[len(llm.prefix):].encode(), add_bos=False,
                           special=True)
    prompt_tps, decode_tps, cold, cached = [], [], [], []
    for _ in range(runs):
        engine.reset()
        ms, _ = timed(lambda: engine.eval(prefix))
        prompt_tps.append(len(prefix) / ms * 1000)
        ms, _ = timed(lambda: (engine.eval(turn), engine.sample(temp=0)))
        cached.append(ms)
        start = time.perf_counter()
        for _token in range(decode_tokens):
            engine.eval([engine.sample(temp=0)])
        decode_tps.append(decode_tokens / (time.perf_counter() - start))
        engine.reset()
        cold.append(timed(lambda: (engine.eval(prefix + turn), engine.sample(temp=0)))[0])
    llm.warm_up()  # leave the prefix cached for the turns that follow
    return {"prompt_tokens": len(prefix), "turn_tokens": len(turn),
            "prompt_tokens_per_s": percentiles(prompt_tps),
            "decode_tokens_per_s": percentiles(decode_tps), "ttft_cold_ms": percentiles(cold),
            "ttft_cached_ms": percentiles(cached)}


def bench_tts(voice: VoicePipeline, runs: int) -> dict[str, Any]:
    """Real-time factor, and time to first audio: first sentence (streamed) vs the whole reply."""
    synthesizer = voice.synthesizer
    rtf, first, whole = [], [], []
    for _ in range(runs):
        for reply in REPLIES:
            start = time.perf_counter()
            chunks = []
            for chunk in synthesizer.speak(reply):
                if not chunks:
                    first.append((time.perf_counter() - start) * 1000)
                chunks.append(chunk)
            elapsed = time.perf_counter() - start
            whole.append(elapsed * 1000)
            rtf.append(elapsed / (sum(len(c) for c in chunks) / synthesizer.sample_rate))
    return {"rtf": percentiles(rtf), "first_audio_ms": percentiles(first),
            "whole_reply_ms": percentiles(whole)}


def naive_turn(voice: VoicePipeline, llm: LlmIntentModel, said: np.ndarray) -> float:
    """End of speech -> first audio the naive way: wait out a fixed silence, transcribe the whole recording
    with defaults, ask the LLM from scratch for free text, synthesise all of it, then play."""
    recording = np.concatenate([said[:speech_end(said)], np.zeros(int(NAIVE_SILENCE_TIMEOUT_S * ASR_RATE),
                                                                  np.float32)])
    start = time.perf_counter()
    text = " ".join(s.text for s in voice.recognizer.model.transcribe(recording)[0])
    llm.llm.reset()
    answer = llm.llm.create_chat_completion(
        [{"role": "system", "content": system_prompt() + " Then say one short sentence to the driver."},
         {"role": "user", "content": text}], max_tokens=64, temperature=0)["choices"][0]["message"]["content"]
    list(voice.synthesizer.speak(answer.strip() or "Sorry."))
    return NAIVE_SILENCE_TIMEOUT_S * 1000 + (time.perf_counter() - start) * 1000


def memory_bandwidth_gb_s(threads: int, size_mb: int = 512, runs: int = 5) -> float:
    """Read bandwidth: ``threads`` workers summing their share of a buffer much larger than the caches."""
    data = np.ones(size_mb * 1024 * 1024 // 4, dtype=np.float32)
    parts = np.array_split(data, threads)
    best = 0.0
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(runs):
            start = time.perf_counter()
            list(pool.map(np.add.reduce, parts))
            best = max(best, data.nbytes / (time.perf_counter() - start) / 1e9)
    return round(best, 2)


def default_llm(engines: Engines) -> str:
    """The benchmark's LLM where installed, else the hardware profile's."""
    return BENCH_LLM if engines.registry.is_installed(BENCH_LLM) else engines.profile.models.llm


def run_perf_bench(config: CarvoiceConfig, llm_id: str | None, runs: int,
                   progress: Progress) -> dict[str, Any]:
    llm_id = llm_id or default_llm(Engines(config))
    config = config.model_copy(update={"llm": config.llm.model_copy(update={"model": llm_id,
                                                                            "enabled": True})})
    engines = Engines(config)
    profile = engines.profile
    report: dict[str, Any] = {"machine": probe().as_dict() | {"platform": platform.platform()},
                              "profile": profile.name, "llm": llm_id, "runs": runs}
    steps = 7
    with scratch_vehicle("bench") as car:
        progress("loading the stack", 0, steps)
        voice = build_voice(engines, build_dialogue(engines, car), car)
        llm = engines.llm.model
        clips = [driver_speech(text, voice.synthesizer)[0] for text in FAST_COMMANDS[:4] + LLM_COMMANDS[:2]]
        progress("speech recognition", 1, steps)
        report["asr"] = bench_asr(voice, clips, runs)
        progress("llm", 2, steps)
        report["llm_engine"] = bench_llm(llm, runs)
        progress("speech synthesis", 3, steps)
        report["tts"] = bench_tts(voice, runs)
        progress("end to end, tuned", 4, steps)
        commands = FAST_COMMANDS + LLM_COMMANDS
        tuned = live_latency(voice, config.live, commands, lambda *_: None)
        progress("end to end, naive", 5, steps)
        naive = [naive_turn(voice, llm, driver_speech(text, voice.synthesizer)[0]) for text in commands]
        llm.warm_up()
    report["end_to_end"] = {
        "commands": len(commands), "tuned": tuned["all"], "tuned_by_path": tuned["by_path"],
        "naive": percentiles(naive),
        "speedup_p50": round(percentiles(naive)["p50"] / tuned["all"]["p50"], 2),
        "naive_silence_timeout_ms": NAIVE_SILENCE_TIMEOUT_S * 1000, "tuned_endpoint_ms": config.live.end_ms}
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # before the
    # bandwidth test's buffer
    progress("memory bandwidth", 6, steps)
    bandwidth = memory_bandwidth_gb_s(profile.llm.n_threads)
    model_bytes = engines.registry.file_path(llm_id).stat().st_size
    bound = bandwidth * 1e9 / model_bytes
    decode = report["llm_engine"]["decode_tokens_per_s"]["p50"]
    report["hardware_limit"] = {"memory_bandwidth_gb_s": bandwidth, "model_bytes": model_bytes,
                                "decode_bound_tokens_per_s": round(bound, 1),
                                "decode_fraction_of_bound": round(decode / bound, 2)}
    progress("done", steps, steps)
    return report
