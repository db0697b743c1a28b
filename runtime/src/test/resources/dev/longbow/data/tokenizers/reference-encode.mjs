// The reference: Hugging Face's tokenizers.js (npm @huggingface/tokenizers 0.2.0, the tokenizer of
// transformers.js) encodes each "text" of a JSONL corpus with a tokenizer.json, without special
// tokens added around it, and prints {"tokenizer_sha256", "ids"} as JSON.
//   node reference-encode.mjs TOKENIZER_JSON CORPUS_JSONL > expected.json
import { Tokenizer } from "@huggingface/tokenizers";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

const [tokenizerFile, corpusFile] = process.argv.slice(2);
const raw = readFileSync(tokenizerFile);
const tokenizer = new Tokenizer(JSON.parse(raw.toString("utf8")), {});
const ids = readFileSync(corpusFile, "utf8").split("\n").filter((l) => l.length > 0)
    .map((l) => Array.from(tokenizer.encode(JSON.parse(l).text, { add_special_tokens: false }).ids));
process.stdout.write(JSON.stringify({ tokenizer_sha256: createHash("sha256").update(raw).digest("hex"), ids }) + "\n");
