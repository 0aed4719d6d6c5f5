/**
 * GPU buffer helpers of the engine: labelled creation with a size check against the adapter's
 * binding limit, weight upload in the storage dtype, and the uniform parameter arena.
 *
 * @module
 */
import type { StorageDtype } from "../kernels/geometry.ts";
import type { ParamWords } from "../kernels/params.ts";

const MiB = 1024 * 1024;

/** Creates a labelled storage buffer, refusing sizes past `maxBinding` with the buffer's name. */
export function storageBuffer(
  device: GPUDevice,
  label: string,
  bytes: number,
  maxBinding: number,
  extraUsage = 0,
): GPUBuffer {
  const size = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (size > maxBinding) {
    throw new Error(
      `Buffer "${label}" needs ${
        (size / MiB).toFixed(1)
      } MiB, more than the adapter's maxStorageBufferBindingSize of ${
        (maxBinding / MiB).toFixed(1)
      } MiB`,
    );
  }
  return device.createBuffer({
    label,
    size,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST |
      GPUBufferUsage.COPY_SRC |
      extraUsage,
  });
}

/** Bytes per element of a storage dtype. */
export function dtypeBytes(dtype: StorageDtype): number {
  return dtype === "f16" ? 2 : 4;
}

/**
 * Converts f32 values to the storage dtype's bytes (f16 rounds to nearest even).
 *
 * @example
 * ```ts
 * import { toStorageBytes } from "./gpu_buffers.ts";
 * console.log(toStorageBytes(new Float32Array([1, 2]), "f16").byteLength); // 4
 * ```
 */
export function toStorageBytes(
  data: Float32Array,
  dtype: StorageDtype,
): Uint8Array<ArrayBuffer> {
  if (dtype === "f32") {
    return new Uint8Array(
      data.buffer as ArrayBuffer,
      data.byteOffset,
      data.byteLength,
    );
  }
  const h = Float16Array.from(data);
  return new Uint8Array(h.buffer);
}

/** Rounds f32 values through the storage dtype (what a kernel reads back), for references. */
export function roundToStorage(
  data: Float32Array,
  dtype: StorageDtype,
): Float32Array {
  return dtype === "f32" ? data : Float32Array.from(Float16Array.from(data));
}

/** Uploads `data` (f32 values) in the storage dtype into a new labelled storage buffer. */
export function uploadTensor(
  device: GPUDevice,
  label: string,
  data: Float32Array,
  dtype: StorageDtype,
  maxBinding: number,
): GPUBuffer {
  const bytes = toStorageBytes(data, dtype);
  const buf = storageBuffer(device, label, bytes.byteLength, maxBinding);
  device.queue.writeBuffer(buf, 0, bytes);
  return buf;
}

/** Uploads f32 values as f32 (norm weights, biases, RoPE frequencies). */
export function uploadF32(
  device: GPUDevice,
  label: string,
  data: Float32Array,
  maxBinding: number,
): GPUBuffer {
  return uploadTensor(device, label, data, "f32", maxBinding);
}

/** Uniform parameter blocks of every dispatch, in one buffer with 256-byte aligned slots. */
export class ParamArena {
  private blocks: ArrayBuffer[] = [];

  /** Adds a block (a kernel's `Params` struct as u32/f32 words) and returns its slot number. */
  add(words: ParamWords): number {
    const buf = new ArrayBuffer(Math.ceil(words.length / 4) * 16);
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    words.forEach((w, i) => {
      if (typeof w === "number") u[i] = w >>> 0;
      else f[i] = w.f32;
    });
    this.blocks.push(buf);
    return this.blocks.length - 1;
  }

  /** Creates the uniform buffer and returns a binding per slot. */
  finish(device: GPUDevice, label: string): GPUBufferBinding[] {
    const slot = 256;
    const buffer = device.createBuffer({
      label,
      size: Math.max(slot, this.blocks.length * slot),
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const all = new Uint8Array(buffer.size);
    this.blocks.forEach((b, i) => all.set(new Uint8Array(b), i * slot));
    device.queue.writeBuffer(buffer, 0, all);
    return this.blocks.map((b, i) => ({
      buffer,
      offset: i * slot,
      size: b.byteLength,
    }));
  }
}

/** Copies `bytes` from `src` at `offset` into a fresh mappable buffer and reads them. */
export async function readBuffer(
  device: GPUDevice,
  src: GPUBuffer,
  offset: number,
  bytes: number,
): Promise<ArrayBuffer> {
  const size = Math.ceil(bytes / 4) * 4;
  const staging = device.createBuffer({
    label: `readback:${src.label}`,
    size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder({ label: "readback" });
  enc.copyBufferToBuffer(src, offset, staging, 0, size);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  return out;
}

/** Creates a labelled uniform buffer holding one `Params` struct. */
export function uniformBuffer(
  device: GPUDevice,
  label: string,
  words: ParamWords,
): GPUBuffer {
  const arena = new ParamArena();
  arena.add(words);
  return arena.finish(device, label)[0].buffer;
}
