"""The voice: audio files and devices, VAD and endpointing, speech engines, the spoken-turn pipeline and its
events, the live loop, and the second voice that plays the driver in tests, demos and benchmarks."""
