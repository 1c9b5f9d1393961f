PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= auto

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[browser,notify,search,test]'
	touch $(STAMP)

# Everything a real crawl of the bundled sources needs (the browser extra, notifications, search), then a check
# of this machine; Chromium itself comes from Debian: sudo apt-get install chromium.
install: $(STAMP)
	@test -x /usr/bin/chromium || echo "policywatch: Chromium is not installed: sudo apt-get install chromium (Debian, Ubuntu); the fetch ladder needs it for pages that block plain HTTP"
	-$(BIN)/policywatch doctor

demo: $(STAMP)
	$(BIN)/policywatch demo --dir demo

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/extract_speed.py
	$(BIN)/python bench/storage_growth.py
	$(BIN)/python bench/diff_speed.py
	$(BIN)/python bench/flag_speed.py
	$(BIN)/python bench/eval_flagger.py
	$(BIN)/python bench/render_speed.py
	$(BIN)/python bench/markdown_speed.py
	$(BIN)/python bench/claims_speed.py
	$(BIN)/python bench/meta_refresh_speed.py
	$(BIN)/python bench/delta_speed.py
	$(BIN)/python bench/article_extraction.py
	$(BIN)/python bench/news_night.py
	$(BIN)/python bench/record_speed.py
	$(BIN)/python bench/claims_record_speed.py
	$(BIN)/python bench/unreachable_night.py
	$(BIN)/python bench/text_storage.py
	$(BIN)/python bench/ledger_speed.py
	$(BIN)/python bench/analysis_speed.py
	$(BIN)/python bench/change_page_speed.py
	$(BIN)/python bench/mentions_speed.py
	$(BIN)/python bench/startup_speed.py
	$(BIN)/python bench/declarations_speed.py
	$(BIN)/python bench/crawl_speed.py --sources 1000 --repeat 3

clean:
	rm -rf $(VENV) demo site *.egg-info
