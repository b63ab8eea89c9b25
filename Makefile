# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := run
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
export HOST PORT

# What the site itself needs from Debian (the other-format tools), and what the tests add.
RUN_DEBIAN := bubblewrap espeak-ng liblouis-bin liblouis-data lame pandoc fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0
TEST_DEBIAN := chromium-headless-shell default-jre-headless epubcheck postgresql nginx-light redis-server openssl poppler-utils
# What `make bench` adds: the load generator, and nginx as the ceiling pages are measured against
# (static files, and the nginx-fronted site over TLS).
BENCH_DEBIAN := wrk nginx-light openssl
# The suite runs on every core (pytest-xdist): many tests wait on servers, so one worker more
# than there are cores keeps them busy. `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
PO_FILES := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test lint format check-content translations-extract translations-update translations-compile serve bench soak fuzz clean

run: $(VENV)/.run-installed debian-run translations-compile
	$(FLASK) content check
	$(FLASK) db upgrade
	@echo "Serving on http://$(HOST):$(PORT)/ (mail is written to instance/mail/ unless MAIL_BACKEND=smtp)"
	@# The outbox worker delivers mail in the background; Ctrl-C stops it with the server.
	@# The site builds its other formats itself from the first request on (pages offer each
	@# one once it exists) and rebuilds what goes stale: see site/gvisite/formats/refresh.py.
	@trap 'kill 0' EXIT; $(FLASK) outbox worker --interval 2 & $(FLASK) run --host $(HOST) --port $(PORT)

test: $(VENV)/.test-installed debian-run debian-test node_modules/.installed translations-compile
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

# Every package comes from a lock file with hashes (requirements/*.lock, made by `make lock`
# from pyproject.toml): the same releases on every machine, and a tampered file is refused.
$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(VENV)/.pip-installed: requirements/pip.lock | $(VENV)/bin/python
	$(BIN)/pip install -q --require-hashes -r requirements/pip.lock
	touch $@

$(VENV)/.run-installed: requirements/run.lock $(VENV)/.pip-installed
	$(BIN)/pip install -q --require-hashes -r requirements/run.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.test-installed: requirements/test.lock $(VENV)/.run-installed
	$(BIN)/pip install -q --require-hashes -r requirements/test.lock
	touch $@

# The tools that make the locks and audit them live in a venv of their own.
TOOLS := .venv-tools
COMPILE := $(TOOLS)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
  --no-emit-index-url --no-emit-find-links
$(TOOLS)/.installed: requirements/tools.lock
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --require-hashes -r requirements/tools.lock
	touch $@

.PHONY: lock audit
# After changing the dependencies in pyproject.toml: new locks (the test lock keeps the run
# lock's releases). `make lock UPGRADE=--upgrade` takes the newest allowed releases.
lock: $(TOOLS)/.installed
	$(COMPILE) $(UPGRADE) -o requirements/run.lock pyproject.toml requirements/build.in
	$(COMPILE) $(UPGRADE) --extra test -c requirements/run.lock -o requirements/test.lock \
	  pyproject.toml requirements/build.in
	$(COMPILE) $(UPGRADE) -o requirements/tools.lock requirements/tools.in

# Known vulnerabilities in every locked package; says plainly when no database answers.
audit: $(TOOLS)/.installed
	$(TOOLS)/bin/python scripts/audit.py requirements/test.lock

.PHONY: debian-run debian-test debian-bench
debian-run:
	@scripts/ensure-debian-packages $(RUN_DEBIAN)
debian-test:
	@scripts/ensure-debian-packages $(TEST_DEBIAN)
debian-bench:
	@scripts/ensure-debian-packages $(BENCH_DEBIAN)

# No install scripts run: Ace's puppeteer would download a browser of its own; Ace runs in
# Debian's Chromium instead (tests/formats/ace.py).
node_modules/.installed: package.json package-lock.json
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

translations-compile: $(MO_FILES)
translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(VENV)/.run-installed
	$(BIN)/pybabel compile -f --statistics -i $< -o $@

translations-extract: $(VENV)/.run-installed
	$(BIN)/pybabel extract -F babel.cfg -k _l --ignore-dirs='.venv node_modules' \
	  --no-location --sort-output --omit-header -o translations/messages.pot .

translations-update: translations-extract
	$(BIN)/pybabel update -i translations/messages.pot -d translations --ignore-obsolete

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-content: $(VENV)/.run-installed
	$(FLASK) content check

bench: $(VENV)/.test-installed debian-bench translations-compile
	$(BIN)/python benchmarks/run.py

# The fault soak: 3,000 submissions per database while workers, SMTP and PostgreSQL fail.
SOAK ?= --submissions 3000
soak: $(VENV)/.test-installed debian-test translations-compile
	$(BIN)/python benchmarks/soak.py $(SOAK)

# The long fuzz run of the public forms (make test runs a short one); FUZZ_EXAMPLES to change.
FUZZ_EXAMPLES ?= 10000
fuzz: $(VENV)/.test-installed debian-test translations-compile
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q tests/feedback/test_fuzz.py

clean:
	rm -rf $(VENV) $(TOOLS) node_modules instance .pytest_cache .ruff_cache
