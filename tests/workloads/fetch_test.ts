import assert from "node:assert/strict";
import {
  type CatalogEntry,
  FetchError,
  fetchWorkload,
  resolveWorkload,
  sha256File,
  WorkloadNotFoundError,
} from "../../workloads/mod.ts";
import { CATALOG } from "../../workloads/catalog.ts";

const PAYLOAD = new TextEncoder().encode(
  "TIMESTAMP,ContextTokens,GeneratedTokens\n" +
    Array.from(
      { length: 2000 },
      (_, i) =>
        `2024-01-01 00:${
          String(Math.floor(i / 60) % 60).padStart(2, "0")
        }:00,${i},1`,
    )
      .join("\n") +
    "\n",
);

interface TestServer {
  url: string;
  ranges: (string | null)[];
  /** The next full response stops after this many bytes (then the connection drops). */
  cutNextAt?: number;
  ignoreRange: boolean;
  close(): Promise<void>;
}

/** A file server on 127.0.0.1, port 0, with HTTP Range support. */
function serve(): TestServer {
  const state = {
    ranges: [] as (string | null)[],
    cutNextAt: undefined as number | undefined,
    ignoreRange: false,
  };
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      // The dropped connection below is on purpose: nothing to log.
      onError: () => new Response(null, { status: 500 }),
    },
    (req) => {
      const range = req.headers.get("range");
      state.ranges.push(range);
      let start = 0;
      let status = 200;
      const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
      if (m && !state.ignoreRange) {
        start = Number(m[1]);
        if (start >= PAYLOAD.length) return new Response(null, { status: 416 });
        status = 206;
      }
      const body = PAYLOAD.subarray(start);
      const cut = state.cutNextAt;
      state.cutNextAt = undefined;
      let sent = false;
      const stream = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (!sent) {
            sent = true;
            c.enqueue(cut === undefined ? body : body.subarray(0, cut));
            if (cut === undefined) c.close();
            return;
          }
          // Let the first part reach the client, then drop the connection.
          await new Promise((r) => setTimeout(r, 50));
          c.error(new Error("connection dropped (test)"));
        },
      });
      return new Response(stream, {
        status,
        headers: {
          "content-length": String(body.length),
          ...(status === 206
            ? {
              "content-range": `bytes ${start}-${
                PAYLOAD.length - 1
              }/${PAYLOAD.length}`,
            }
            : {}),
        },
      });
    },
  );
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${addr.port}/AzureLLMInferenceTrace_test.csv`,
    get ranges() {
      return state.ranges;
    },
    set cutNextAt(v: number | undefined) {
      state.cutNextAt = v;
    },
    get ignoreRange() {
      return state.ignoreRange;
    },
    set ignoreRange(v: boolean) {
      state.ignoreRange = v;
    },
    close: () => server.shutdown(),
  };
}

async function sha(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function entry(url: string, known = true): Promise<CatalogEntry> {
  return {
    name: "test-trace",
    title: "test",
    url,
    file: "test.csv",
    format: "azure-llm",
    license: "CC0",
    attribution: "the test",
    origin: "synthetic",
    ...(known ? { bytes: PAYLOAD.length, sha256: await sha(PAYLOAD) } : {}),
  };
}

Deno.test("fetchWorkload() downloads, verifies, caches and resumes", async (t) => {
  const srv = serve();
  try {
    await t.step("download then cached", async () => {
      const dir = await Deno.makeTempDir();
      const e = await entry(srv.url);
      const r = await fetchWorkload(e, { cacheDir: dir });
      assert.deepEqual([r.action, r.bytes, r.sha256, r.verified], [
        "downloaded",
        PAYLOAD.length,
        e.sha256,
        {
          bytes: true,
          sha256: true,
        },
      ]);
      assert.deepEqual(await Deno.readFile(`${dir}/test.csv`), PAYLOAD);
      assert.equal(
        (await fetchWorkload(e, { cacheDir: dir })).action,
        "cached",
      );
    });
    await t.step(
      "a dropped connection, then a resume with a Range request",
      async () => {
        const dir = await Deno.makeTempDir();
        const e = await entry(srv.url);
        srv.cutNextAt = 10_000;
        await assert.rejects(
          fetchWorkload(e, { cacheDir: dir }),
          (err: unknown) => {
            assert.ok(err instanceof FetchError);
            assert.match(
              err.message,
              new RegExp(
                `^Download of workload "test-trace" from ${srv.url} stopped after 10000 bytes \\(.+\\): ` +
                  `run the fetch again to resume, or download ${srv.url} by hand and put it at ${dir}/test.csv \\(sha256 ${e.sha256}\\)$`,
              ),
            );
            return true;
          },
        );
        assert.equal((await Deno.stat(`${dir}/test.csv.part`)).size, 10_000);
        const before = srv.ranges.length;
        const r = await fetchWorkload(e, { cacheDir: dir });
        assert.equal(r.action, "resumed");
        assert.deepEqual(srv.ranges.slice(before), ["bytes=10000-"]);
        assert.deepEqual(await Deno.readFile(`${dir}/test.csv`), PAYLOAD);
      },
    );
    await t.step("a server that ignores Range: restarts from 0", async () => {
      const dir = await Deno.makeTempDir();
      await Deno.writeFile(`${dir}/test.csv.part`, PAYLOAD.subarray(0, 500));
      srv.ignoreRange = true;
      try {
        const r = await fetchWorkload(await entry(srv.url), { cacheDir: dir });
        assert.equal(r.action, "downloaded");
        assert.deepEqual(await Deno.readFile(`${dir}/test.csv`), PAYLOAD);
      } finally {
        srv.ignoreRange = false;
      }
    });
    await t.step("a partial file that is already complete (416)", async () => {
      const dir = await Deno.makeTempDir();
      await Deno.writeFile(`${dir}/test.csv.part`, PAYLOAD);
      const r = await fetchWorkload(await entry(srv.url), { cacheDir: dir });
      assert.equal(r.action, "resumed");
    });
    await t.step("a checksum mismatch removes the file", async () => {
      const dir = await Deno.makeTempDir();
      const e = { ...await entry(srv.url), sha256: "0".repeat(64) };
      await assert.rejects(
        fetchWorkload(e, { cacheDir: dir }),
        new FetchError(
          `The download of workload "test-trace" has the wrong checksum: expected sha256 ${
            "0".repeat(64)
          }, got ${await sha(
            PAYLOAD,
          )}; it was removed, run the fetch again`,
        ),
      );
      await assert.rejects(
        Deno.stat(`${dir}/test.csv.part`),
        Deno.errors.NotFound,
      );
    });
    await t.step(
      "an entry without a known checksum is downloaded, not verified",
      async () => {
        const r = await fetchWorkload(await entry(srv.url, false), {
          cacheDir: await Deno.makeTempDir(),
        });
        assert.deepEqual(r.verified, { bytes: false, sha256: false });
        assert.equal(r.sha256, await sha(PAYLOAD));
      },
    );
    await t.step(
      "HTTP 404 names the URL and the path to fill by hand",
      async () => {
        const dir = await Deno.makeTempDir();
        const e = await entry(srv.url.replace(/\/[^/]+$/, "/missing.csv"));
        const orig = e.url;
        const fake = (() =>
          Promise.resolve(
            new Response("no", { status: 404, statusText: "Not Found" }),
          )) as typeof fetch;
        await assert.rejects(
          fetchWorkload(e, { cacheDir: dir, fetch: fake }),
          new FetchError(
            `Cannot download workload "test-trace" from ${orig}: HTTP 404 Not Found; download ${orig} by hand and put it at ${dir}/test.csv (sha256 ${e.sha256})`,
          ),
        );
      },
    );
  } finally {
    await srv.close();
  }
  await t.step(
    "no network: says which URL to fetch by hand and where to put it",
    async () => {
      const dir = await Deno.makeTempDir();
      const e = await entry(srv.url);
      await assert.rejects(
        fetchWorkload(e, { cacheDir: dir }),
        (err: unknown) => {
          assert.ok(err instanceof FetchError);
          assert.match(
            err.message,
            new RegExp(
              `^Cannot download workload "test-trace" from ${srv.url} \\(.+\\): download ${srv.url} by hand and put it at ${dir}/test.csv \\(sha256 [0-9a-f]{64}\\)$`,
            ),
          );
          return true;
        },
      );
    },
  );
});

Deno.test("resolveWorkload() finds names in a trace folder or the cache, and paths", async (t) => {
  const traceDir = await Deno.makeTempDir();
  const cacheDir = await Deno.makeTempDir();
  await Deno.mkdir(`${traceDir}/mooncake_fast25`);
  await Deno.writeTextFile(
    `${traceDir}/mooncake_fast25/conversation_trace.jsonl`,
    "{}\n",
  );
  await Deno.writeTextFile(`${cacheDir}/BurstGPT_1.csv`, "x\n");
  await t.step("trace folder layout", async () => {
    const r = await resolveWorkload("mooncake-conversation", {
      traceDir,
      cacheDir,
    });
    assert.equal(
      r.path,
      `${traceDir}/mooncake_fast25/conversation_trace.jsonl`,
    );
    assert.equal(r.entry?.format, "mooncake");
  });
  await t.step("cache", async () => {
    assert.equal(
      (await resolveWorkload("burstgpt-1", { cacheDir })).path,
      `${cacheDir}/BurstGPT_1.csv`,
    );
  });
  await t.step("a path relative to the trace folder", async () => {
    const r = await resolveWorkload(
      "mooncake_fast25/conversation_trace.jsonl",
      { traceDir, cacheDir },
    );
    assert.equal(
      r.path,
      `${traceDir}/mooncake_fast25/conversation_trace.jsonl`,
    );
  });
  await t.step("a name not downloaded", async () => {
    const e = CATALOG.find((c) => c.name === "azure-2023-code")!;
    await assert.rejects(
      resolveWorkload("azure-2023-code", { cacheDir }),
      new WorkloadNotFoundError(
        `Workload "azure-2023-code" is not downloaded (looked in ${cacheDir}/AzureLLMInferenceTrace_code.csv): run \`tokentrace workloads fetch azure-2023-code\`, or download ${e.url} by hand and put it at ${cacheDir}/AzureLLMInferenceTrace_code.csv`,
      ),
    );
  });
  await t.step(
    "a missing path is returned for readTrace to report",
    async () => {
      assert.deepEqual(await resolveWorkload("/nope.csv", { cacheDir }), {
        path: "/nope.csv",
      });
    },
  );
  await t.step("a word that is neither a name nor a file", async () => {
    await assert.rejects(
      resolveWorkload("azure-2099", { cacheDir }),
      (err: unknown) => {
        assert.ok(err instanceof WorkloadNotFoundError);
        assert.match(
          err.message,
          /^Workload "azure-2099": expected a catalog name \(azure-2023-code, .+\) or an existing trace file, got neither \(looked at azure-2099\)$/,
        );
        return true;
      },
    );
  });
});

Deno.test("CATALOG entries name a URL, license and attribution; known checksums are full", () => {
  for (const e of CATALOG) {
    assert.match(e.url, /^https:\/\//, e.name);
    assert.ok(e.license && e.attribution, e.name);
    if (e.sha256 !== undefined) {
      assert.match(e.sha256, /^[0-9a-f]{64}$/, e.name);
    }
  }
  assert.equal(new Set(CATALOG.map((e) => e.name)).size, CATALOG.length);
});

Deno.test("sha256File() hashes a file in chunks", async () => {
  const p = await Deno.makeTempFile();
  await Deno.writeFile(p, PAYLOAD);
  assert.equal(await sha256File(p), await sha(PAYLOAD));
});
