#!/usr/bin/env bash
# Makes the tokenizer fixtures of TokenizerJsonTest. Needs python3, node with npm (a registry to
# install @huggingface/tokenizers into a temporary folder) and Longbow's runtime compiled
# (./mvnw -pl runtime -am compile). The test itself needs none of these.
#   expected-tiny-gpt2.json, expected-tiny-llama3.json: the reference's ids for the committed tiny tokenizers
#   expected-r50k.json, ...: the reference's ids with Longbow's tokenizer.json export of each tiktoken
#     encoding (not committed: the test writes it again and checks its SHA-256 against the one recorded)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../../../../../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/make_tiny_tokenizers.py"
(cd "$work" && npm init -y >/dev/null && npm install --silent @huggingface/tokenizers@0.2.0 >/dev/null)
cp "$here/reference-encode.mjs" "$work/"
jtokkit="$(ls ~/.m2/repository/com/knuddels/jtokkit/1.1.0/jtokkit-1.1.0.jar)"
"${JAVA_HOME:-/usr}/bin/java" -cp "$root/runtime/target/classes:$jtokkit" "$here/DumpTiktokenJson.java" "$work"
for t in tiny-gpt2 tiny-llama3; do
  node "$work/reference-encode.mjs" "$here/$t.json" "$here/corpus.jsonl" > "$here/expected-$t.json"
done
for t in r50k cl100k o200k; do
  node "$work/reference-encode.mjs" "$work/$t.tokenizer.json" "$here/corpus.jsonl" > "$here/expected-$t.json"
done
