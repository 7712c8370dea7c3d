# MLSec Portal — the two commands of the quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
WORKERS ?= 2
# Every Django app of the project (a folder with an apps.py) and the settings package: what bandit reads.
APPS := $(sort $(patsubst %/apps.py,%,$(wildcard */apps.py))) mlsec_portal

.PHONY: venv demo test test-e2e test-all lint bench bench-checks bench-ingest bench-model-scan bench-pages bench-exports loadtest screenshots clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

## Migrate the embedded SQLite database, load the catalogue, seed a demo organisation, start the
## web app with a Celery worker and beat on the embedded broker, and print the URL and logins.
demo: venv
	@scripts/demo.sh

## The suite (unit, API, pages, real Git/S3/OIDC/SMTP servers), without the heavy end-to-end tests.
## `make test-e2e` runs those (Chromium, real Celery workers, gunicorn, MLflow, the demo: marked browser,
## worker or slow); `make test-all` runs both; .ci/run runs both against PostgreSQL + Redis.
HEAVY := slow or browser or worker
PYTEST := DJANGO_SETTINGS_MODULE=mlsec_portal.settings.test $(PY) -m pytest -n $(WORKERS) --dist loadgroup -q
test: venv
	$(PYTEST) -m "not ($(HEAVY))"

test-e2e: venv
	$(PYTEST) -m "$(HEAVY)"

test-all: venv
	$(PYTEST)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/bandit -q -r $(APPS) -x '*/tests/*' -lll

clean:
	rm -rf var/test-db* var/celery-broker staticfiles

BENCH_DATABASE_URL ?= sqlite:///$(CURDIR)/var/bench.sqlite3

## Scorecard API and dashboard at 1x, 10x and 100x against the raw SQL aggregate (a dedicated database;
## BENCH_SIZES=20:200,200:2000 to skip the 20,000-project organisation).
BENCH_SIZES ?= 20:200,200:2000,2000:20000
bench: venv
	DATABASE_URL=$(BENCH_DATABASE_URL) DJANGO_DEBUG=0 MLSEC_REQUIRE_MFA=0 $(PY) manage.py migrate -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) DJANGO_DEBUG=0 MLSEC_REQUIRE_MFA=0 $(PY) manage.py bench --sizes $(BENCH_SIZES)

## The dashboard in Chromium against a running demo (start `make demo` first): first and repeat visit bytes,
## heatmap draw time (docs/performance.md, "Light pages").
bench-pages: venv
	$(PY) scripts/bench_pages.py

## Organisation PDF, OSCAL and ZIP at 2,000 projects: time and the worker's peak RSS (a dedicated database).
bench-exports: venv
	DATABASE_URL=$(BENCH_DATABASE_URL) DJANGO_DEBUG=0 $(PY) manage.py migrate -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) DJANGO_DEBUG=0 $(PY) manage.py bench_exports

## README screenshots from a running demo (start `make demo` first).
screenshots: venv
	$(PY) scripts/screenshots.py

## Locust against gunicorn (2 workers) on the seeded 2,000-project organisation; results in var/loadtest/.
loadtest: venv
	scripts/loadtest.sh

## Check throughput of two Celery workers on a seeded organisation (a dedicated database).
bench-checks: venv
	DATABASE_URL=$(BENCH_DATABASE_URL) DJANGO_DEBUG=0 $(PY) manage.py migrate -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) DJANGO_DEBUG=0 $(PY) manage.py bench_checks --workers 2

## A 10,000-result SARIF pushed to projects/{id}/results/: request time, worker time, peak memory (docs/performance.md).
bench-ingest: venv
	DATABASE_URL=$(BENCH_DATABASE_URL) DJANGO_DEBUG=0 DJANGO_SETTINGS_MODULE=mlsec_portal.settings.test $(PY) manage.py bench_ingest --results 1000 10000

## Detection and false-positive rates of model-serialization on the bypass and benign corpora (docs/checks.md).
bench-model-scan: venv
	DJANGO_SETTINGS_MODULE=mlsec_portal.settings.test $(PY) manage.py bench_model_scan
