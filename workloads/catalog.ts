/**
 * Named public LLM serving traces: where each is published, its license and how to cite it,
 * and its size and SHA-256 where known (measured on a downloaded copy; unknown ones are not
 * guessed). `tokentrace workloads fetch <name>` downloads one into the cache.
 *
 * @module
 */
import type { TraceFormat } from "./formats/detect_format.ts";

/** One named public trace. */
export interface CatalogEntry {
  /** The name `--workload` and `workloads fetch` take. */
  name: string;
  /** What the trace is, in a few words. */
  title: string;
  /** The official download URL. */
  url: string;
  /** File name in the cache folder. */
  file: string;
  /** Path relative to a trace folder laid out like `../shared/traces` (tried before `file`). */
  layout?: string;
  /** The trace format of the file. */
  format: TraceFormat;
  /** The license the publisher gives. */
  license: string;
  /** How to cite it. */
  attribution: string;
  /** Real production traffic, or synthetic. */
  origin: "real" | "synthetic";
  /** Size in bytes, when known. */
  bytes?: number;
  /** SHA-256 (hex) of the file, when known. */
  sha256?: string;
  /** Anything a user should know before using it. */
  note?: string;
}

const AZURE_2023 = "CC-BY 4.0";
const SPLITWISE =
  'Patel et al., "Splitwise: Efficient generative LLM inference using phase splitting", ISCA 2024';
const DYNAMOLLM =
  'Stojkovic et al., "DynamoLLM: Designing LLM Inference Clusters for Performance and Energy Efficiency", arXiv 2408.00741';
const MODSERVE =
  'Qiu et al., "ModServe: Modality- and Stage-Aware Resource Disaggregation for Scalable Multimodal Model Serving", SoCC 2025';
const BURSTGPT =
  'Wang et al., "Towards Efficient and Reliable LLM Serving: A Real-World Workload Study" (BurstGPT), arXiv 2401.17644';
const MOONCAKE =
  'Qin et al., "Mooncake: Trading More Storage for Less Computation - A KVCache-centric Architecture for Serving LLM Chatbot", FAST 2025';
const AZ_RAW =
  "https://raw.githubusercontent.com/Azure/AzurePublicDataset/master/data";
const AZ_BLOB =
  "https://azurepublicdatasettraces.blob.core.windows.net/azurellminfererencetrace";
const MC_RAW =
  "https://raw.githubusercontent.com/kvcache-ai/Mooncake/main/FAST25-release";
const BG_REL = "https://github.com/HPMLL/BurstGPT/releases/download/v1.1";

/** The catalog, by name. */
export const CATALOG: readonly CatalogEntry[] = [
  {
    name: "azure-2023-code",
    title: "Azure LLM inference 2023, coding service (1 hour)",
    url: `${AZ_RAW}/AzureLLMInferenceTrace_code.csv`,
    file: "AzureLLMInferenceTrace_code.csv",
    layout: "azure_llm_2023/AzureLLMInferenceTrace_code.csv",
    format: "azure-llm",
    license: AZURE_2023,
    attribution: SPLITWISE,
    origin: "real",
  },
  {
    name: "azure-2023-conv",
    title: "Azure LLM inference 2023, conversation service (1 hour)",
    url: `${AZ_RAW}/AzureLLMInferenceTrace_conv.csv`,
    file: "AzureLLMInferenceTrace_conv.csv",
    layout: "azure_llm_2023/AzureLLMInferenceTrace_conv.csv",
    format: "azure-llm",
    license: AZURE_2023,
    attribution: SPLITWISE,
    origin: "real",
    bytes: 719188,
    sha256: "2f1e5b666d4e3055fdbba98598ce2ec307767b9064e03e2fa46676dbcc7d0bf8",
  },
  {
    name: "azure-2024-code-week",
    title: "Azure LLM inference 2024, coding service (1 week)",
    url: `${AZ_BLOB}/AzureLLMInferenceTrace_code_1week.csv`,
    file: "AzureLLMInferenceTrace_code_1week.csv",
    format: "azure-llm",
    license: AZURE_2023,
    attribution: DYNAMOLLM,
    origin: "real",
    note: "hosted on Azure Blob Storage only",
  },
  {
    name: "azure-2024-conv-week",
    title: "Azure LLM inference 2024, conversation service (1 week)",
    url: `${AZ_BLOB}/AzureLLMInferenceTrace_conv_1week.csv`,
    file: "AzureLLMInferenceTrace_conv_1week.csv",
    format: "azure-llm",
    license: AZURE_2023,
    attribution: DYNAMOLLM,
    origin: "real",
    note: "hosted on Azure Blob Storage only",
  },
  {
    name: "azure-2025-multimodal",
    title:
      "Azure LMM inference 2025, multimodal (1 week, NumImages per request)",
    url: `${AZ_RAW}/AzureLMMInferenceTrace_multimodal.csv.gz`,
    file: "AzureLMMInferenceTrace_multimodal.csv.gz",
    format: "azure-llm",
    license: AZURE_2023,
    attribution: MODSERVE,
    origin: "real",
    note: "gzip-compressed CSV; read as is",
  },
  {
    name: "burstgpt-1",
    title:
      "BurstGPT 1 (ChatGPT and GPT-4 in Azure OpenAI, first 2 months, with failures)",
    url: `${BG_REL}/BurstGPT_1.csv`,
    file: "BurstGPT_1.csv",
    format: "burstgpt",
    license: "CC-BY-4.0 (as the HPMLL/BurstGPT README states)",
    attribution: BURSTGPT,
    origin: "real",
  },
  {
    name: "burstgpt-2",
    title: "BurstGPT 2 (the following months, with failures)",
    url: `${BG_REL}/BurstGPT_2.csv`,
    file: "BurstGPT_2.csv",
    format: "burstgpt",
    license: "CC-BY-4.0 (as the HPMLL/BurstGPT README states)",
    attribution: BURSTGPT,
    origin: "real",
  },
  {
    name: "burstgpt-1-without-fails",
    title: "BurstGPT 1 without the failed requests",
    url: `${BG_REL}/BurstGPT_without_fails_1.csv`,
    file: "BurstGPT_without_fails_1.csv",
    format: "burstgpt",
    license: "CC-BY-4.0 (as the HPMLL/BurstGPT README states)",
    attribution: BURSTGPT,
    origin: "real",
  },
  {
    name: "burstgpt-2-without-fails",
    title: "BurstGPT 2 without the failed requests",
    url: `${BG_REL}/BurstGPT_without_fails_2.csv`,
    file: "BurstGPT_without_fails_2.csv",
    format: "burstgpt",
    license: "CC-BY-4.0 (as the HPMLL/BurstGPT README states)",
    attribution: BURSTGPT,
    origin: "real",
  },
  {
    name: "mooncake-conversation",
    title:
      "Mooncake FAST'25 conversation trace (Kimi, 1 hour, 512-token block hashes)",
    url: `${MC_RAW}/traces/conversation_trace.jsonl`,
    file: "conversation_trace.jsonl",
    layout: "mooncake_fast25/conversation_trace.jsonl",
    format: "mooncake",
    license: "Apache-2.0",
    attribution: MOONCAKE,
    origin: "real",
    bytes: 3029533,
    sha256: "b8cbb061a85206d729d91cdc2981f43c9e0d99209dce588d3af5f7934408b9df",
  },
  {
    name: "mooncake-toolagent",
    title:
      "Mooncake FAST'25 tool-and-agent trace (Kimi, 512-token block hashes)",
    url: `${MC_RAW}/traces/toolagent_trace.jsonl`,
    file: "toolagent_trace.jsonl",
    layout: "mooncake_fast25/toolagent_trace.jsonl",
    format: "mooncake",
    license: "Apache-2.0",
    attribution: MOONCAKE,
    origin: "real",
  },
  {
    name: "mooncake-synthetic",
    title:
      "Mooncake FAST'25 synthetic trace (Poisson arrivals; not production traffic)",
    url: `${MC_RAW}/traces/synthetic_trace.jsonl`,
    file: "synthetic_trace.jsonl",
    layout: "mooncake_fast25/synthetic_trace.jsonl",
    format: "mooncake",
    license: "Apache-2.0",
    attribution: MOONCAKE,
    origin: "synthetic",
    bytes: 1136313,
    sha256: "bd070915a98fc0ed264d7cfef2ce746002eb3076a695ec31ba2674c0111ec131",
  },
  {
    name: "mooncake-arxiv",
    title:
      "Mooncake arXiv trace (the paper's first release, 512-token block hashes)",
    url: `${MC_RAW}/arxiv-trace/mooncake_trace.jsonl`,
    file: "mooncake_trace.jsonl",
    format: "mooncake",
    license: "Apache-2.0",
    attribution: MOONCAKE,
    origin: "real",
  },
  {
    name: "sharegpt-v3",
    title:
      "ShareGPT V3 unfiltered cleaned split (prompts and answers; no arrival times)",
    url:
      "https://huggingface.co/datasets/anon8231489123/ShareGPT_Vicuna_unfiltered/resolve/main/ShareGPT_V3_unfiltered_cleaned_split.json",
    file: "ShareGPT_V3_unfiltered_cleaned_split.json",
    format: "sharegpt",
    license: "Apache-2.0 (as the dataset card states)",
    attribution:
      "ShareGPT conversations, collected by anon8231489123 (Hugging Face)",
    origin: "real",
    note: "conversations, not a timed trace: pair it with --arrival",
  },
];

/**
 * Looks up a catalog entry by name.
 *
 * @example
 * ```ts
 * import { catalogEntry } from "./catalog.ts";
 * console.log(catalogEntry("mooncake-conversation")?.format); // mooncake
 * ```
 */
export function catalogEntry(name: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.name === name);
}
