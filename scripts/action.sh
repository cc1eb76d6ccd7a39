#!/usr/bin/env bash
# The logic of the tenant-lint GitHub Action (action.yml runs it; tests/action.rs
# runs it locally in a simulated GitHub environment).
#
# Every input arrives through the environment, never through `${{ }}`
# interpolation into this text:
#   TL_BIN               tenant-lint binary (default: `tenant-lint` on PATH)
#   TL_BASE              ref or SHA to compare against (default: the PR's base SHA)
#   TL_FAIL_ON           hard | soft | never (default: hard)
#   TL_CONFIG            config file (relative to the starting directory)
#   TL_SARIF_FILE        write SARIF there (relative to the starting directory)
#   TL_COMMENT           true: upsert one PR comment with the review
#   TL_WORKING_DIRECTORY run tenant-lint from there (default: .)
# and the runner's GITHUB_EVENT_PATH, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT,
# GITHUB_TOKEN (or GH_TOKEN), GITHUB_REPOSITORY, GITHUB_SERVER_URL, GITHUB_RUN_ID.
#
# Exit status: tenant-lint's own (0 clean, 1 findings at or above fail-on),
# or 2 with a one-line `::error::` for a usage, configuration or git problem.
set -euo pipefail

readonly HEADER='<!-- tenant-lint-review -->'
readonly MAX_COMMENT=65000      # characters; GitHub's limit is 65,536
readonly MAX_SUMMARY=1000000    # bytes; GitHub's limit is 1 MiB per step

# Escape workflow-command data (%, CR, LF) so a message stays one command.
escape() {
  local s=$1
  s=${s//'%'/'%25'}
  s=${s//$'\r'/'%0D'}
  s=${s//$'\n'/'%0A'}
  printf '%s' "$s"
}

die() {
  printf '::error title=tenant-lint::%s\n' "$(escape "$*")"
  printf 'tenant-lint: %s\n' "$*" >&2
  exit 2
}

warn() {
  printf '::warning title=tenant-lint::%s\n' "$(escape "$*")"
}

# json_get FILE DOTTED.PATH: print a scalar from a JSON file, empty when absent.
json_get() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c '
import json, sys
try:
    v = json.load(open(sys.argv[1], encoding="utf-8"))
except (OSError, ValueError) as e:
    sys.exit(f"{sys.argv[1]} is not readable JSON: {e}")
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
if v is not None and not isinstance(v, (dict, list)):
    print(str(v).lower() if isinstance(v, bool) else v)
' "$1" "$2"
  elif command -v jq >/dev/null 2>&1; then
    jq -r --arg p "$2" 'getpath($p | split(".")) // empty | scalars' "$1"
  else
    die "reading $1 needs python3 or jq, and neither is on PATH; install one, or set the \`base\` input"
  fi
}

# fit FILE LIMIT chars|bytes NOTE: print FILE cut at a line boundary so
# that it plus NOTE stays within LIMIT; unchanged when it fits.
fit() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c '
import sys
path, limit, unit, note = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
text = open(path, encoding="utf-8").read()
if unit == "chars" and len(text) > limit:
    head = text[: limit - len(note)]
elif unit == "bytes" and len(text.encode("utf-8")) > limit:
    head = text.encode("utf-8")[: limit - len(note.encode("utf-8"))].decode("utf-8", "ignore")
else:
    head = None
if head is not None:
    cut = head.rfind("\n")
    text = (head[:cut] if cut > 0 else head) + note
sys.stdout.write(text)
' "$@"
  else
    head -c "$2" "$1"
  fi
}

abspath() {
  case $1 in
    /*) printf '%s' "$1" ;;
    *) printf '%s/%s' "$PWD" "$1" ;;
  esac
}

# ---------------------------------------------------------------- inputs

bin=${TL_BIN:-tenant-lint}
fail_on=${TL_FAIL_ON:-hard}
case $fail_on in
  hard | soft | never) ;;
  *) die "fail-on must be hard, soft or never (got \`$fail_on\`)" ;;
esac
command -v "$bin" >/dev/null 2>&1 || die "tenant-lint binary \`$bin\` not found; set TL_BIN or put tenant-lint on PATH"
bin=$(command -v "$bin")
case $bin in /*) ;; *) bin=$(abspath "$bin") ;; esac

event=${GITHUB_EVENT_PATH:-}
[[ -n $event && -f $event ]] || event=

# Paths given as inputs are relative to where the step starts (the
# workspace), not to working-directory.
config=${TL_CONFIG:-}
[[ -z $config ]] || config=$(abspath "$config")
sarif=${TL_SARIF_FILE:-}
[[ -z $sarif ]] || sarif=$(abspath "$sarif")

base=${TL_BASE:-}
if [[ -z $base && -n $event ]]; then
  base=$(json_get "$event" pull_request.base.sha) || die "cannot read the event payload $event; set the \`base\` input"
fi
if [[ -z $base && -n ${GITHUB_BASE_REF:-} ]]; then
  base="origin/$GITHUB_BASE_REF"
fi
[[ -n $base ]] || die "no base to compare against: this is not a pull_request event (GITHUB_EVENT_PATH has no pull_request.base.sha and GITHUB_BASE_REF is unset); set the action's \`base\` input, e.g. \`base: origin/main\`"

wd=${TL_WORKING_DIRECTORY:-.}
cd "$wd" 2>/dev/null || die "working-directory \`$wd\` does not exist in the checkout"

git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
  die "$PWD is not a git checkout: run actions/checkout (with \`fetch-depth: 0\`) before tenant-lint"

if ! git cat-file -e "${base}^{commit}" 2>/dev/null; then
  if [[ $(git rev-parse --is-shallow-repository 2>/dev/null) == true ]]; then
    die "the base commit \`$base\` is not in this checkout because the clone is shallow; set \`fetch-depth: 0\` on actions/checkout so the pull request's base and its history are fetched"
  fi
  die "the base \`$base\` is not a commit in this checkout; fetch it (\`git fetch origin <branch>\`), or set \`fetch-depth: 0\` on actions/checkout"
fi

# ---------------------------------------------------------------- runs

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The change reviewed is the base...HEAD commits, read from the object
# database: build artefacts that earlier steps left in the work tree are not
# part of the pull request.
args=(--base "$base" --head HEAD --fail-on "$fail_on")
[[ -z $config ]] || args+=(--config "$config")

# tl ARGS...: run tenant-lint; sets $status (0/1); dies with its message on
# >= 2. Its stderr is shown once, for the first run.
status=0
runs=0
tl() {
  status=0
  "$bin" "${args[@]}" "$@" 2>"$tmp/stderr" || status=$?
  if ((status >= 2)); then
    cat "$tmp/stderr" >&2
    local msg
    msg=$(grep -m1 . "$tmp/stderr" || true)
    msg=${msg#error: }
    die "${msg:-tenant-lint exited with status $status}"
  fi
  ((runs++ > 0)) || cat "$tmp/stderr" >&2
}

# 1. The review: job summary, and the log (inside a group, with workflow
#    commands switched off so that quoted code cannot issue any).
tl --format review --output "$tmp/review.md"
verdict=$status
if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
  fit "$tmp/review.md" "$MAX_SUMMARY" bytes $'\n\n---\n_Review truncated to fit the job summary; `tenant-lint --format findings` lists every finding._\n' >>"$GITHUB_STEP_SUMMARY"
fi
token="tenant-lint-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
echo "::group::Tenant-isolation review"
echo "::stop-commands::$token"
cat "$tmp/review.md"
echo "::$token::"
echo "::endgroup::"

# 2. Annotations on the changed lines (the binary emits HARD first: GitHub
#    shows only ten per level and step).
tl --format github

# 3. SARIF for github/codeql-action/upload-sarif.
if [[ -n $sarif ]]; then
  mkdir -p "$(dirname "$sarif")"
  tl --format sarif --output "$sarif"
fi

# 4. Counts as step outputs.
tl --format json --output "$tmp/report.json"
hard=$(json_get "$tmp/report.json" summary.hard) || die "tenant-lint wrote unreadable JSON"
soft=$(json_get "$tmp/report.json" summary.soft) || die "tenant-lint wrote unreadable JSON"
hard=${hard:-0}
soft=${soft:-0}
if [[ -n ${GITHUB_OUTPUT:-} ]]; then
  {
    echo "hard=$hard"
    echo "soft=$soft"
    echo "findings=$((hard + soft))"
    [[ -z $sarif ]] || echo "sarif-file=$sarif"
  } >>"$GITHUB_OUTPUT"
fi

# 5. One PR comment, found again by its hidden header and updated in place.
#    A failure here warns: it must not change the verdict (fork PRs get a
#    read-only token).
comment() {
  local pr repo id
  pr=
  [[ -z $event ]] || pr=$(json_get "$event" pull_request.number) || pr=
  repo=${GITHUB_REPOSITORY:-}
  if [[ -z $pr || -z $repo ]]; then
    warn "comment: not a pull_request event (or GITHUB_REPOSITORY unset); no comment posted"
    return 0
  fi
  if ! command -v gh >/dev/null 2>&1; then
    warn "comment: the GitHub CLI (gh) is not on PATH; no comment posted"
    return 0
  fi
  if ! command -v python3 >/dev/null 2>&1; then
    warn "comment: python3 is needed to build the comment; no comment posted"
    return 0
  fi
  export GH_TOKEN=${GH_TOKEN:-${GITHUB_TOKEN:-}}
  if [[ -n ${GITHUB_SERVER_URL:-} && -z ${GH_HOST:-} ]]; then
    export GH_HOST=${GITHUB_SERVER_URL#*://}
  fi
  if ! gh api --paginate "repos/$repo/issues/$pr/comments?per_page=100" >"$tmp/comments.json" 2>"$tmp/gh.err"; then
    warn "comment: listing the PR's comments failed: $(head -c 300 "$tmp/gh.err")"
    return 0
  fi
  # --paginate prints one JSON array per page, back to back.
  id=$(python3 -c '
import json, sys
text, header, dec, i = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2], json.JSONDecoder(), 0
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    page, i = dec.raw_decode(text, i)
    for c in page if isinstance(page, list) else []:
        if isinstance(c, dict) and str(c.get("body") or "").startswith(header):
            print(c["id"])
            sys.exit(0)
' "$tmp/comments.json" "$HEADER") || {
    warn "comment: could not read the PR's comments"
    return 0
  }
  if [[ -z $id && $hard == 0 && $soft == 0 ]]; then
    echo "tenant-lint: no findings and no earlier review comment; not commenting"
    return 0
  fi
  local run_url=""
  if [[ -n ${GITHUB_RUN_ID:-} ]]; then
    run_url="${GITHUB_SERVER_URL:-https://github.com}/$repo/actions/runs/$GITHUB_RUN_ID"
  fi
  local where="the job summary of this run"
  [[ -z $run_url ]] || where="the job summary of [this run]($run_url)"
  { printf '%s\n' "$HEADER"; cat "$tmp/review.md"; } >"$tmp/comment.md"
  fit "$tmp/comment.md" "$MAX_COMMENT" chars $'\n\n---\n_Review truncated to fit a comment; the full review is in '"$where"$'._\n' >"$tmp/body.md"
  python3 -c '
import json, sys
json.dump({"body": open(sys.argv[1], encoding="utf-8").read()}, open(sys.argv[2], "w", encoding="utf-8"))
' "$tmp/body.md" "$tmp/payload.json"
  if [[ -n $id ]]; then
    if gh api --method PATCH "repos/$repo/issues/comments/$id" --input "$tmp/payload.json" >/dev/null 2>"$tmp/gh.err"; then
      echo "tenant-lint: updated the review comment on #$pr"
    else
      warn "comment: updating comment $id failed: $(head -c 300 "$tmp/gh.err")"
    fi
  else
    if gh api --method POST "repos/$repo/issues/$pr/comments" --input "$tmp/payload.json" >/dev/null 2>"$tmp/gh.err"; then
      echo "tenant-lint: posted the review comment on #$pr"
    else
      warn "comment: posting the review comment failed: $(head -c 300 "$tmp/gh.err")"
    fi
  fi
}
case ${TL_COMMENT:-false} in
  true | True | TRUE | 1 | yes) comment ;;
esac

# 6. The verdict.
if ((verdict != 0)); then
  echo "tenant-lint: $hard HARD, $soft SOFT finding(s); failing because fail-on is $fail_on"
fi
exit "$verdict"
