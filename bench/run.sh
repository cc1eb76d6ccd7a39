#!/usr/bin/env bash
# Benchmarks tenant-lint against the targets of SPEC §10, side by side with
# the other tools in the same run, and prints a Markdown summary.
#
#   bash bench/run.sh [LINES]              generated monorepo of LINES lines (default 140000):
#                                          --all mode and diff mode (20-file change)
#   BENCH_TREE=/path bash bench/run.sh     an existing tree (e.g. a sympy checkout), --all mode only
#
# Steps: build the release binary; generate the corpus (bench/gen_corpus.py
# --git --change 20) in a temporary directory; install ruff (and, if it can be
# installed, semgrep) into target/bench-venv; then time, as whole processes,
# median of BENCH_RUNS runs after one warm-up, with peak RSS (bench/timeit.py):
#   cat of every .py/.rs/.sql file (the floor)
#   tenant-lint --all . --format json --fail-on never
#   tenant-lint --base main --format json --fail-on never   (corpus only)
#   ruff check --select S --no-cache --output-format concise --exit-zero .
#   semgrep --config bench/semgrep-rules.yml --metrics=off -j 2 --quiet .
#
# Environment:
#   TENANT_LINT=path  binary to benchmark instead of building target/release/tenant-lint
#   BENCH_RUNS=N      timed runs per tool (default 5)
#   BENCH_SEED=S      corpus seed (default 1)
#   BENCH_KEEP=1      keep the temporary directory (corpus, raw results, tool output)
#   PYTHON=python3    interpreter used for the helpers and the venv
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LINES="${1:-140000}"
RUNS="${BENCH_RUNS:-5}"
SEED="${BENCH_SEED:-1}"
PY="${PYTHON:-python3}"
VENV="$ROOT/target/bench-venv"
RULES="$ROOT/bench/semgrep-rules.yml"

log() { printf '%s\n' "$*" >&2; }

# --- 1. the binary ---------------------------------------------------------
if [[ -n "${TENANT_LINT:-}" ]]; then
    TL="$TENANT_LINT"
    log "using TENANT_LINT=$TL (not building)"
else
    log "building: cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet)
    TL="$ROOT/target/release/tenant-lint"
fi
if [[ "$TL" != */* ]]; then
    TL="$(type -P "$TL" || true)"
fi
if [[ -z "$TL" || ! -x "$TL" ]]; then
    log "error: tenant-lint binary not found or not executable: ${TENANT_LINT:-$ROOT/target/release/tenant-lint}"
    exit 2
fi
TL="$(cd "$(dirname "$TL")" && pwd)/$(basename "$TL")"  # absolute: the runs cd into the tree

# --- 2. the other tools ----------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
fi
if [[ ! -x "$VENV/bin/ruff" ]]; then
    log "installing ruff into $VENV"
    "$VENV/bin/python" -m pip install --quiet ruff >&2
fi
HAVE_SEMGREP=0
if [[ -x "$VENV/bin/semgrep" ]]; then
    HAVE_SEMGREP=1
else
    log "installing semgrep into $VENV"
    if "$VENV/bin/python" -m pip install --quiet semgrep >&2 && [[ -x "$VENV/bin/semgrep" ]]; then
        HAVE_SEMGREP=1
    else
        log "semgrep could not be installed; continuing without the semgrep row"
    fi
fi
export SEMGREP_ENABLE_VERSION_CHECK=0 SEMGREP_SEND_METRICS=off

# --- 3. the tree -----------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tenant-lint-bench.XXXXXX")"
cleanup() {
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

if [[ -n "${BENCH_TREE:-}" ]]; then
    TREE="$(cd "$BENCH_TREE" && pwd)"
    MODE=tree
    TREE_NAME="$TREE"
    log "benchmarking existing tree $TREE (--all mode only)"
else
    TREE="$WORK/corpus"
    MODE=corpus
    TREE_NAME="generated monorepo (bench/gen_corpus.py --lines $LINES --seed $SEED --git --change 20)"
    log "generating corpus: $LINES lines, seed $SEED"
    "$PY" "$ROOT/bench/gen_corpus.py" "$TREE" --lines "$LINES" --seed "$SEED" --git --change 20 > "$WORK/gen.log"
    head -n 1 "$WORK/gen.log" >&2
fi

LIST="$WORK/files.lst"
if git -C "$TREE" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$TREE" && git ls-files -z -- '*.py' '*.rs' '*.sql') > "$LIST"
else
    (cd "$TREE" && find . -type f \( -name '*.py' -o -name '*.rs' -o -name '*.sql' \) \
        -not -path '*/.git/*' -print0) > "$LIST"
fi

# --- 4. timings --------------------------------------------------------------
RES="$WORK/results"
mkdir -p "$RES"
measure() {  # KEY LABEL CMD...
    local key="$1" label="$2"
    shift 2
    log "timing $label"
    "$PY" "$ROOT/bench/timeit.py" run --runs "$RUNS" --cwd "$TREE" --label "$label" \
        --out "$RES/$key.json" --save-output "$RES/$key.out" -- "$@"
}

measure floor "cat (floor)" xargs -0 -a "$LIST" cat
measure tl_all "tenant-lint --all" "$TL" --all . --format json --fail-on never
if [[ "$MODE" == corpus ]]; then
    measure tl_diff "tenant-lint --base main" "$TL" --base main --format json --fail-on never
fi
measure ruff "ruff" "$VENV/bin/ruff" check --select S --no-cache --output-format concise --exit-zero .
if ((HAVE_SEMGREP)); then
    measure semgrep "semgrep" "$VENV/bin/semgrep" --config "$RULES" --metrics=off -j 2 --quiet .
fi

# --- 5. summary --------------------------------------------------------------
CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)"
TL_VERSION="$("$TL" --version 2>/dev/null | head -n 1 || true)"
VERSIONS="${TL_VERSION:-tenant-lint (version unknown)}; $("$VENV/bin/ruff" --version)"
if ((HAVE_SEMGREP)); then
    VERSIONS+="; semgrep $("$VENV/bin/semgrep" --version 2>/dev/null | tail -n 1)"
else
    VERSIONS+="; semgrep not installed (row left out)"
fi
NOTES=(
    --note "Machine: $(nproc) cores${CPU:+, $CPU}, $(uname -sr)"
    --note "Versions: $VERSIONS"
)
if [[ "$MODE" == corpus ]]; then
    CHANGED="$(git -C "$TREE" diff --name-only main...HEAD | wc -l | tr -d ' ')"
    NOTES+=(--note "Diff mode: branch \`feature\` checked out, $CHANGED files changed against \`main\`")
fi

echo
"$PY" "$ROOT/bench/timeit.py" report --results "$RES" --files-list "$LIST" --tree "$TREE" \
    --tree-name "$TREE_NAME" "${NOTES[@]}"
echo
if [[ "$MODE" == corpus ]]; then
    echo "Reproduce: \`bash bench/run.sh $LINES\`"
else
    echo "Reproduce: \`BENCH_TREE=$BENCH_TREE bash bench/run.sh\`"
fi
