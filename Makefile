# Trợ lý 06. `make run` starts everything; `make test` runs every test.
SHELL := /bin/bash
export PYTHONPATH := $(CURDIR)
RASA_PY := .venv/rasa/bin/python
RASA := .venv/rasa/bin/rasa
SVC_PY := .venv/services/bin/python
ENV_STAMPS := .venv/rasa/.lock-sha256 .venv/services/.lock-sha256
MODEL := models/current.tar.gz
KB_STAMP := models/kb.checked
TRAINING_INPUTS := config.yml domain.yml $(shell find nlu_data -name '*.yml') \
	$(wildcard assistant/nlu/*.py) $(wildcard assistant/text/*.py)
KB_INPUTS := $(shell find knowledge_base -name '*.yml')

.PHONY: run test setup kb train unit-tests service-tests validate story-tests e2e-tests bench clean

run: $(ENV_STAMPS) $(KB_STAMP) $(MODEL)
	$(SVC_PY) scripts/run.py

test: $(ENV_STAMPS) $(KB_STAMP) unit-tests service-tests validate $(MODEL) story-tests e2e-tests

setup $(ENV_STAMPS) &: requirements/rasa.lock requirements/services.lock scripts/setup_envs.sh
	scripts/setup_envs.sh
	@touch $(ENV_STAMPS)

kb $(KB_STAMP): $(KB_INPUTS) $(ENV_STAMPS)
	$(RASA_PY) -m assistant.knowledge.check
	@mkdir -p models && touch $(KB_STAMP)

train $(MODEL): $(TRAINING_INPUTS) $(ENV_STAMPS)
	$(RASA) train --config config.yml --domain domain.yml --data nlu_data \
		--out models --fixed-model-name current --quiet

unit-tests:
	$(RASA_PY) -m pytest -q tests/unit

service-tests:
	$(SVC_PY) -m pytest -q tests/services

validate:
	$(RASA) data validate --domain domain.yml --data nlu_data --fail-on-warnings

story-tests: $(MODEL)
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors \
		--out var/results/stories --no-plot

e2e-tests: $(MODEL)
	$(RASA_PY) -m pytest -q tests/e2e

bench: $(ENV_STAMPS)
	$(RASA_PY) bench/nlu_benchmark.py

clean:
	rm -rf models var
