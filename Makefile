# Jingyun developer tasks. `make run` and `make test` are the README's quick start.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-installed
TESTDEPS := $(VENV)/.test-installed
# Debian packages the tests need: a real browser (and a CJK font for its screenshots), test speech,
# and PortAudio headers for whisper-live's client.
SYSPKGS := chromium espeak-ng sox portaudio19-dev fonts-wqy-microhei

.PHONY: run test lint typecheck pytest install sysdeps clean

$(RUNTIME): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(RUNTIME)

$(TESTDEPS): $(RUNTIME) | sysdeps
	$(BIN)/pip install -q -e ".[test]"
	# whisper-live's own requirements would pull torch and pin faster-whisper: its client needs none of them.
	$(BIN)/pip install -q --no-deps "whisper-live>=0.10"
	touch $(TESTDEPS)

install: $(RUNTIME)

run: $(RUNTIME)
	$(BIN)/jingyun serve

sysdeps:
	@missing=""; for p in $(SYSPKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing system packages:$$missing (run: sudo apt-get install$$missing)"; exit 1; fi; fi

lint: $(TESTDEPS)
	$(BIN)/ruff check .

typecheck: $(TESTDEPS)
	$(BIN)/mypy

pytest: $(TESTDEPS)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache test-artifacts
