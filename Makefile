# `make demo` and `make test` set up .venv (and the pinned CDK CLI) themselves, then reuse it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: demo test image lint format lock clean

# requirements.lock pins every transitive dependency (refresh: make lock).
# The demo installs the runtime dependencies only; test and lint tools come with `make test`.
$(STAMP): pyproject.toml server/pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11" >&2; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e . -e ./server
	@# Editable installs leave our own modules uncompiled; where PYTHONDONTWRITEBYTECODE is set
	@# (many CI images) every command would compile them again (~0.3 s of a 1 s config error).
	$(BIN)/python -m compileall -q src server/src
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(DEV_STAMP)

node_modules/.bin/cdk: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# The main job on the offline default environment: synth + summary + checks + cost.
demo: $(STAMP)
	$(BIN)/fargate-env synth --env demo
	$(BIN)/fargate-env check --env demo
	$(BIN)/fargate-env cost --env demo

# tests/lifecycle deploys one environment and runs its scenarios on it in file order: its own
# run in one process (xdist's loadgroup did not keep it on one worker: measured).
test: $(DEV_STAMP) node_modules/.bin/cdk
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist loadgroup -q --ignore=tests/lifecycle
	$(BIN)/pytest -q tests/lifecycle

# The sample server image as sample-server:local (needs a running Docker engine; on a machine
# that reaches no registry, root for debootstrap: see scripts/build-image.sh).
image:
	scripts/build-image.sh

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: $(DEV_STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf cdk.out .pytest_cache .ruff_cache
