import assert from "node:assert/strict";
import {
  parseModelConfig,
  ropeInvFreq,
} from "../../../../adapters/webgpu/model/config.ts";

const base = {
  architectures: ["LlamaForCausalLM"],
  hidden_size: 64,
  intermediate_size: 176,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 256,
  rms_norm_eps: 1e-5,
};
const llama3 = {
  rope_type: "llama3",
  factor: 8,
  low_freq_factor: 1,
  high_freq_factor: 4,
  original_max_position_embeddings: 16,
};

Deno.test("parseModelConfig() reads Llama, Mistral and Qwen2 configs", async (t) => {
  await t.step("llama, head_dim from hidden / heads, untied, no bias", () => {
    const c = parseModelConfig({ ...base, rope_theta: 5000 }, "c");
    assert.deepEqual(
      [
        c.family,
        c.headDim,
        c.ropeTheta,
        c.ropeScaling.type,
        c.tieWordEmbeddings,
        c.qkvBias,
      ],
      ["llama", 16, 5000, "default", false, false],
    );
  });
  await t.step("transformers 5 rope_parameters with llama3 scaling", () => {
    const c = parseModelConfig({
      ...base,
      rope_parameters: { ...llama3, rope_theta: 500000 },
    }, "c");
    assert.equal(c.ropeTheta, 500000);
    assert.deepEqual(c.ropeScaling, {
      type: "llama3",
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 16,
    });
  });
  await t.step("older rope_theta + rope_scaling spelling", () => {
    const c = parseModelConfig(
      { ...base, rope_theta: 7, rope_scaling: llama3 },
      "c",
    );
    assert.deepEqual([c.ropeTheta, c.ropeScaling.type], [7, "llama3"]);
  });
  await t.step("explicit head_dim, tied, attention and mlp bias", () => {
    const c = parseModelConfig(
      {
        ...base,
        head_dim: 32,
        tie_word_embeddings: true,
        attention_bias: true,
        mlp_bias: true,
      },
      "c",
    );
    assert.deepEqual([
      c.headDim,
      c.tieWordEmbeddings,
      c.qkvBias,
      c.oBias,
      c.mlpBias,
    ], [32, true, true, true, true]);
  });
  await t.step("qwen2 has q/k/v bias and no o bias", () => {
    const c = parseModelConfig(
      { ...base, architectures: ["Qwen2ForCausalLM"] },
      "c",
    );
    assert.deepEqual([c.family, c.qkvBias, c.oBias, c.slidingWindow], [
      "qwen2",
      true,
      false,
      null,
    ]);
  });
  await t.step("mistral keeps its sliding window", () => {
    const c = parseModelConfig({
      ...base,
      architectures: ["MistralForCausalLM"],
      sliding_window: 4096,
    }, "c");
    assert.deepEqual([c.family, c.slidingWindow], ["mistral", 4096]);
  });
  await t.step("eos_token_id as a list", () => {
    assert.deepEqual(
      parseModelConfig({ ...base, eos_token_id: [1, 9] }, "c").eosTokenIds,
      [1, 9],
    );
  });
});

Deno.test("parseModelConfig() names the bad field and value", async (t) => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "architecture",
      { ...base, architectures: ["GPT2LMHeadModel"] },
      'cfg.json: field "architectures": expected one of LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, got ["GPT2LMHeadModel"]',
    ],
    [
      "rope type",
      { ...base, rope_scaling: { rope_type: "yarn", factor: 4 } },
      'cfg.json: field "rope_scaling.rope_type": expected "default" or "llama3", got "yarn"',
    ],
    [
      "missing field",
      { ...base, hidden_size: undefined },
      'cfg.json: field "hidden_size" is missing',
    ],
    [
      "kv heads",
      { ...base, num_key_value_heads: 3 },
      'cfg.json: field "num_key_value_heads": expected a divisor of num_attention_heads 4, got 3',
    ],
    [
      "activation",
      { ...base, hidden_act: "gelu" },
      'cfg.json: field "hidden_act": expected "silu", got "gelu"',
    ],
    ["llama3 field", {
      ...base,
      rope_parameters: { rope_type: "llama3", rope_theta: 1, factor: 8 },
    }, 'cfg.json: field "rope_parameters": field "low_freq_factor" is missing'],
  ];
  for (const [name, cfg, message] of cases) {
    await t.step(
      name,
      () => assert.throws(() => parseModelConfig(cfg, "cfg.json"), { message }),
    );
  }
});

Deno.test("ropeInvFreq() matches transformers' default and llama3 frequencies", async (t) => {
  await t.step("default", () => {
    const f = ropeInvFreq(4, 10000, { type: "default" });
    assert.deepEqual(Array.from(f), [1, 0.01]);
  });
  await t.step("llama3 (values from the transformers formula)", () => {
    const f = ropeInvFreq(8, 500, {
      type: "llama3",
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 16,
    });
    const want = [
      0.5760564010955116,
      0.026434281586014102,
      0.005590169943749474,
      0.0011821770112539697,
    ];
    want.forEach((w, i) =>
      assert.ok(Math.abs(f[i] - w) < 1e-15, `i=${i}: ${f[i]} vs ${w}`)
    );
  });
});
