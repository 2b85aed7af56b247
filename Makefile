# anogo: two commands set everything up on a fresh Debian machine.
#   make demo   the main job (AnoGAN on the embedded OCT phantom) -> out/demo/
#   make test   every test, the fuzzers briefly, the notebooks in their small setting
# Both install what they need first (make setup: apt packages, Go tools, the
# Jupyter kernel), idempotently.

SHELL := /bin/bash
GO ?= go
export PATH := $(CURDIR)/.cache/bin:/usr/local/go/bin:$(PATH)
# Two cores: OpenBLAS and Go's scheduler share them (see docs/performance.md).
export OPENBLAS_NUM_THREADS ?= 2
FUZZTIME ?= 10s
# Notebook setting: small (minutes) or paper (hours): make notebooks ANOGO_SETTING=paper
ANOGO_SETTING ?= small

.PHONY: all setup deps demo repro repro-contamination test unit fuzz notebooks notebooks-small bench bench-smoke figures clean

all: test

# setup: apt packages (OpenBLAS, Jupyter, nbconvert, PyTorch, Fashion-MNIST),
# GoNB + goimports + gopls at pinned versions, the Go kernel for Jupyter.
setup:
	@bash kernel/setup.sh

demo: setup
	$(GO) run ./sdk/cmd/anogo demo -out out/demo

# repro: every registered method in the small setting on the phantom,
# Fashion-MNIST's ten classes and PneumoniaMNIST (when ../shared has it)
# -> out/repro/methods.csv (docs/results.md states its time);
# make repro SETTING=demo for the larger run.
SETTING ?= small
repro: setup
	$(GO) run ./sdk/cmd/anogo repro -setting $(SETTING) -out out/repro

# repro-contamination: every registered method with 0, 1, 5, 10 and 20 %
# anomalies in the training set on the phantom, Fashion-MNIST (classes 0 and
# 7 in the small setting; CLASSES=all for the ten) and PneumoniaMNIST
# -> out/repro/contamination.csv and out/repro/figures/contamination.*
# (docs/results.md states its time).
repro-contamination: setup
	$(GO) run ./sdk/cmd/anogo contamination -setting $(SETTING) -out out/repro $(if $(CLASSES),-classes $(CLASSES))

test: setup unit fuzz notebooks-small

unit:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 15m ./...

# Each fuzz target runs briefly on top of its committed seed corpus.
fuzz:
	@bash .ci/fuzz.sh $(FUZZTIME)

notebooks: setup
	ANOGO_SETTING=$(ANOGO_SETTING) /usr/bin/python3 kernel/run_notebooks.py --out out/notebooks

notebooks-small:
	ANOGO_SETTING=small /usr/bin/python3 kernel/run_notebooks.py --out out/notebooks

bench: setup
	/usr/bin/python3 bench/run.py --out out/bench/bench.csv

bench-smoke: setup
	/usr/bin/python3 bench/run.py --smoke --out out/bench/smoke.csv

clean:
	rm -rf out
