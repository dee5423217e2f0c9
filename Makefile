# pressroom: the two commands of the README.
#   make release   install (if needed) and build a release from raw/ into releases/
#   make test      install (if needed) and run the tests
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: release test install browser clean-venv

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

release: $(STAMP)
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(BIN)/pressroom build --raw raw --releases releases

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

# The report test renders release pages in Debian's headless chromium.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null)

clean-venv:
	rm -rf $(VENV)
