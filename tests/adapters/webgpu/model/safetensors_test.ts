import assert from "node:assert/strict";
import {
  readSafetensorsHeader,
  SafetensorsSet,
} from "../../../../adapters/webgpu/model/safetensors.ts";
import { openCheckpoint } from "../../../../adapters/webgpu/model/model_source.ts";
import {
  PRESET_CONFIGS,
  presetSource,
} from "../../../../adapters/webgpu/model/presets.ts";
import { loadHostWeights } from "../../../../adapters/webgpu/model/weights.ts";

interface T {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

function safetensors(tensors: Record<string, T>, truncate = 0): Uint8Array {
  let off = 0;
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  for (const [k, t] of Object.entries(tensors)) {
    header[k] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [off, off + t.bytes.length],
    };
    off += t.bytes.length;
  }
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  let at = 8 + h.length;
  for (const t of Object.values(tensors)) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out.subarray(0, out.length - truncate);
}

const vals = [1.5, -2.25, 0.125, 3];
const f32 = (v: number[]) => new Uint8Array(Float32Array.from(v).buffer);
const f16 = (v: number[]) => new Uint8Array(Float16Array.from(v).buffer);
const bf16 = (v: number[]) => {
  const u = new Uint32Array(Float32Array.from(v).buffer);
  return new Uint8Array(Uint16Array.from(u, (x) => x >>> 16).buffer);
};

async function writeTemp(bytes: Uint8Array): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/model.safetensors`, bytes);
  return dir;
}

Deno.test("SafetensorsSet.read() decodes F32, F16 and BF16 to f32", async (t) => {
  const dir = await writeTemp(safetensors({
    a: { dtype: "F32", shape: [2, 2], bytes: f32(vals) },
    b: { dtype: "F16", shape: [4], bytes: f16(vals) },
    c: { dtype: "BF16", shape: [4], bytes: bf16(vals) },
  }));
  const set = await SafetensorsSet.open(dir);
  for (
    const [name, shape] of [["a", [2, 2]], ["b", [4]], ["c", [4]]] as const
  ) {
    await t.step(
      name,
      async () =>
        assert.deepEqual(Array.from(await set.read(name, shape)), vals),
    );
  }
});

Deno.test("SafetensorsSet errors name the tensor and the file", async (t) => {
  const good = { dtype: "F32", shape: [4], bytes: f32(vals) };
  await t.step("truncated file", async () => {
    const dir = await writeTemp(safetensors({ w: good }, 3));
    await assert.rejects(
      () => readSafetensorsHeader(`${dir}/model.safetensors`),
      {
        message:
          `Tensor "w" in ${dir}/model.safetensors: data_offsets [0, 16] exceed the data section of 13 bytes (truncated file?)`,
      },
    );
  });
  await t.step("wrong dtype", async () => {
    const dir = await writeTemp(safetensors({ w: { ...good, dtype: "I32" } }));
    await assert.rejects(
      () => SafetensorsSet.open(dir).then((s) => s.read("w", [4])),
      {
        message:
          `Tensor "w" in ${dir}/model.safetensors: dtype I32 is not supported (expected F32, F16 or BF16)`,
      },
    );
  });
  await t.step("missing tensor", async () => {
    const dir = await writeTemp(safetensors({ w: good }));
    await assert.rejects(
      () => SafetensorsSet.open(dir).then((s) => s.read("v", [4])),
      {
        message: `Tensor "v" is missing from ${dir}`,
      },
    );
  });
  await t.step("shape mismatch", async () => {
    const dir = await writeTemp(safetensors({ w: good }));
    await assert.rejects(
      () => SafetensorsSet.open(dir).then((s) => s.read("w", [2, 3])),
      {
        message:
          `Tensor "w" in ${dir}/model.safetensors: expected shape [2, 3], got [4]`,
      },
    );
  });
  await t.step("byte size disagrees with shape", async () => {
    const dir = await writeTemp(safetensors({ w: { ...good, shape: [3] } }));
    await assert.rejects(
      () => SafetensorsSet.open(dir).then((s) => s.read("w", [3])),
      {
        message:
          `Tensor "w" in ${dir}/model.safetensors: data_offsets span 16 bytes, shape [3] F32 needs 12`,
      },
    );
  });
  await t.step("no weights", async () => {
    const dir = await Deno.makeTempDir();
    await assert.rejects(() => SafetensorsSet.open(dir), {
      message:
        `${dir}: no model.safetensors or model.safetensors.index.json found`,
    });
  });
});

/** Writes the tiny preset as a checkpoint: bf16, sharded in two files with an index, tied. */
async function writeShardedCheckpoint(drop?: string): Promise<string> {
  const cfg = { ...PRESET_CONFIGS.tiny, tie_word_embeddings: true };
  const src = presetSource("tiny", 5);
  const c = src.config;
  const names: [string, number[]][] = [["model.embed_tokens.weight", [
    c.vocab,
    c.hidden,
  ]], ["model.norm.weight", [c.hidden]]];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    names.push(
      [`${p}input_layernorm.weight`, [c.hidden]],
      [`${p}post_attention_layernorm.weight`, [c.hidden]],
      [`${p}self_attn.q_proj.weight`, [c.numHeads * c.headDim, c.hidden]],
      [`${p}self_attn.k_proj.weight`, [c.numKvHeads * c.headDim, c.hidden]],
      [`${p}self_attn.v_proj.weight`, [c.numKvHeads * c.headDim, c.hidden]],
      [`${p}self_attn.o_proj.weight`, [c.hidden, c.numHeads * c.headDim]],
      [`${p}mlp.gate_proj.weight`, [c.intermediate, c.hidden]],
      [`${p}mlp.up_proj.weight`, [c.intermediate, c.hidden]],
      [`${p}mlp.down_proj.weight`, [c.hidden, c.intermediate]],
    );
  }
  const shards: Record<string, T>[] = [{}, {}];
  const map: Record<string, string> = {};
  for (const [i, [name, shape]] of names.entries()) {
    if (name === drop) continue;
    const data = await src.read(name, shape);
    shards[i % 2][name] = {
      dtype: "BF16",
      shape,
      bytes: bf16(Array.from(data)),
    };
    map[name] = `model-0000${(i % 2) + 1}-of-00002.safetensors`;
  }
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(cfg));
  await Deno.writeTextFile(
    `${dir}/model.safetensors.index.json`,
    JSON.stringify({ weight_map: map }),
  );
  for (const [i, s] of shards.entries()) {
    await Deno.writeFile(
      `${dir}/model-0000${i + 1}-of-00002.safetensors`,
      safetensors(s),
    );
  }
  return dir;
}

Deno.test("openCheckpoint() loads a sharded bf16 checkpoint with tied embeddings", async () => {
  const dir = await writeShardedCheckpoint();
  const w = await loadHostWeights(await openCheckpoint(dir));
  const ref = await presetSource("tiny", 5).read("model.embed_tokens.weight", [
    256,
    64,
  ]);
  assert.equal(w.lmHead, w.embed);
  // bf16 keeps the top 16 bits (7 mantissa bits): truncation error below 2^-7 relative.
  assert.ok(
    ref.every((v, i) => Math.abs(w.embed[i] - v) <= Math.abs(v) * 2 ** -7),
  );
});

Deno.test("loadHostWeights() names a tensor missing from a checkpoint", async () => {
  const dir = await writeShardedCheckpoint("model.layers.1.mlp.up_proj.weight");
  await assert.rejects(async () => loadHostWeights(await openCheckpoint(dir)), {
    message:
      `Tensor "model.layers.1.mlp.up_proj.weight" is missing from ${dir}`,
  });
});
