# The two commands of the README. Both install what they need first and can be run again at any time.
.PHONY: demo test setup lint

DURATION ?= 0
# pytest-xdist workers for `make test`, each with its own broker; whole modules go to one worker, so a module's
# servers and scenario fixtures start once
TEST_WORKERS ?= 2

demo: setup          ## run the whole pipeline on the embedded local broker (Ctrl-C to stop)
	.venv/bin/vigil demo $(if $(filter-out 0,$(DURATION)),--duration $(DURATION))

test: setup lint     ## lint, type-check and run the whole test suite against real Kafka/Prometheus/Alertmanager
	.venv/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile

setup:
	bash scripts/setup.sh

lint:
	.venv/bin/ruff check --no-cache .
	.venv/bin/ruff format --no-cache --check .
	.venv/bin/mypy vigil streams producers alerting dashboards benchmarks
	.venv/bin/lint-imports --no-cache
