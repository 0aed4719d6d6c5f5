/**
 * Safetensors reader: one file or a sharded set with `model.safetensors.index.json`. Tensors in
 * F32, F16 and BF16 are returned as f32; every error names the tensor and the file.
 *
 * @module
 */

/** One tensor's entry in a safetensors header. */
export interface TensorEntry {
  /** Safetensors dtype string (`F32`, `F16`, `BF16`, ...). */
  dtype: string;
  /** Tensor shape, outermost first. */
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
  /** File holding the tensor. */
  file: string;
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/**
 * Parses the header of a safetensors file and checks every entry against the file size.
 *
 * @example
 * ```ts
 * import { readSafetensorsHeader } from "./safetensors.ts";
 * const header = new TextEncoder().encode(JSON.stringify({ w: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }));
 * const bytes = new Uint8Array(8 + header.length + 4);
 * new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
 * bytes.set(header, 8);
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, bytes);
 * console.log((await readSafetensorsHeader(path)).get("w")?.shape); // [1]
 * ```
 */
export async function readSafetensorsHeader(
  file: string,
): Promise<Map<string, TensorEntry>> {
  using f = await Deno.open(file, { read: true });
  const size = (await f.stat()).size;
  if (size < 8) {
    throw new Error(
      `${file}: file of ${size} bytes is too short for safetensors`,
    );
  }
  const lenBytes = new Uint8Array(8);
  await readExactly(f, lenBytes, 0, file);
  const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (8 + headerLen > size) {
    throw new Error(
      `${file}: header length ${headerLen} exceeds the file size ${size}`,
    );
  }
  const headerBytes = new Uint8Array(headerLen);
  await readExactly(f, headerBytes, 8, file);
  const header = JSON.parse(new TextDecoder().decode(headerBytes)) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const dataStart = 8 + headerLen;
  const dataSize = size - dataStart;
  const out = new Map<string, TensorEntry>();
  for (const [name, e] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [b, en] = e.data_offsets;
    if (en > dataSize || b > en) {
      throw new Error(
        `Tensor "${name}" in ${file}: data_offsets [${b}, ${en}] exceed the data section of ${dataSize} bytes (truncated file?)`,
      );
    }
    out.set(name, {
      dtype: e.dtype,
      shape: e.shape,
      begin: dataStart + b,
      end: dataStart + en,
      file,
    });
  }
  return out;
}

async function readExactly(
  f: Deno.FsFile,
  buf: Uint8Array,
  at: number,
  file: string,
) {
  await f.seek(at, Deno.SeekMode.Start);
  let got = 0;
  while (got < buf.length) {
    const n = await f.read(buf.subarray(got));
    if (n === null) {
      throw new Error(`${file}: unexpected end of file at byte ${at + got}`);
    }
    got += n;
  }
}

/** Converts raw little-endian F32/F16/BF16 bytes to f32. */
export function decodeToF32(bytes: Uint8Array, dtype: string): Float32Array {
  const n = bytes.byteLength / (DTYPE_BYTES[dtype] ?? 1);
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  if (dtype === "F32") {
    return new Float32Array(aligned.buffer, aligned.byteOffset, n).slice();
  }
  const u16 = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
  if (dtype === "F16") {
    return Float32Array.from(new Float16Array(u16.buffer, u16.byteOffset, n));
  }
  // BF16 is the top half of an f32.
  const u32 = new Uint32Array(n);
  for (let i = 0; i < n; i++) u32[i] = u16[i] << 16;
  return new Float32Array(u32.buffer);
}

/** A set of safetensors files (one, or the shards of an index) read tensor by tensor. */
export class SafetensorsSet {
  private constructor(
    /** What error messages call the set (the model directory). */
    readonly where: string,
    /** Every tensor in the set. */
    readonly entries: Map<string, TensorEntry>,
  ) {}

  /**
   * Opens `model.safetensors` or the shards listed by `model.safetensors.index.json` in `dir`.
   *
   * @example
   * ```ts
   * import { SafetensorsSet } from "./safetensors.ts";
   * const dir = await Deno.makeTempDir();
   * await SafetensorsSet.open(dir).catch((e) => console.log(e.message));
   * ```
   */
  static async open(dir: string): Promise<SafetensorsSet> {
    const index = `${dir}/model.safetensors.index.json`;
    const single = `${dir}/model.safetensors`;
    const entries = new Map<string, TensorEntry>();
    if (await exists(index)) {
      const idx = JSON.parse(await Deno.readTextFile(index)) as {
        weight_map: Record<string, string>;
      };
      const files = [...new Set(Object.values(idx.weight_map))];
      for (const file of files) {
        const header = await readSafetensorsHeader(`${dir}/${file}`);
        for (const [k, v] of header) entries.set(k, v);
      }
      for (const [name, file] of Object.entries(idx.weight_map)) {
        if (!entries.has(name)) {
          throw new Error(
            `Tensor "${name}": the index names ${file}, which does not hold it`,
          );
        }
      }
    } else if (await exists(single)) {
      for (const [k, v] of await readSafetensorsHeader(single)) {
        entries.set(k, v);
      }
    } else {
      throw new Error(
        `${dir}: no model.safetensors or model.safetensors.index.json found`,
      );
    }
    return new SafetensorsSet(dir, entries);
  }

  /** Whether the set holds `name`. */
  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Reads `name` as f32, checking its dtype, byte size and that its shape equals `shape`. */
  async read(name: string, shape: readonly number[]): Promise<Float32Array> {
    const e = this.entries.get(name);
    if (!e) throw new Error(`Tensor "${name}" is missing from ${this.where}`);
    const bytesPer = DTYPE_BYTES[e.dtype];
    if (!bytesPer) {
      throw new Error(
        `Tensor "${name}" in ${e.file}: dtype ${e.dtype} is not supported (expected F32, F16 or BF16)`,
      );
    }
    if (
      e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])
    ) {
      throw new Error(
        `Tensor "${name}" in ${e.file}: expected shape [${
          shape.join(", ")
        }], got [${e.shape.join(", ")}]`,
      );
    }
    const count = shape.reduce((a, b) => a * b, 1);
    if (e.end - e.begin !== count * bytesPer) {
      throw new Error(
        `Tensor "${name}" in ${e.file}: data_offsets span ${
          e.end - e.begin
        } bytes, shape [${shape.join(", ")}] ${e.dtype} needs ${
          count * bytesPer
        }`,
      );
    }
    using f = await Deno.open(e.file, { read: true });
    const buf = new Uint8Array(e.end - e.begin);
    await readExactly(f, buf, e.begin, e.file);
    return decodeToF32(buf, e.dtype);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
