#!/usr/bin/env bash
# A/B of policy's verdicts: builds bench/abverdicts against this tree's
# policy and against REV's (default main), runs both over the same corpus
# (read from this tree) and diffs the outputs. Any difference in a
# decision, a finding's rule, reason, command or position, or the approval
# key fails. For changes meant to be speed only.
#   bench/abverdicts.sh [REV]
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-main}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/tree" "$rev" >/dev/null 2>&1
mkdir -p "$work/tree/bench/abverdicts"
cp bench/abverdicts/main.go "$work/tree/bench/abverdicts/main.go"
(cd "$work/tree" && go build -o "$work/before" ./bench/abverdicts)
go build -o "$work/after" ./bench/abverdicts
"$work/before" -repo . >"$work/before.jsonl"
"$work/after" -repo . >"$work/after.jsonl"
n=$(wc -l <"$work/after.jsonl")
if cmp -s "$work/before.jsonl" "$work/after.jsonl"; then
	echo "abverdicts: $n verdicts, identical to $rev's"
	exit 0
fi
echo "abverdicts: verdicts differ from $rev's:" >&2
diff <(cut -c1-400 "$work/before.jsonl") <(cut -c1-400 "$work/after.jsonl") | head -40 >&2
exit 1
