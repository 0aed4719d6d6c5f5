#!/usr/bin/env bash
# One device call's measurement: tokentrace's engine and the transformers peer on the same GPU,
# then the ratios (bench/compare.ts). Run from the repository root on the GPU machine:
#   bash adapters/webgpu/bench/h200.sh PEER_DIR OUT_DIR [GL_DIR] [DENO_TGZ] [device_run.ts flags...]
# PEER_DIR holds make_workload.py and transformers_peer.py (../shared/peers/, not in this repo);
# GL_DIR the Vulkan loader .debs (default .gl), DENO_TGZ the npm tarball of @deno/linux-x64-glibc
# (default .deno-pkg/deno-linux-x64-glibc-2.9.6.tgz). nvidia-smi samples clocks every 500 ms
# into OUT_DIR/clocks.csv, so the warm-up and the clocks under load are on record. Env:
# PEER_CB (generate_batch configs, default the peer's), PEER_A_TIMEOUT, PEER_B_TIMEOUT (seconds).
set -uo pipefail
PEER=$(cd "$1" && pwd)
OUT=$2
GL=${3:-.gl}
TGZ=${4:-.deno-pkg/deno-linux-x64-glibc-2.9.6.tgz}
shift 4 2>/dev/null || shift $#
mkdir -p "$OUT"
for f in "$GL"/*.deb; do dpkg -x "$f" /; done
ldconfig
NV_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$NV_ICD" ] && export VK_DRIVER_FILES=$NV_ICD
mkdir -p /tmp/deno && tar xzf "$TGZ" -C /tmp/deno
DENO=/tmp/deno/package/deno
chmod +x "$DENO"
export DENO_NO_UPDATE_CHECK=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,utilization.gpu,power.draw,memory.used \
  --format=csv -lms 500 >"$OUT/clocks.csv" 2>/dev/null &
SMI=$!
(cd "$PEER" && python3 make_workload.py)
echo "== tokentrace"
"$DENO" run -A --no-config adapters/webgpu/bench/device_run.ts \
  --workload "$PEER/workload.json" --out "$OUT" "$@" 2>&1 | tee "$OUT/tokentrace.log"
# The peer after tokentrace: part b (static cache + compile: the batch-1 comparison), then part
# a (roofline, dynamic-cache batch-1, generate_batch). Each writes its JSON after every section,
# so a time limit (PEER_B_TIMEOUT, PEER_A_TIMEOUT seconds) keeps what was measured.
echo "== transformers peer, part b"
timeout "${PEER_B_TIMEOUT:-600}" python3 "$PEER/transformers_peer.py" --part b \
  --out "$OUT/peer_b.json" 2>&1 | tail -n 8
echo "== transformers peer, part a"
timeout "${PEER_A_TIMEOUT:-900}" python3 "$PEER/transformers_peer.py" --part a \
  --out "$OUT/peer_a.json" ${PEER_CB:+--cb "$PEER_CB"} 2>&1 | tail -n 20
kill "$SMI" 2>/dev/null
echo "== ratios"
"$DENO" run -A --no-config adapters/webgpu/bench/compare.ts "$OUT"
