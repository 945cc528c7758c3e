# Every target installs what it needs into .venv on first use (torch CPU build first,
# then the project, then the embedded-data wheel without its unused dependencies).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
export WANDB_MODE ?= offline
GRID   ?= benchmark/quick.yaml

.PHONY: help install benchmark test test-slow test-gpu perf gpu-figures lint format leaderboard clean

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[tests,style]"
	$(BIN)/python -m pip install -q --no-deps "animal-mnist==0.4"
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)  ## create .venv and install the project

benchmark: $(STAMP)  ## run the benchmark grid (default: quick profile on the embedded data), then README's tables
	$(BIN)/robust-hashing benchmark --grid $(GRID)
	@$(BIN)/robust-hashing leaderboard render --dir leaderboard --markdown README.md > /dev/null

test: $(STAMP)  ## fast CPU test suite (skips slow and gpu tests)
	WANDB_MODE=disabled $(BIN)/python -m pytest -q

test-slow: $(STAMP)  ## slow tests too
	WANDB_MODE=disabled $(BIN)/python -m pytest -q -m "not gpu"

test-gpu: $(STAMP)  ## GPU tests (needs CUDA)
	WANDB_MODE=disabled $(BIN)/python -m pytest -q -m gpu

perf: $(STAMP)  ## time baseline vs ours for every workload at CPU sizes (benchmark/perf/results.json)
	@for w in map_nuswide map_coco map_cpu attack_mainstay attack_hag train_cgat train_saat \
		attack_run_e2e paper_profile; do $(BIN)/python benchmark/perf/$$w.py || exit 1; done

gpu-figures: $(STAMP)  ## every GPU figure (GPU tests, paper-cpu on a GPU, attack table, paper profile)
	bash benchmark/gpu_figures.sh

lint: $(STAMP)  ## ruff + mypy
	$(BIN)/ruff check robust_hashing tests benchmark
	$(BIN)/ruff format --check robust_hashing tests benchmark
	$(BIN)/mypy robust_hashing

format: $(STAMP)
	$(BIN)/ruff check --fix robust_hashing tests benchmark
	$(BIN)/ruff format robust_hashing tests benchmark

leaderboard: $(STAMP)  ## re-render every leaderboard CSV/HTML and README's tables from the JSONs
	$(BIN)/robust-hashing leaderboard render --dir leaderboard

clean:
	rm -rf $(VENV) .cache runs
