// @ts-nocheck: a browser script, served by the dashboard as /assets/console.js.
// The dashboard's SQL console, in the browser: DuckDB-Wasm (served by the dashboard, no CDN)
// loads the run's rows from /data/... as CSV, installs the metric views of reports/sql/, and runs
// the SQL typed in the page. Queries never leave the browser.

// A dynamic import of a computed URL: the bundle exists only as a dashboard asset, so tools that
// read this file as a module (deno check, deno test --doc) must not try to resolve it.
const duckdb = await import(
  new URL("./duckdb-browser.mjs", import.meta.url).href
);

const root = document.getElementById("console");
const statusLine = document.getElementById("status");
const results = document.getElementById("results");
const input = document.getElementById("sql");
const button = document.getElementById("run");
const download = document.getElementById("download");
const MAX_ROWS = 1000;
let lastTable = null;

function setStatus(text, failed = false) {
  statusLine.textContent = text;
  statusLine.className = failed ? "flag" : "note";
}

function cell(v) {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "object") {
    return JSON.stringify(
      v,
      (_k, x) => typeof x === "bigint" ? x.toString() : x,
    );
  }
  return String(v);
}

// One CSV field: quoted when it holds a comma, quote or line break (RFC 4180); NULL is empty.
function csvField(v) {
  if (v === null || v === undefined) return "";
  const s = cell(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

// Every row of the last result (not only the rows shown) as a CSV file download.
function downloadCsv() {
  if (lastTable === null) return;
  const names = lastTable.schema.fields.map((f) => f.name);
  const lines = [names.map(csvField).join(",")];
  for (const r of lastTable.toArray()) {
    lines.push(names.map((n) => csvField(r[n])).join(","));
  }
  const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "tokentrace-query.csv";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function renderTable(table) {
  const names = table.schema.fields.map((f) => f.name);
  const rows = table.toArray().slice(0, MAX_ROWS);
  const t = document.createElement("table");
  t.id = "result-table";
  const head = t.insertRow();
  for (const n of names) {
    const th = document.createElement("th");
    th.textContent = n;
    head.appendChild(th);
  }
  for (const r of rows) {
    const tr = t.insertRow();
    for (const n of names) tr.insertCell().textContent = cell(r[n]);
  }
  results.replaceChildren(t);
  return { columns: names.length, rows: table.numRows, shown: rows.length };
}

async function main() {
  const run = root.dataset.run;
  const worker = new Worker("/assets/duckdb-browser-eh.worker.js");
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
  await db.instantiate("/assets/duckdb-eh.wasm");
  const conn = await db.connect();
  // Extensions would be fetched from the network: keep DuckDB from trying.
  await conn.query("set autoinstall_known_extensions = false");
  await conn.query("set autoload_known_extensions = false");
  const runPart = run === "" ? "_all" : encodeURIComponent(run);
  const schema = await (await fetch("/data/schema.json")).json();
  const notes = [];
  for (const [table, columns] of Object.entries(schema.tables)) {
    setStatus(`Loading ${table}…`);
    const res = await fetch(`/data/${runPart}/${table}.csv`);
    if (!res.ok) throw new Error(`${table}: ${res.status} ${await res.text()}`);
    if (res.headers.get("x-tokentrace-truncated") === "true") {
      notes.push(
        `${table} cut at ${res.headers.get("x-tokentrace-rows")} rows`,
      );
    }
    await db.registerFileText(`${table}.csv`, await res.text());
    const spec = columns.map((c) => `'${c.name}': '${c.type}'`).join(", ");
    await conn.query(
      `create table ${table} as select * from read_csv('${table}.csv', header = true, ` +
        `delim = ',', quote = '"', escape = '"', columns = {${spec}}, auto_detect = false)`,
    );
  }
  for (const v of schema.views) {
    try {
      await conn.query(v.sql);
    } catch (e) {
      notes.push(`view ${v.name} unavailable here: ${e.message}`);
    }
  }
  const ready = `Ready: DuckDB-Wasm with the run's rows and the metric views.${
    notes.length ? " " + notes.join("; ") : ""
  }`;
  setStatus(ready);
  button.disabled = false;
  root.dataset.ready = "true";

  async function runQuery() {
    button.disabled = true;
    setStatus("Running…");
    const t0 = performance.now();
    try {
      const table = await conn.query(input.value);
      const shown = renderTable(table);
      lastTable = table;
      download.disabled = false;
      setStatus(
        `${shown.rows} row(s), ${shown.columns} column(s) in ${
          (performance.now() - t0).toFixed(0)
        } ms${shown.rows > shown.shown ? ` (first ${shown.shown} shown)` : ""}`,
      );
      root.dataset.rows = String(shown.rows);
    } catch (e) {
      results.replaceChildren();
      lastTable = null;
      download.disabled = true;
      // the status keeps the message's line breaks (white-space: pre-wrap)
      setStatus(`Error: ${e.message}`, true);
    } finally {
      button.disabled = false;
    }
  }
  button.addEventListener("click", runQuery);
  download.addEventListener("click", downloadCsv);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) runQuery();
  });
}

main().catch((e) => setStatus(`Console failed to start: ${e.message}`, true));
