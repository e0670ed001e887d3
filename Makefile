# One task runner. Every target creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The side-by-side benchmark against OpenMined PSI runs in a virtualenv of its own, so that
# openmined-psi never becomes a dependency of the project.
PSI_VENV := .venv-psi
PSI_BIN := $(PSI_VENV)/bin
PSI_STAMP := $(PSI_VENV)/.installed

.PHONY: demo test check lint bench proto clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# openmined-psi pins an older protobuf than the project's; its generated code accepts a newer
# runtime, so it is installed without its dependencies. Where no wheel fits this machine, the
# stamp is not written (the install is retried next time) and psi_compare.py says so and
# measures blindhit alone.
$(PSI_STAMP): pyproject.toml bench/requirements-psi.txt
	$(PYTHON) -m venv $(PSI_VENV)
	$(PSI_BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	$(PSI_BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
		-r bench/requirements-psi.txt && touch $(PSI_STAMP) \
		|| echo "openmined-psi could not be installed in $(PSI_VENV)"

demo: $(STAMP)
	$(BIN)/blindhit demo

# Everything: unit, vector, integration (real processes on loopback), fault and benchmark smoke tests.
test: lint
	$(BIN)/pytest -n auto

# The inner loop: lint and the unit tests (no server process started), well under a minute.
check: lint
	$(BIN)/pytest -n auto tests/unit --ignore=tests/unit/bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) $(PSI_STAMP)
	$(BIN)/python bench/cli_start.py
	$(BIN)/python bench/crypto.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/match_index.py
	$(BIN)/python bench/node.py
	$(BIN)/python bench/index_build.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/federation.py
	$(PSI_BIN)/python bench/psi_compare.py

proto: $(STAMP)
	$(BIN)/python proto/generate.py

clean:
	rm -rf $(VENV) $(PSI_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
