PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/policywatch demo --dir demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/extract_speed.py
	$(BIN)/python bench/storage_growth.py
	$(BIN)/python bench/diff_speed.py
	$(BIN)/python bench/flag_speed.py
	$(BIN)/python bench/eval_flagger.py
	$(BIN)/python bench/render_speed.py
	$(BIN)/python bench/claims_speed.py
	$(BIN)/python bench/article_extraction.py
	$(BIN)/python bench/news_night.py
	$(BIN)/python bench/record_speed.py
	$(BIN)/python bench/claims_record_speed.py

clean:
	rm -rf $(VENV) demo site *.egg-info
