/**
 * The shape of docs/kubernetes/sharded-run.yaml (never applied to a cluster here): an Indexed
 * Job whose completion index and count become `--shard i/N`, every shard's database on one
 * shared volume, and a merge Job that joins them; every tokentrace command line in it parses
 * with this CLI's own flag parser.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { buildProgram } from "../../harness/cli/main.ts";
import { parseRunConfig } from "../../harness/cli/run_config.ts";
import { runFlagsFrom } from "../../harness/cli/option_sets.ts";

const MANIFEST = new URL(
  "../../docs/kubernetes/sharded-run.yaml",
  import.meta.url,
);

// deno-lint-ignore no-explicit-any
type Doc = any;

/** The manifest with its placeholders filled as the docs' envsubst line fills them. */
async function manifest(): Promise<{ text: string; docs: Doc[] }> {
  const raw = await Deno.readTextFile(MANIFEST);
  const envsubst = /envsubst '([^']+)'/.exec(raw);
  assert.ok(envsubst, "the manifest says how to fill its placeholders");
  const listed = new Set(
    [...envsubst[1].matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]),
  );
  const values: Record<string, string> = {
    IMAGE: "registry.example.com/tokentrace:0.1.0",
    TARGET_URL: "http://vllm.serving.svc:8000",
    START_AT: "1796119200",
  };
  // every ${PLACEHOLDER} outside comments is one envsubst fills
  const body = raw.split("\n").filter((l) => !l.trimStart().startsWith("#"))
    .join("\n");
  for (const m of body.matchAll(/\$\{(\w+)\}/g)) {
    assert.ok(
      listed.has(m[1]),
      `placeholder \${${m[1]}} is in the envsubst list`,
    );
  }
  let text = raw;
  for (const name of listed) {
    assert.ok(name in values, `a test value for ${name}`);
    text = text.replace(
      new RegExp(`\\$\\{?${name}\\}?(?!\\w)`, "g"),
      values[name],
    );
  }
  const parsed = parseAllDocuments(text);
  const docs = (Array.isArray(parsed) ? parsed : [parsed]).map((d) => {
    assert.deepEqual(d.errors, [], "YAML errors");
    return d.toJS();
  });
  return { text, docs };
}

/** The words of a shell line: spaces split, double quotes removed, `$VAR`s replaced. */
function words(line: string, env: Record<string, string>): string[] {
  return line.trim().split(/\s+/).map((w) =>
    w.replace(/^"(.*)"$/, "$1").replace(
      /\$(\w+)/g,
      (_, v) => {
        assert.ok(v in env, `shell variable $${v} is set`);
        return env[v];
      },
    )
  );
}

/** The `tokentrace <command> ...` lines of a container's script. */
function tokentraceLines(container: Doc): string[] {
  assert.deepEqual(container.command, ["sh", "-c"]);
  const script: string = container.args[0];
  return script.split("\n").filter((l) => l.trim().startsWith("tokentrace "));
}

function envOf(container: Doc): Record<string, string> {
  return Object.fromEntries(
    (container.env ?? []).map((e: Doc) => [e.name, String(e.value)]),
  );
}

/** Parses a tokentrace command's flags with the CLI's own parser, without running it. */
function parseCommand(argv: string[]) {
  const program = buildProgram(() => {});
  const cmd = program.commands.find((c) => c.name() === argv[0]);
  assert.ok(cmd, `tokentrace has a ${argv[0]} command`);
  cmd.exitOverride();
  cmd.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  const { operands, unknown } = cmd.parseOptions(argv.slice(1));
  assert.deepEqual(unknown, [], `${argv[0]}: unknown options`);
  return { operands, opts: cmd.opts() as Record<string, unknown> };
}

Deno.test("docs/kubernetes/sharded-run.yaml: an Indexed Job of shards, a shared volume, a merge", async (t) => {
  const { docs } = await manifest();
  const [pvc, shards, merge] = docs;
  await t.step("three objects: volume claim, shards Job, merge Job", () => {
    assert.deepEqual(docs.map((d) => [d.apiVersion, d.kind]), [
      ["v1", "PersistentVolumeClaim"],
      ["batch/v1", "Job"],
      ["batch/v1", "Job"],
    ]);
    assert.ok(pvc.spec.accessModes.includes("ReadWriteMany"));
  });

  const spec = shards.spec;
  const shard = spec.template.spec.containers[0];
  const n = spec.completions;
  await t.step("shards: Indexed, all at once, N everywhere the same", () => {
    assert.equal(spec.completionMode, "Indexed");
    assert.ok(Number.isInteger(n) && n >= 2);
    assert.equal(spec.parallelism, n, "every shard runs at once");
    assert.equal(spec.template.spec.restartPolicy, "Never");
    assert.equal(envOf(shard).SHARDS, String(n));
    assert.equal(
      envOf(merge.spec.template.spec.containers[0]).SHARDS,
      String(n),
    );
  });

  await t.step(
    "each shard's command is a valid sharded run for every index",
    () => {
      const lines = tokentraceLines(shard);
      assert.equal(lines.length, 1);
      const script: string = shard.args[0];
      for (let i = 0; i < n; i++) {
        const env = { ...envOf(shard), JOB_COMPLETION_INDEX: String(i) };
        const dbLine = /db="([^"]+)"/.exec(script);
        assert.ok(dbLine, "the shard's database path");
        const db = dbLine[1].replace("$JOB_COMPLETION_INDEX", String(i));
        const argv = words(lines[0], { ...env, db });
        assert.equal(argv[0], "tokentrace");
        assert.equal(argv[1], "run");
        const cfg = parseRunConfig(
          runFlagsFrom(argv.slice(2)),
        );
        assert.deepEqual(cfg.shard, { index: i, count: n });
        assert.equal(cfg.startAtUnixNs, 1_796_119_200_000_000_000n);
        assert.equal(cfg.db, `/results/shard-${i}.duckdb`);
        assert.equal(cfg.url, "http://vllm.serving.svc:8000");
      }
    },
  );

  await t.step(
    "shards and merge mount the same claim where the paths point",
    () => {
      for (const job of [shards, merge]) {
        const pod = job.spec.template.spec;
        const c = pod.containers[0];
        const mount = c.volumeMounts.find((m: Doc) =>
          m.mountPath === "/results"
        );
        assert.ok(mount, `${job.metadata.name} mounts /results`);
        const volume = pod.volumes.find((v: Doc) => v.name === mount.name);
        assert.equal(volume.persistentVolumeClaim.claimName, pvc.metadata.name);
      }
    },
  );

  await t.step(
    "merge: waits for N shards, merges their databases, exports the run",
    () => {
      const c = merge.spec.template.spec.containers[0];
      const script: string = c.args[0];
      assert.match(script, /shard-\*\.duckdb\.done .*-ge "\$SHARDS"/);
      assert.match(shard.args[0], /touch "\$db\.done"/);
      const lines = tokentraceLines(c).map((l) => words(l, envOf(c)));
      assert.deepEqual(lines.map((w) => w[1]), ["merge", "export", "report"]);
      const m = parseCommand(lines[0].slice(1));
      assert.deepEqual(m.operands, ["/results/shard-*.duckdb"]);
      assert.equal(m.opts.out, "/results/run.duckdb");
      const e = parseCommand(lines[1].slice(1));
      assert.deepEqual(
        [e.opts.db, e.opts.to],
        ["/results/run.duckdb", "/results/store"],
      );
      const r = parseCommand(lines[2].slice(1));
      assert.equal(r.opts.db, "/results/run.duckdb");
    },
  );
});
