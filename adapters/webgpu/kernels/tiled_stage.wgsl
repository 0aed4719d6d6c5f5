// tiled_stage.wgsl: the staging of linear_tiled.wgsl and linear_tiled_h.wgsl (appended to both):
// one invocation's global loads of a TILE_K slice of a and W, and their stores to workgroup
// memory, split so that the loads of the next slice can be in flight while this one is computed.
//
//   fetch_slice(k0): invocation lid loads x elements e = lid + u TILE_WG (u < A_LOADS <= 4; the
//     vec4 at row m0 + i, k4 = k0 / 4 + q for (i, q) = a_pos(e); with SILU_MUL also the up half at
//     k4 + K / 4) and W8 units e = lid + u TILE_WG (u < W_LOADS <= 2; row n0 + i, k8 = k0 / 8 + q
//     for (i, q) = w_pos(e)) into the private registers fa0..fa3, fw0..fw1, raw: zero past M, N
//     and K, no arithmetic on them (so that no instruction waits on the loads).
//   put_slice(buf): silu(v) * up (SILU_MUL) and the conversion to the staging type (ST) happen
//     here; a_s[buf TILE_K TM4 + k TM4 + m / 4][m % 4] and w_s[buf TILE_K TN4 + k TN4 + n / 4][n % 4]
//     ([k][m] and [k][n], transposed), buffer buf < SBUF.
// TILE_PF (geometry.ts): 0 fetches and puts each slice at its own step (load, store, barrier,
// compute, barrier); 1 fetches slice s + 1 right after slice s is put (registers in flight during
// the compute; one staging buffer, two barriers per slice); 2 as 1 with two staging buffers
// (SBUF 2: slice s + 1 is put into the other buffer after slice s is computed; one barrier per
// slice). TILE_SW (a_pos, w_pos) picks which lane stages which element. Every TILE_PF and TILE_SW
// stages the same values in the same places, so the sums (and outputs) are identical. Host asserts
// (checkTileGeometry): A_LOADS <= 4, W_LOADS <= 2, TILE_PF <= 2, TILE_SW <= 1.

const SBUF: u32 = 1u + TILE_PF / 2u; // staging buffers
const A_BUF: u32 = TILE_K * TM4; // VS4 per staging buffer of a
const W_BUF: u32 = TILE_K * TN4; // VS4 per staging buffer of W

var<workgroup> a_s: array<VS4, A_BUF * SBUF>; // [SBUF][TILE_K][TILE_M / 4]
var<workgroup> w_s: array<VS4, W_BUF * SBUF>; // [SBUF][TILE_K][TILE_N / 4]

// One x vec4 as loaded, and its up half with SILU_MUL (zero when not loaded).
struct AF {
  v: vec4<f32>,
  up: vec4<f32>,
}

// Element e of a slice's x vec4s as (row, vec4 along k), of its W8 units as (row, W8 along k):
// TILE_SW 0 takes k first (a lane's neighbours load the rest of its row: coalesced), 1 the rows
// first (neighbours store neighbouring rows: one workgroup-memory wavefront per store, where k
// first puts the lanes of a warp TILE_M or TILE_N elements apart, in the same banks).
fn a_pos(e: u32) -> vec2<u32> {
  if (TILE_SW != 0u) {
    return vec2<u32>(e % TILE_M, e / TILE_M);
  }
  return vec2<u32>(e / (TILE_K / 4u), e % (TILE_K / 4u));
}

fn w_pos(e: u32) -> vec2<u32> {
  if (TILE_SW != 0u) {
    return vec2<u32>(e % TILE_N, e / TILE_N);
  }
  return vec2<u32>(e / (TILE_K / 8u), e % (TILE_K / 8u));
}

var<private> fa0: AF;
var<private> fa1: AF;
var<private> fa2: AF;
var<private> fa3: AF;
var<private> fw0: W8;
var<private> fw1: W8;

fn fetch_a(e: u32, k0: u32, m0: u32, M: u32) -> AF {
  var r: AF; // zero
  let p = a_pos(e);
  let mi = p.x;
  let k4 = k0 / 4u + p.y;
  if (e < A_ELEMS && m0 + mi < M && k4 < 2u * P.K8) {
    r.v = x[(m0 + mi) * P.XS4 + k4];
    if ((P.flags & SILU_MUL) != 0u) {
      r.up = x[(m0 + mi) * P.XS4 + 2u * P.K8 + k4];
    }
  }
  return r;
}

fn fetch_w(e: u32, k0: u32, n0: u32) -> W8 {
  var r: W8; // zero
  let p = w_pos(e);
  let ni = p.x;
  let k8 = k0 / 8u + p.y;
  if (e < W_ELEMS && n0 + ni < P.N && k8 < P.K8) {
    r = w[(n0 + ni) * P.K8 + k8];
  }
  return r;
}

fn put_a(e: u32, f: AF, buf: u32) {
  if (e < A_ELEMS) {
    var v = f.v;
    if ((P.flags & SILU_MUL) != 0u) {
      v = v / (1.0 + exp(-v)) * f.up; // zero stays zero past M and K
    }
    let p = a_pos(e);
    let mi = p.x;
    let kq = p.y;
    let at = buf * A_BUF + kq * 4u * TM4 + mi / 4u;
    a_s[at][mi % 4u] = ST(v.x);
    a_s[at + TM4][mi % 4u] = ST(v.y);
    a_s[at + 2u * TM4][mi % 4u] = ST(v.z);
    a_s[at + 3u * TM4][mi % 4u] = ST(v.w);
  }
}

fn put_w(e: u32, v: W8, buf: u32) {
  if (e < W_ELEMS) {
    let lo = w8_lo(v);
    let hi = w8_hi(v);
    let p = w_pos(e);
    let ni = p.x;
    let ko = p.y;
    let at = buf * W_BUF + ko * 8u * TN4 + ni / 4u;
    w_s[at][ni % 4u] = ST(lo.x);
    w_s[at + TN4][ni % 4u] = ST(lo.y);
    w_s[at + 2u * TN4][ni % 4u] = ST(lo.z);
    w_s[at + 3u * TN4][ni % 4u] = ST(lo.w);
    w_s[at + 4u * TN4][ni % 4u] = ST(hi.x);
    w_s[at + 5u * TN4][ni % 4u] = ST(hi.y);
    w_s[at + 6u * TN4][ni % 4u] = ST(hi.z);
    w_s[at + 7u * TN4][ni % 4u] = ST(hi.w);
  }
}

// The slice at k0 into fa0..fa3, fw0..fw1 (A_LOADS and W_LOADS of them).
fn fetch_slice(lid: u32, k0: u32, m0: u32, n0: u32, M: u32) {
  fa0 = fetch_a(lid, k0, m0, M);
  if (A_LOADS > 1u) {
    fa1 = fetch_a(lid + TILE_WG, k0, m0, M);
  }
  if (A_LOADS > 2u) {
    fa2 = fetch_a(lid + 2u * TILE_WG, k0, m0, M);
  }
  if (A_LOADS > 3u) {
    fa3 = fetch_a(lid + 3u * TILE_WG, k0, m0, M);
  }
  fw0 = fetch_w(lid, k0, n0);
  if (W_LOADS > 1u) {
    fw1 = fetch_w(lid + TILE_WG, k0, n0);
  }
}

// The fetched slice into staging buffer buf.
fn put_slice(lid: u32, buf: u32) {
  put_a(lid, fa0, buf);
  if (A_LOADS > 1u) {
    put_a(lid + TILE_WG, fa1, buf);
  }
  if (A_LOADS > 2u) {
    put_a(lid + 2u * TILE_WG, fa2, buf);
  }
  if (A_LOADS > 3u) {
    put_a(lid + 3u * TILE_WG, fa3, buf);
  }
  put_w(lid, fw0, buf);
  if (W_LOADS > 1u) {
    put_w(lid + TILE_WG, fw1, buf);
  }
}
