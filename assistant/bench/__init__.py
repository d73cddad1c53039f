"""Benchmarks: percentiles and timing (``stats``), the intent benchmark on the labelled sets (``intents``),
voice latency through the live loop (``voice``), every stage against a naive baseline (``perf``), and the
soak."""
