"""``carvoice bench``: the performance benchmark, and the intent, voice latency and soak benchmarks."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from assistant.cli.common import ConfigOption, command_config, console, fail, progress_bars, reported_errors

bench_app = typer.Typer(help="Benchmarks: with no subcommand, every stage and the whole stack against a "
                             "naive baseline and the hardware's limit.", invoke_without_command=True)


@bench_app.callback()
def bench(
    ctx: typer.Context,
    llm: Annotated[Optional[str],
                   typer.Option(help="LLM id; default: the 1.5B model where installed, else the "
                                     "profile's")] = None,
    runs: Annotated[int, typer.Option(min=1, max=20, help="runs per stage measurement")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    config_file: ConfigOption = None,
) -> None:
    """Per stage and end to end (medians and p95), tuned against naive, LLM decode against memory bandwidth,
    peak memory."""
    if ctx.invoked_subcommand:
        return
    from assistant.bench.perf import run_perf_bench

    config = command_config(config_file)
    with reported_errors(), progress_bars(counting_bytes=False) as progress:
        report = run_perf_bench(config, llm, runs, progress)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    console.print(perf_table(report))


def perf_table(report: dict[str, Any]) -> Table:
    asr, llm, tts, e2e, limit = (report[k] for k in ("asr", "llm_engine", "tts", "end_to_end",
                                                     "hardware_limit"))
    table = Table(title=f"carvoice bench: profile {report['profile']}, LLM "
                        f"{report['llm']}, {report['runs']} runs")
    for column in ("measure", "p50", "p95", "naive p50", "tuned vs naive"):
        table.add_column(column)

    def row(name: str, stats: dict, naive: dict | None = None, unit: str = "", digits: int = 0) -> None:
        cells = [f"{stats['p50']:.{digits}f}{unit}", f"{stats['p95']:.{digits}f}{unit}"]
        if naive:
            cells += [f"{naive['p50']:.{digits}f}{unit}", f"{naive['p50'] / stats['p50']:.1f}x"]
        table.add_row(name, *cells)

    row("ASR real-time factor", asr["tuned_rtf"], asr["naive_rtf"], digits=3)
    row(f"LLM prompt tokens/s ({llm['prompt_tokens']}-token prefix)", llm["prompt_tokens_per_s"], digits=1)
    row("LLM decode tokens/s", llm["decode_tokens_per_s"], digits=1)
    row(f"LLM first token, cached prefix ({llm['turn_tokens']} new tokens)", llm["ttft_cached_ms"],
        llm["ttft_cold_ms"], " ms")
    row("TTS real-time factor", tts["rtf"], digits=3)
    row("TTS first audio (first sentence)", tts["first_audio_ms"], tts["whole_reply_ms"], " ms")
    row(f"end of speech -> first audio ({e2e['commands']} commands)", e2e["tuned"], e2e["naive"], " ms")
    for path, stats in e2e["tuned_by_path"].items():
        row(f"  {path} path", stats, unit=" ms")
    table.caption = (f"memory bandwidth {limit['memory_bandwidth_gb_s']} GB/s -> decode bound "
                     f"{limit['decode_bound_tokens_per_s']} tokens/s; measured decode is "
                     f"{limit['decode_fraction_of_bound']:.0%} of it. Peak RSS "
                     f"{report['peak_rss_mb']:.0f} MB.")
    return table


@bench_app.command("intents")
def bench_intents(
    models: Annotated[Optional[list[str]], typer.Option("--model", "-m",
                                                        help="LLM id; default: every installed LLM")] = None,
    modes: Annotated[str, typer.Option(help="comma-separated: fast, llm, combined")] = "fast,llm,combined",
    sets: Annotated[str, typer.Option(help="comma-separated: rules, "
                                           "heldout, adversarial, dev")] = "rules,heldout,adversarial",
    limit: Annotated[Optional[int], typer.Option(help="only the first N cases")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    config_file: ConfigOption = None,
) -> None:
    """Accuracy, wrong actions applied and latency of the fast path, the LLM path and both, on the labelled
    sets."""
    from assistant.bench.intents import MODES, SETS, run_intent_bench

    config = command_config(config_file)
    chosen = tuple(m.strip() for m in modes.split(",") if m.strip())
    if unknown := set(chosen) - set(MODES):
        raise fail(f"unknown mode(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODES)}")
    chosen_sets = tuple(s.strip() for s in sets.split(",") if s.strip())
    if unknown := set(chosen_sets) - set(SETS):
        raise fail(f"unknown set(s) {', '.join(sorted(unknown))}; choose from {', '.join(SETS)}")
    with reported_errors(), progress_bars(counting_bytes=False) as progress:
        report = run_intent_bench(config, models or [], chosen, limit, progress, chosen_sets)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    table = Table(title=f"intent benchmark: {report['cases']} cases, {report['turns']} turns")
    for column in ("mode", "model", "set", "turns", "accuracy", "wrong actions applied"):
        table.add_column(column)
    for run in report["runs"]:
        for number, (name, stats) in enumerate(run["by_set"].items()):
            head = [run["mode"], run["model"] or "-"] if number == 0 else ["", ""]
            table.add_row(*head, name, str(stats["turns"]), f"{stats['accuracy']:.1%}",
                          str(stats["wrong_actions_applied"]))
    console.print(table)
    paths = Table(title="understanding latency by path")
    for column in ("mode", "model", "path", "turns", "accuracy", "p50 ms", "p95 ms"):
        paths.add_column(column)
    for run in report["runs"]:
        for path, stats in run["by_path"].items():
            paths.add_row(run["mode"], run["model"] or "-", path, str(stats["turns"]),
                          f"{stats['accuracy']:.1%}", f"{stats['p50_ms']:.1f}", f"{stats['p95_ms']:.1f}")
    console.print(paths)


@bench_app.command("voice")
def bench_voice(
    runs: Annotated[int, typer.Option(min=1, max=20, help="rounds over the command set")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
    config_file: ConfigOption = None,
) -> None:
    """End of speech to first reply audio through the live loop, fast path and LLM path (p50, p95)."""
    from assistant.bench.voice import run_voice_latency

    config = command_config(config_file)
    with reported_errors(), progress_bars(counting_bytes=False) as progress:
        report = run_voice_latency(config, runs, progress)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    table = Table(title=f"end of speech -> first reply audio ({report['commands']} spoken commands, "
                        f"endpoint silence {report['endpoint_ms']} ms)")
    for column in ("path", "turns", "p50 ms", "p95 ms", "target"):
        table.add_column(column)
    for path, stats in report["by_path"].items():
        table.add_row(path, str(stats["n"]), f"{stats['p50']:.0f}", f"{stats['p95']:.0f}",
                      {"fast": "< 700", "llm": "< 2000"}.get(path, "-"))
    console.print(table)


@bench_app.command("soak")
def bench_soak(
    minutes: Annotated[float, typer.Option(min=0.1, help="how long the streams run")] = 10,
    vehicles: Annotated[int, typer.Option(min=1, max=100, help="simulated vehicles")] = 10,
    restart_every: Annotated[float, typer.Option(min=1, help="seconds between broker restarts")] = 60,
    downtime: Annotated[float, typer.Option(min=0, help="seconds the broker stays down at each restart")] = 3,
    as_json: Annotated[bool, typer.Option("--json",
                                          help="print the report as JSON, no progress on stderr")] = False,
) -> None:
    """Vehicles on a Mosquitto of its own, set requests and spoken-text turns for N minutes, the broker
    restarted every --restart-every seconds; exits 1 if a request was lost, applied twice or late, or a turn
    got no reply."""
    from assistant.bench.soak import run_soak

    bus_log = logging.getLogger("vehicle_bus")
    level = bus_log.level
    bus_log.setLevel(logging.ERROR)  # every client warns at each broker restart: expected here, and counted
    try:
        with reported_errors():
            if as_json:
                report = run_soak(minutes, vehicles, restart_every, downtime)
            else:
                with progress_bars(counting_bytes=False) as progress:
                    report = run_soak(minutes, vehicles, restart_every, downtime, progress=progress)
    finally:
        bus_log.setLevel(level)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        console.print(soak_table(report))
    if not report["passed"]:
        raise typer.Exit(1)


def soak_table(report: dict[str, Any]) -> Table:
    requests, latency, turns, rss = (report[k] for k in ("requests", "ack_latency_ms", "turns", "rss_mb"))
    table = Table(title=f"soak: {report['vehicles']} vehicles, {report['seconds']:g} s, "
                        f"{report['broker_restarts']} broker restarts ({report['downtime_s']:g} s down each)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [("set requests sent", requests["sent"]),
            ("acks received (applied / rejected)",
             f"{requests['acks']} ({requests['applied']} / {requests['rejected']})"),
            ("failed, reported to the caller", requests["failed_reported"]),
            ("  of which applied in time (ack lost)", requests["failed_reported_applied_in_time"]),
            ("lost", requests["lost"]), ("applied twice", requests["duplicated"]),
            ("applied late", requests["applied_late"]),
            ("ack latency p50 / p99 / max",
             f"{latency['p50']:g} / {latency['p99']:g} / {latency['max']:g} ms"),
            ("re-sent requests answered from memory", report["vehicle_side"]["answered_again_from_memory"]),
            ("turns spoken / replied", f"{turns['spoken']} / {turns['replied']}"),
            (f"RSS at {rss['start_at_s']:g} s -> end (growth)",
             f"{rss['start']:g} -> {rss['end']:g} MB ({rss['growth']:+g} MB)"),
            ("  the soak's own request ledger, part of it", f"{rss['ledger_mb']:g} MB")]
    for name, value in rows:
        table.add_row(name, str(value))
    table.caption = "most common replies: " + "; ".join(f"{count}x {reply!r}" for reply, count in
                                                        list(turns["replies"].items())[:5])
    return table
