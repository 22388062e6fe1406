# The two commands of the README: `make run` (the app on SQLite with demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := PERISAI_DEV=1 $(BIN)/flask --app perisai

.PHONY: run test test-fast install chromium bench clean translations

run: install
	$(FLASK) init-db
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The everyday subset: everything but the tests marked slow (big data, real gunicorn) and the
# browser tests. PostgreSQL runs too when PERISAI_TEST_DATABASE_URL is set.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Browser tests drive Debian's Chromium (never `playwright install`: it downloads a browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install -y chromium"; fi; }

# English catalogue: extract the _()/_l() strings, merge them into the .po, compile the .mo.
# Then translate new or fuzzy entries in perisai/translations/en/LC_MESSAGES/messages.po and run it again.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --sort-by-file --project=PERISAI --version=0.1.0 -o perisai/translations/messages.pot .
	$(BIN)/pybabel update -i perisai/translations/messages.pot -d perisai/translations -l en --ignore-obsolete
	$(BIN)/pybabel compile -d perisai/translations -l en --statistics

bench: install chromium
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) instance/perisai.sqlite3* .pytest_cache
