# Hotline: the two commands are `make run` and `make test`; everything else is for developers.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
IVR := $(VENV)/bin/ivr
STAMP := $(VENV)/.installed
PG_URL ?= postgresql+asyncpg://ivr:ivr@127.0.0.1:5432/ivr_test
REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test lint bench system-deps postgres redis clean

$(PY):
	bash scripts/system-deps.sh
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel

$(STAMP): setup.cfg pyproject.toml | $(PY)
	bash scripts/system-deps.sh
	# torch first, pinned: the CPU wheel, so resolving transformers never pulls a CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,neural]'
	touch $(STAMP)

system-deps:
	bash scripts/system-deps.sh

# The intent model is a build artefact: trained here when missing or older than its training
# data or the code that turns text into features (a minute or so). `current` is a symlink:
# make compares the version folder it points at.
INTENT_INPUTS := $(wildcard models/intents/data/*/*.tsv) \
	ivr/nlu/text.py ivr/nlu/classifier.py ivr/nlu/encoder.py ivr/nlu/dataset.py ivr/nlu/train.py
models/intents/current: $(INTENT_INPUTS) | $(STAMP)
	$(IVR) intents train

# The distress model too: trained when missing or when its data or features changed.
DISTRESS_DEPS := $(wildcard models/distress/data/*.tsv models/intents/data/*/*.tsv) \
	ivr/emotion/dataset.py ivr/emotion/model.py ivr/emotion/words.py
models/distress/current/model.json: $(DISTRESS_DEPS) | $(STAMP)
	$(IVR) emotion train

# Compiled once here: where PYTHONDONTWRITEBYTECODE is set, every `ivr` command and server
# would otherwise compile the package from source at each start (a quarter of a second).
BYTECODE = @$(PY) -m compileall -q ivr > /dev/null

run: $(STAMP) models/intents/current models/distress/current/model.json
	$(BYTECODE)
	@[ -e var/ivr.db ] || $(IVR) demo seed
	$(IVR) serve

lint: $(STAMP)
	$(VENV)/bin/ruff check ivr tests bench
	$(VENV)/bin/mypy

postgres:
	bash scripts/start-postgres.sh

redis:
	bash scripts/start-redis.sh

test: $(STAMP) postgres redis models/intents/current models/distress/current/model.json
	$(VENV)/bin/ruff check ivr tests bench
	$(VENV)/bin/mypy
	$(BYTECODE)
	IVR_TEST_PG_URL=$(PG_URL) IVR_TEST_REDIS_URL=$(REDIS_URL) $(VENV)/bin/pytest -q

# Benchmarks also need real telephone speech (Debian's Asterisk prompts and transcripts)
# and PostgreSQL (bench.scale: two instances on database ivr_bench).
bench: $(STAMP) models/intents/current models/distress/current/model.json postgres
	@dpkg -s asterisk-core-sounds-en-wav asterisk-core-sounds-en >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		asterisk-core-sounds-en-wav asterisk-core-sounds-en >/dev/null)
	$(PY) -m bench

clean:
	rm -rf $(VENV) var build *.egg-info
