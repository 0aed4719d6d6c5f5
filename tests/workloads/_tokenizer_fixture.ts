/**
 * A small byte-level BPE `tokenizer.json` (GPT-2 style, with a BOS post-processor) made by the
 * tests: every byte is a token, and each of `WORDS` preceded by a space is one token.
 *
 * @module
 */

const WORDS = (
  "the of and to in is was for on that with as by at from his it an were are which this be or " +
  "has had first one their its new after who they have her she two been other when there all " +
  "during into school time may years more most only over city some world would where later up"
).split(" ");

function bytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let i = 33; i <= 126; i++) bs.push(i);
  for (let i = 161; i <= 172; i++) bs.push(i);
  for (let i = 174; i <= 255; i++) bs.push(i);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [b, String.fromCodePoint(cs[i])]));
}

/** Writes the tokenizer into a temp folder and returns the path of `tokenizer.json`. */
export async function writeTokenizer(): Promise<string> {
  const b2u = bytesToUnicode();
  const vocab: Record<string, number> = {};
  let id = 0;
  for (let b = 0; b < 256; b++) vocab[b2u.get(b)!] = id++;
  const merges: string[] = [];
  for (const w of WORDS) {
    let cur = "Ġ";
    for (const ch of w) {
      const next = cur + ch;
      if (!(next in vocab)) {
        merges.push(`${cur} ${ch}`);
        vocab[next] = id++;
      }
      cur = next;
    }
  }
  const bos = id++;
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [{
      id: bos,
      content: "<s>",
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    }],
    normalizer: null,
    pre_tokenizer: {
      type: "ByteLevel",
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, {
        Sequence: { id: "A", type_id: 0 },
      }],
      pair: [{ Sequence: { id: "A", type_id: 0 } }, {
        Sequence: { id: "B", type_id: 1 },
      }],
      special_tokens: { "<s>": { id: "<s>", ids: [bos], tokens: ["<s>"] } },
    },
    decoder: {
      type: "ByteLevel",
      add_prefix_space: true,
      trim_offsets: true,
      use_regex: true,
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
  const dir = await Deno.makeTempDir({ prefix: "tokentrace-tok-" });
  await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(json));
  return `${dir}/tokenizer.json`;
}
