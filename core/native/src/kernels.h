// The fused CPU kernels behind Tunesmith's native path. Every kernel works on row-major
// float buffers owned by the caller (the tfjs cpu backend's Float32Arrays), so nothing is
// copied on the way in or out. Each has a plain-tfjs twin in core/ops that is its oracle.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ts {

// C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C, row-major with leading dimensions.
void sgemm(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda,
           const float* B, int ldb, float beta, float* C, int ldc);
const char* blas_name();

// ---- linear: y = x·W (+ b) (+ scale · (x⊙mask)·Aᵀ·Bᵀ) -------------------------------
// `wInOut`: W is [in, out] (GPT-2 Conv1D); otherwise [out, in] (torch nn.Linear).
// Dropout as dropout_apply makes it: element i of the call keyed `key` is kept, times `scale`,
// when dropout_bits(key, i) >= threshold. Backward makes the same mask again.
struct DropoutArgs {
  bool on = false;
  uint32_t key = 0, threshold = 0;
  float scale = 1;
};
// Dropout on x before the LoRA path: element i is x's element i.
struct LoraArgs {
  const float* a = nullptr;      // [r, in]
  const float* b = nullptr;      // [out, r]
  DropoutArgs dropout;
  float scale = 0;
  int r = 0;
};
// A projection weight in fp32, or a LoRA run's frozen base kept in bf16 bits (its products are
// then bf16 ones, the numbers autocast makes from the fp32 weight).
struct Weight {
  const float* f32 = nullptr;
  const uint16_t* bf16 = nullptr;
};
void linear_forward(const float* x, const Weight& w, const float* bias, bool wInOut, int n, int in, int out,
                    const LoraArgs& lora, float* down /* [n, r] kept for backward */, float* y, bool bf16 = false);
// Gradients for the outputs that are not null. `bf16`: every product takes bf16-rounded inputs
// and accumulates in fp32 (autocast), through gemm_bf16 (callers check that it exists).
void linear_backward(const float* x, const Weight& w, bool wInOut, int n, int in, int out, const float* dy,
                     const LoraArgs& lora, const float* down, float* dx, float* dw, float* db, float* da,
                     float* dbLora, bool bf16 = false);

// ---- LayerNorm over the last axis (biased variance, as torch) ------------------------------
void layer_norm_forward(const float* x, const float* gamma, const float* beta, int rows, int cols, float eps,
                        float* y, float* mean, float* rstd);
void layer_norm_backward(const float* x, const float* gamma, const float* mean, const float* rstd, const float* dy,
                         int rows, int cols, float* dx, float* dgamma, float* dbeta);

// ---- activations ---------------------------------------------------------------------------
enum class Activation { GeluNew = 0, GeluBloom = 1, GeluExact = 2, Relu = 3 };
void activation_forward(Activation kind, const float* x, size_t n, float* y);
void activation_backward(Activation kind, const float* x, const float* dy, size_t n, float* dx);

// ---- causal self-attention on a fused q|k|v projection --------------------------------------
// qkv is [B, T, 3E]. Layout GPT-2: q, k, v blocks of E each, heads inside them. Layout BLOOM:
// per head (q, k, v) of D each. Queries are the last Tq of Tk positions (the rest is cache).
enum class QkvLayout { Gpt2 = 0, Bloom = 1 };
struct AttentionArgs {
  int batch = 0, heads = 0, headDim = 0, tq = 0, tk = 0;
  QkvLayout layout = QkvLayout::Gpt2;
  float scale = 1;
  const float* alibi = nullptr;     // [B or 1, H, Tk], added after scaling; null = none
  bool alibiPerBatch = false;
  const float* keyMask = nullptr;   // [B, Tk]: 0 = padding no query may see; null = all real
  // Dropout on the probabilities: probability (b, h, i, j) is element
  // ((b·H + h)·Tq + i)·Tk + j of the call. Forward and backward make the same mask.
  DropoutArgs dropout;
  // Autocast: q·kᵀ, p·v and the backward's products on bf16-rounded inputs with fp32
  // accumulation (gemm_bf16; callers check it exists); mask, softmax and dropout stay fp32.
  bool bf16 = false;
};
// Training and full-sequence evaluation: Tq == Tk, keys and values read from qkv itself.
// stats [B, H, T, 2] keeps each query row's softmax max and 1/sum: backward recomputes the
// probabilities from them instead of keeping [B, H, T, T].
void attention_forward(const AttentionArgs& a, const float* qkv, float* stats, float* y);
void attention_backward(const AttentionArgs& a, const float* qkv, const float* stats, const float* dy, float* dqkv);
// Decoding with a KV cache: past keys/values [B, H, Tk − Tq, D] and the new positions' qkv give
// presentK/presentV [B, H, Tk, D] and the output for the new positions.
void attention_decode(const AttentionArgs& a, const float* qkv, const float* pastK, const float* pastV,
                      float* presentK, float* presentV, float* y);

// ---- softmax cross-entropy over the vocabulary ----------------------------------------------
// Row r counts when weight[r] > 0; target[r] is its label. Returns Σ weight·(lse − logit[target]).
double cross_entropy_forward(const float* logits, const int32_t* target, const float* weight, int rows, int vocab,
                             float* lse);
void cross_entropy_backward(const float* logits, const int32_t* target, const float* weight, const float* lse,
                            int rows, int vocab, float dloss, float* dlogits);

// ---- embedding -----------------------------------------------------------------------------
void embedding_gather(const float* table, const int32_t* ids, int n, int width, float* out);
void embedding_scatter_add(const float* dy, const int32_t* ids, int n, int width, float* dtable);

// ---- optimizer -----------------------------------------------------------------------------
double sum_squares(const float* x, size_t n);
struct AdamWArgs {
  float beta1, beta2, eps;
  float decayFactor;  // 1 − lr·weight_decay, or 1 outside the decay group
  float stepSize;     // lr / (1 − beta1^t)
  float sqrtBias2;    // sqrt(1 − beta2^t)
  float gradScale;    // the clipping coefficient (1 when not clipped)
};
void adamw_update(float* param, const float* grad, float* m, float* v, size_t n, const AdamWArgs& a);

// ---- dropout ---------------------------------------------------------------------------------
// A counter-based generator: 32 random bits for element i of the call whose key is `key`
// (murmur3's finaliser, keyed twice). core/ops/dropout.ts has the same function for the twin.
// Internal linkage, as fast_math.h's, for the per-ISA files that include it.
namespace {
inline uint32_t dropout_mix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}
inline uint32_t dropout_bits(uint32_t key, uint32_t i) { return dropout_mix(dropout_mix(i ^ key) + key); }
}  // namespace
// y = x · (bits(key, i) >= threshold ? scale : 0); also the backward pass (dx from dy).
void dropout_apply(const float* x, size_t n, uint32_t key, uint32_t threshold, float scale, float* y);

// ---- element-wise ---------------------------------------------------------------------------
// out = a + b (out may be a), for tfjs's Add on same-shape tensors: residual connections and
// the gradient sums of backprop.
void add(const float* a, const float* b, size_t n, float* out);

}  // namespace ts
