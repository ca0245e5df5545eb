# bachgen — two commands do all the set-up:
#   make run    create .venv, install what is missing, start the app
#   make serve  the same set-up and HAProxy, then the app on REPLICAS servers behind it (docs/serving.md)
#   make test   the same set-up, then the whole test suite
#   make test-fast  the edit-run loop on both cores: no training, no page, no browser, no load test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
REPLICAS ?= 2

# Use a local copy of the corpus when one sits beside the checkout (development, CI);
# otherwise the app offers to download it.
LOCAL_CORPUS := $(abspath $(wildcard ../shared/corpus/wtc-fugues))
ifneq ($(LOCAL_CORPUS),)
export BACHGEN_CORPUS_DIR ?= $(LOCAL_CORPUS)
endif

.PHONY: setup system system-test system-serve player run serve test test-fast bench clean

setup: $(VENV)/.installed system player

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

# The page's player (bachgen/ui/player): its front end installed from the committed
# package-lock.json and built into frontend/build (served by the app itself; no CDN).
# Without npm the page says so and the server plays each take instead.
PLAYER_DIR := bachgen/ui/player/frontend
PLAYER_BUILT := $(PLAYER_DIR)/build/player.js

player: $(PLAYER_BUILT)

$(PLAYER_BUILT): $(PLAYER_DIR)/package.json $(PLAYER_DIR)/package-lock.json $(PLAYER_DIR)/build.mjs \
		$(wildcard $(PLAYER_DIR)/src/*)
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
	  else echo "bachgen: the in-browser player needs Node.js and npm: sudo apt-get install nodejs npm"; fi; }
	@if command -v npm >/dev/null; then \
	  cd $(PLAYER_DIR) && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build; \
	fi

# The FluidSynth library (audio). Installed when running as root, else the command is printed.
system:
	@sh -c 'ldconfig -p | grep -q libfluidsynth.so.3' || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libfluidsynth3; \
	  else echo "bachgen: audio needs the FluidSynth library: sudo apt-get install libfluidsynth3"; fi; }

# Chromium drives the browser tests.
system-test: system
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "bachgen: browser tests need Chromium: sudo apt-get install chromium"; exit 1; fi; }

# HAProxy, the load balancer in front of the replicas of `make serve` (and of the replicas'
# load test). Installed when running as root, else the command is printed.
system-serve:
	@command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy; \
	  else echo "bachgen: serving several replicas needs HAProxy: sudo apt-get install haproxy"; exit 1; fi; }

run: setup
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true \
	  --browser.gatherUsageStats false

# Several replicas behind HAProxy, each browser kept on one; Ctrl-C stops them all.
serve: setup system-serve
	$(BIN)/bachgen serve --replicas $(REPLICAS) --port $(PORT)

test: setup system-test system-serve
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -n 2 -m "not slow and not browser"

bench: setup
	$(BIN)/bachgen bench

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info $(PLAYER_DIR)/node_modules $(PLAYER_DIR)/build
