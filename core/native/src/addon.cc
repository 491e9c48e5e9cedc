// Node-API bindings: unpack typed arrays and numbers, check every buffer's length against
// the shape it is used with (a wrong size must be a JavaScript error, never a stray write),
// and call the kernel.
#include <napi.h>

#include <string>

#include "gemm_bf16.h"
#include "gemm.h"
#include "kernels.h"
#include "vector_kernels.h"
#include "subnormals.h"
#include "thread_pool.h"

namespace {

using ts::AttentionArgs;
using ts::DropoutArgs;
using ts::LoraArgs;

class Args {
 public:
  explicit Args(const Napi::CallbackInfo& info) : info_(info), env_(info.Env()) {}
  bool failed() const { return env_.IsExceptionPending(); }
  Napi::Env env() const { return env_; }

  float* f32(size_t i, size_t need, const char* name, bool optional = false) {
    return checked<float, napi_float32_array>(i, need, name, optional);
  }
  int32_t* i32(size_t i, size_t need, const char* name) { return checked<int32_t, napi_int32_array>(i, need, name, false); }
  int integer(size_t i, const char* name) {
    if (failed()) return 0;
    if (!info_[i].IsNumber()) return fail<int>(std::string(name) + " must be a number"), 0;
    int v = info_[i].As<Napi::Number>().Int32Value();
    if (v < 0) fail<int>(std::string(name) + " must not be negative");
    return v;
  }
  double number(size_t i, const char* name) {
    if (failed()) return 0;
    if (!info_[i].IsNumber()) return fail<int>(std::string(name) + " must be a number"), 0;
    return info_[i].As<Napi::Number>().DoubleValue();
  }
  bool boolean(size_t i) { return !failed() && info_[i].ToBoolean().Value(); }
  Napi::Object object(size_t i, const char* name) {
    if (!info_[i].IsObject()) fail<int>(std::string(name) + " must be an object");
    return info_[i].As<Napi::Object>();
  }
  template <typename T>
  T* fail(const std::string& message) {
    if (!failed()) Napi::TypeError::New(env_, "tunesmith kernels: " + message).ThrowAsJavaScriptException();
    return nullptr;
  }

 private:
  template <typename T, napi_typedarray_type Kind>
  T* checked(size_t i, size_t need, const char* name, bool optional) {
    if (failed()) return nullptr;
    Napi::Value v = info_[i];
    if (optional && (v.IsNull() || v.IsUndefined())) return nullptr;
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != Kind) {
      return fail<T>(std::string(name) + (Kind == napi_float32_array ? " must be a Float32Array" : " must be an Int32Array"));
    }
    auto a = v.As<Napi::TypedArrayOf<T>>();
    if (a.ElementLength() < need) {
      return fail<T>(std::string(name) + " has " + std::to_string(a.ElementLength()) + " elements, needs " + std::to_string(need));
    }
    return a.Data();
  }

  const Napi::CallbackInfo& info_;
  Napi::Env env_;
};

size_t sz(int a, int b) { return static_cast<size_t>(a) * static_cast<size_t>(b); }

bool is_u32(double x) { return x >= 0 && x <= 4294967295.0 && x == static_cast<double>(static_cast<uint32_t>(x)); }

// { key, threshold, scale } as a kernel's dropout, off for null or undefined. The mask is made
// from the bits of key and threshold, so both must be 32-bit unsigned integers.
DropoutArgs dropout_arg(Args& args, Napi::Value value, const std::string& what) {
  DropoutArgs d;
  if (value.IsNull() || value.IsUndefined()) return d;
  if (!value.IsObject()) return args.fail<int>(what + " must be null or { key, threshold, scale }"), d;
  Napi::Object o = value.As<Napi::Object>();
  auto u32 = [&](const char* key) -> uint32_t {
    Napi::Value v = o.Get(key);
    const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!is_u32(x)) return args.fail<int>(what + "." + key + " must be a 32-bit unsigned integer"), 0;
    return static_cast<uint32_t>(x);
  };
  d.on = true;
  d.key = u32("key");
  if (!args.failed()) d.threshold = u32("threshold");
  if (!args.failed()) d.scale = o.Get("scale").ToNumber().FloatValue();
  return d;
}

// The Float32Array o[key] with at least `need` elements (`name` in messages), or null where
// it is optional and absent. Reads nothing once a check has failed: an N-API call made with
// an exception pending aborts the process.
const float* f32_field(Args& args, Napi::Object o, const char* key, const std::string& name, size_t need, bool optional) {
  if (args.failed()) return nullptr;
  Napi::Value v = o.Get(key);
  if (optional && (v.IsNull() || v.IsUndefined())) return nullptr;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) return args.fail<float>(name + " must be a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  if (a.ElementLength() < need) return args.fail<float>(name + " is too short");
  return a.Data();
}

// lora: null or { a, b, mask, scale, r } for a projection of `in` → `out` over n rows.
LoraArgs lora_args(Args& args, Napi::Value value, int n, int in, int out) {
  LoraArgs l;
  if (args.failed() || value.IsNull() || value.IsUndefined()) return l;
  Napi::Object o = value.As<Napi::Object>();
  l.r = o.Get("r").As<Napi::Number>().Int32Value();
  l.scale = o.Get("scale").As<Napi::Number>().FloatValue();
  l.a = f32_field(args, o, "a", "lora.a", sz(l.r, in), false);
  l.b = f32_field(args, o, "b", "lora.b", sz(out, l.r), false);
  if (!args.failed()) l.dropout = dropout_arg(args, o.Get("dropout"), "lora.dropout");
  if (l.dropout.on && !args.failed() && sz(n, in) > 4294967295.0) args.fail<int>("LoRA dropout works on at most 2^32 input elements");
  return l;
}

// A projection weight of `need` elements: a Float32Array, or a Uint16Array of bf16 bits (a
// frozen base kept in bf16, which only the bf16 GEMM reads).
ts::Weight weight_arg(Args& a, const Napi::CallbackInfo& info, size_t i, size_t need) {
  ts::Weight w;
  Napi::Value v = info[i];
  if (a.failed() || !v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array) {
    w.f32 = a.f32(i, need, "w");
    return w;
  }
  auto bits = v.As<Napi::Uint16Array>();
  if (bits.ElementLength() < need) a.fail<int>("w has " + std::to_string(bits.ElementLength()) + " bf16 elements, needs " + std::to_string(need));
  else if (!ts::bf16_kernel_name()) a.fail<int>(std::string("a bf16 weight needs the bf16 kernel, which is not available: ") + ts::bf16_refusal());
  else w.bf16 = bits.Data();
  return w;
}

// An optional trailing `bf16` flag: run the projection's products in bf16 (refused where the
// CPU has no bf16 kernel, with the reason).
bool bf16_requested(Args& a, size_t i) {
  if (!a.boolean(i)) return false;
  if (!ts::bf16_kernel_name()) a.fail<int>(std::string("bf16 is not available: ") + ts::bf16_refusal());
  return true;
}

Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  Args a(info);
  // (x, w, bias, wInOut, n, in, out, lora, down, y)
  int n = a.integer(4, "n"), in = a.integer(5, "in"), out = a.integer(6, "out");
  const float* x = a.f32(0, sz(n, in), "x");
  ts::Weight w = weight_arg(a, info, 1, sz(in, out));
  const float* bias = a.f32(2, out, "bias", true);
  bool wInOut = a.boolean(3);
  LoraArgs lora = lora_args(a, info[7], n, in, out);
  float* down = a.f32(8, lora.a ? sz(n, lora.r) : 0, "down", true);
  float* y = a.f32(9, sz(n, out), "y");
  bool bf16 = bf16_requested(a, 10);
  if (!a.failed()) ts::linear_forward(x, w, bias, wInOut, n, in, out, lora, down, y, bf16);
  return info.Env().Undefined();
}

Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  // (x, w, wInOut, n, in, out, dy, lora, down, dx, dw, db, da, dbLora)
  int n = a.integer(3, "n"), in = a.integer(4, "in"), out = a.integer(5, "out");
  const float* x = a.f32(0, sz(n, in), "x", true);
  ts::Weight w = weight_arg(a, info, 1, sz(in, out));
  bool wInOut = a.boolean(2);
  const float* dy = a.f32(6, sz(n, out), "dy");
  LoraArgs lora = lora_args(a, info[7], n, in, out);
  const float* down = a.f32(8, lora.a ? sz(n, lora.r) : 0, "down", true);
  float* dx = a.f32(9, sz(n, in), "dx", true);
  float* dw = a.f32(10, sz(in, out), "dw", true);
  if (dw && w.bf16) a.fail<int>("w is a frozen weight stored in bf16: it has no gradient (dw must be null)");
  if (!x && (dw || lora.a)) a.fail<int>("x is needed for dw and for a LoRA pair's gradients");
  float* db = a.f32(11, out, "db", true);
  float* da = a.f32(12, sz(lora.r, in), "da", true);
  float* dbLora = a.f32(13, sz(out, lora.r), "dbLora", true);
  bool bf16 = bf16_requested(a, 14);
  if (!a.failed()) ts::linear_backward(x, w, wInOut, n, in, out, dy, lora, down, dx, dw, db, da, dbLora, bf16);
  return info.Env().Undefined();
}

Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  Args a(info);
  // (x, gamma, beta, rows, cols, eps, y, mean, rstd)
  int rows = a.integer(3, "rows"), cols = a.integer(4, "cols");
  float eps = static_cast<float>(a.number(5, "eps"));
  const float* x = a.f32(0, sz(rows, cols), "x");
  const float* g = a.f32(1, cols, "gamma");
  const float* b = a.f32(2, cols, "beta");
  float* y = a.f32(6, sz(rows, cols), "y");
  float* mean = a.f32(7, rows, "mean");
  float* rstd = a.f32(8, rows, "rstd");
  if (!a.failed()) ts::layer_norm_forward(x, g, b, rows, cols, eps, y, mean, rstd);
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  // (x, gamma, mean, rstd, dy, rows, cols, dx, dgamma, dbeta)
  int rows = a.integer(5, "rows"), cols = a.integer(6, "cols");
  const float* x = a.f32(0, sz(rows, cols), "x");
  const float* g = a.f32(1, cols, "gamma");
  const float* mean = a.f32(2, rows, "mean");
  const float* rstd = a.f32(3, rows, "rstd");
  const float* dy = a.f32(4, sz(rows, cols), "dy");
  float* dx = a.f32(7, sz(rows, cols), "dx", true);
  float* dg = a.f32(8, cols, "dgamma", true);
  float* db = a.f32(9, cols, "dbeta", true);
  if (!a.failed()) ts::layer_norm_backward(x, g, mean, rstd, dy, rows, cols, dx, dg, db);
  return info.Env().Undefined();
}

ts::Activation activation_kind(Args& a, size_t i) {
  int k = a.integer(i, "kind");
  if (k > static_cast<int>(ts::Activation::Relu)) a.fail<int>("unknown activation " + std::to_string(k));
  return static_cast<ts::Activation>(k);
}

Napi::Value ActivationForward(const Napi::CallbackInfo& info) {
  Args a(info);
  // (kind, x, y)
  ts::Activation kind = activation_kind(a, 0);
  size_t n = info[1].IsTypedArray() ? info[1].As<Napi::TypedArray>().ElementLength() : 0;
  const float* x = a.f32(1, n, "x");
  float* y = a.f32(2, n, "y");
  if (!a.failed()) ts::activation_forward(kind, x, n, y);
  return info.Env().Undefined();
}

Napi::Value ActivationBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  // (kind, x, dy, dx)
  ts::Activation kind = activation_kind(a, 0);
  size_t n = info[1].IsTypedArray() ? info[1].As<Napi::TypedArray>().ElementLength() : 0;
  const float* x = a.f32(1, n, "x");
  const float* dy = a.f32(2, n, "dy");
  float* dx = a.f32(3, n, "dx");
  if (!a.failed()) ts::activation_backward(kind, x, dy, n, dx);
  return info.Env().Undefined();
}

// { batch, heads, headDim, tq, tk, layout, scale, alibi, alibiPerBatch, keyMask,
//   dropout: null | { key, threshold, scale }, bf16 }
AttentionArgs attention_args(Args& a, Napi::Value value) {
  AttentionArgs r;
  if (a.failed() || !value.IsObject()) return a.fail<int>("attention options must be an object"), r;
  Napi::Object o = value.As<Napi::Object>();
  auto num = [&](const char* key) { return o.Get(key).As<Napi::Number>().DoubleValue(); };
  r.batch = static_cast<int>(num("batch"));
  r.heads = static_cast<int>(num("heads"));
  r.headDim = static_cast<int>(num("headDim"));
  r.tq = static_cast<int>(num("tq"));
  r.tk = static_cast<int>(num("tk"));
  r.layout = static_cast<ts::QkvLayout>(static_cast<int>(num("layout")));
  r.scale = static_cast<float>(num("scale"));
  r.alibiPerBatch = o.Get("alibiPerBatch").ToBoolean().Value();
  if (r.tq > r.tk) a.fail<int>("attention: more queries than keys");
  r.alibi = f32_field(a, o, "alibi", "alibi", sz(r.alibiPerBatch ? r.batch : 1, r.heads) * r.tk, true);
  r.keyMask = f32_field(a, o, "keyMask", "keyMask", sz(r.batch, r.tk), true);
  if (!a.failed()) r.dropout = dropout_arg(a, o.Get("dropout"), "attention.dropout");
  if (a.failed()) return r;
  r.bf16 = o.Get("bf16").ToBoolean().Value();
  if (r.bf16 && !ts::bf16_kernel_name()) a.fail<int>(std::string("bf16 is not available: ") + ts::bf16_refusal());
  return r;
}

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Args a(info);
  // (options, qkv, stats, y)
  AttentionArgs o = attention_args(a, info[0]);
  if (o.tq != o.tk) a.fail<int>("attention forward takes whole sequences (tq == tk)");
  const size_t e = sz(o.heads, o.headDim);
  const float* qkv = a.f32(1, sz(o.batch, o.tk) * 3 * e, "qkv");
  float* stats = a.f32(2, sz(o.batch, o.heads) * sz(o.tq, 2), "stats");
  float* y = a.f32(3, sz(o.batch, o.tq) * e, "y");
  if (!a.failed()) ts::attention_forward(o, qkv, stats, y);
  return info.Env().Undefined();
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  // (options, qkv, stats, dy, dqkv)
  AttentionArgs o = attention_args(a, info[0]);
  if (o.tq != o.tk) a.fail<int>("attention backward takes whole sequences (tq == tk)");
  const size_t e = sz(o.heads, o.headDim);
  const float* qkv = a.f32(1, sz(o.batch, o.tk) * 3 * e, "qkv");
  const float* stats = a.f32(2, sz(o.batch, o.heads) * sz(o.tq, 2), "stats");
  const float* dy = a.f32(3, sz(o.batch, o.tq) * e, "dy");
  float* dqkv = a.f32(4, sz(o.batch, o.tk) * 3 * e, "dqkv");
  if (!a.failed()) ts::attention_backward(o, qkv, stats, dy, dqkv);
  return info.Env().Undefined();
}

Napi::Value AttentionDecode(const Napi::CallbackInfo& info) {
  Args a(info);
  // (options, qkv, pastK, pastV, presentK, presentV, y)
  AttentionArgs o = attention_args(a, info[0]);
  const size_t e = sz(o.heads, o.headDim);
  const size_t pastSize = sz(o.batch, o.heads) * sz(o.tk - o.tq, o.headDim);
  const float* qkv = a.f32(1, sz(o.batch, o.tq) * 3 * e, "qkv");
  const float* pastK = a.f32(2, pastSize, "pastK", pastSize == 0);
  const float* pastV = a.f32(3, pastSize, "pastV", pastSize == 0);
  float* presentK = a.f32(4, sz(o.batch, o.heads) * sz(o.tk, o.headDim), "presentK");
  float* presentV = a.f32(5, sz(o.batch, o.heads) * sz(o.tk, o.headDim), "presentV");
  float* y = a.f32(6, sz(o.batch, o.tq) * e, "y");
  if (!a.failed()) ts::attention_decode(o, qkv, pastK, pastV, presentK, presentV, y);
  return info.Env().Undefined();
}

Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  Args a(info);
  // (logits, target, weight, rows, vocab, lse) → loss sum
  int rows = a.integer(3, "rows"), vocab = a.integer(4, "vocab");
  const float* logits = a.f32(0, sz(rows, vocab), "logits");
  const int32_t* target = a.i32(1, rows, "target");
  const float* weight = a.f32(2, rows, "weight");
  float* lse = a.f32(5, rows, "lse");
  if (a.failed()) return info.Env().Undefined();
  for (int r = 0; r < rows; r++) {
    if (weight[r] != 0 && (target[r] < 0 || target[r] >= vocab)) {
      a.fail<int>("target " + std::to_string(target[r]) + " at row " + std::to_string(r) + " is outside the vocabulary");
      return info.Env().Undefined();
    }
  }
  return Napi::Number::New(info.Env(), ts::cross_entropy_forward(logits, target, weight, rows, vocab, lse));
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args a(info);
  // (logits, target, weight, lse, rows, vocab, dloss, dlogits)
  int rows = a.integer(4, "rows"), vocab = a.integer(5, "vocab");
  float dloss = static_cast<float>(a.number(6, "dloss"));
  const float* logits = a.f32(0, sz(rows, vocab), "logits");
  const int32_t* target = a.i32(1, rows, "target");
  const float* weight = a.f32(2, rows, "weight");
  const float* lse = a.f32(3, rows, "lse");
  float* dlogits = a.f32(7, sz(rows, vocab), "dlogits");
  if (!a.failed()) ts::cross_entropy_backward(logits, target, weight, lse, rows, vocab, dloss, dlogits);
  return info.Env().Undefined();
}

bool ids_in_range(Args& a, const int32_t* ids, int n, int rows) {
  if (a.failed()) return false;
  for (int i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= rows) {
      a.fail<int>("id " + std::to_string(ids[i]) + " at position " + std::to_string(i) + " is outside the table's " + std::to_string(rows) + " rows");
      return false;
    }
  }
  return true;
}

Napi::Value EmbeddingGather(const Napi::CallbackInfo& info) {
  Args a(info);
  // (table, rows, ids, n, width, out)
  int rows = a.integer(1, "rows"), n = a.integer(3, "n"), width = a.integer(4, "width");
  const float* table = a.f32(0, sz(rows, width), "table");
  const int32_t* ids = a.i32(2, n, "ids");
  float* out = a.f32(5, sz(n, width), "out");
  if (ids_in_range(a, ids, n, rows)) ts::embedding_gather(table, ids, n, width, out);
  return info.Env().Undefined();
}

Napi::Value EmbeddingScatterAdd(const Napi::CallbackInfo& info) {
  Args a(info);
  // (dy, ids, n, width, dtable, rows)
  int n = a.integer(2, "n"), width = a.integer(3, "width"), rows = a.integer(5, "rows");
  const float* dy = a.f32(0, sz(n, width), "dy");
  const int32_t* ids = a.i32(1, n, "ids");
  float* dtable = a.f32(4, sz(rows, width), "dtable");
  if (ids_in_range(a, ids, n, rows)) ts::embedding_scatter_add(dy, ids, n, width, dtable);
  return info.Env().Undefined();
}

size_t length_of(const Napi::CallbackInfo& info, size_t i) {
  return info[i].IsTypedArray() ? info[i].As<Napi::TypedArray>().ElementLength() : 0;
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Args a(info);
  size_t n = length_of(info, 0);
  const float* x = a.f32(0, n, "x");
  if (a.failed()) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), ts::sum_squares(x, n));
}

Napi::Value AdamWUpdate(const Napi::CallbackInfo& info) {
  Args a(info);
  // (param, grad, m, v, { beta1, beta2, eps, decayFactor, stepSize, sqrtBias2, gradScale })
  size_t n = length_of(info, 0);
  float* param = a.f32(0, n, "param");
  const float* grad = a.f32(1, n, "grad");
  float* m = a.f32(2, n, "m");
  float* v = a.f32(3, n, "v");
  Napi::Object o = a.object(4, "settings");
  if (a.failed()) return info.Env().Undefined();
  auto num = [&](const char* key) { return o.Get(key).As<Napi::Number>().FloatValue(); };
  ts::AdamWArgs s{num("beta1"), num("beta2"), num("eps"), num("decayFactor"), num("stepSize"), num("sqrtBias2"), num("gradScale")};
  ts::adamw_update(param, grad, m, v, n, s);
  return info.Env().Undefined();
}

Napi::Value Add(const Napi::CallbackInfo& info) {
  Args a(info);
  // (a, b, out)
  size_t n = length_of(info, 0);
  const float* x = a.f32(0, n, "a");
  const float* y = a.f32(1, n, "b");
  float* out = a.f32(2, n, "out");
  if (!a.failed()) ts::add(x, y, n, out);
  return info.Env().Undefined();
}

Napi::Value GemmBf16(const Napi::CallbackInfo& info) {
  Args a(info);
  // (transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
  bool ta = a.boolean(0), tb = a.boolean(1);
  int m = a.integer(2, "m"), n = a.integer(3, "n"), k = a.integer(4, "k");
  float alpha = static_cast<float>(a.number(5, "alpha"));
  int lda = a.integer(7, "lda"), ldb = a.integer(9, "ldb"), ldc = a.integer(12, "ldc");
  float beta = static_cast<float>(a.number(10, "beta"));
  // op(A) is m×k: stored k rows of lda when transposed, m rows otherwise; likewise B and C.
  auto need = [](int rows, int cols, int ld) { return rows == 0 || cols == 0 ? 0 : sz(rows - 1, ld) + cols; };
  if (!a.failed() && (lda < (ta ? m : k) || ldb < (tb ? k : n) || ldc < n)) a.fail<int>("a leading dimension is shorter than its row");
  const float* A = a.f32(6, ta ? need(k, m, lda) : need(m, k, lda), "A");
  const float* B = a.f32(8, tb ? need(n, k, ldb) : need(k, n, ldb), "B");
  float* C = a.f32(11, need(m, n, ldc), "C");
  if (!a.failed() && !ts::bf16_kernel_name()) a.fail<int>(std::string("bf16 is not available: ") + ts::bf16_refusal());
  if (!a.failed()) ts::gemm_bf16(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  return info.Env().Undefined();
}

Napi::Value Dropout(const Napi::CallbackInfo& info) {
  Args a(info);
  // (x, key, threshold, scale, y)
  size_t n = length_of(info, 0);
  const float* x = a.f32(0, n, "x");
  double key = a.number(1, "key"), threshold = a.number(2, "threshold");
  float scale = static_cast<float>(a.number(3, "scale"));
  float* y = a.f32(4, n, "y");
  if (!a.failed() && !(is_u32(key) && is_u32(threshold))) a.fail<int>("key and threshold must be 32-bit unsigned integers");
  if (!a.failed() && n > 4294967295.0) a.fail<int>("dropout works on at most 2^32 elements");
  if (!a.failed()) ts::dropout_apply(x, n, static_cast<uint32_t>(key), static_cast<uint32_t>(threshold), scale, y);
  return info.Env().Undefined();
}

// Tunesmith's own GEMM on a named micro-kernel, for tests and benchmarks of every path.
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Args a(info);
  // (isa, transA, transB, m, n, k, alpha, A, B, beta, C, threads), tight leading dimensions
  if (!info[0].IsString()) return a.fail<int>("isa must be a string"), info.Env().Undefined();
  const std::string isa = info[0].As<Napi::String>().Utf8Value();
  const ts::gemm::Kernel* kernel = ts::gemm::by_name(isa.c_str());
  if (!kernel) return a.fail<int>("this CPU cannot run the " + isa + " GEMM"), info.Env().Undefined();
  bool transA = a.boolean(1), transB = a.boolean(2);
  int m = a.integer(3, "m"), n = a.integer(4, "n"), k = a.integer(5, "k");
  float alpha = static_cast<float>(a.number(6, "alpha"));
  const float* A = a.f32(7, sz(m, k), "A");
  const float* B = a.f32(8, sz(k, n), "B");
  float beta = static_cast<float>(a.number(9, "beta"));
  float* C = a.f32(10, sz(m, n), "C");
  int threads = a.integer(11, "threads");
  if (!a.failed()) {
    ts::gemm::sgemm(*kernel, threads, transA, transB, m, n, k, alpha, A, transA ? m : k, B, transB ? k : n, beta, C,
                    n);
  }
  return info.Env().Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("blas", ts::blas_name());
  o.Set("threads", ts::pool_threads());
  const char* bf16 = ts::bf16_kernel_name();
  o.Set("bf16", bf16 ? Napi::Value(Napi::String::New(info.Env(), bf16)) : info.Env().Null());
  o.Set("bf16Refusal", bf16 ? info.Env().Null() : Napi::Value(Napi::String::New(info.Env(), ts::bf16_refusal())));
  Napi::Array isas = Napi::Array::New(info.Env());
  uint32_t count = 0;
  for (const char* name : {"avx512", "avx2", "neon", "portable"})
    if (ts::gemm::by_name(name)) isas.Set(count++, name);
  o.Set("gemmIsas", isas);
  const ts::gemm::Kernel& gemm = ts::gemm::active();
  Napi::Object blocks = Napi::Object::New(info.Env());
  blocks.Set("mc", gemm.mc);
  blocks.Set("kc", ts::gemm::k_block(gemm));
  blocks.Set("nc", gemm.nc);
  blocks.Set("l2Bytes", static_cast<double>(ts::gemm::l2_bytes()));
  o.Set("gemmBlocks", blocks);
  o.Set("vectorIsa", ts::vec::active().name);
  return o;
}

// Every kernel runs with subnormals flushed, and the caller's float mode is back on return.
template <Napi::Value (*Kernel)(const Napi::CallbackInfo&)>
Napi::Value WithoutSubnormals(const Napi::CallbackInfo& info) {
  ts::FlushSubnormals scope;
  return Kernel(info);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("linearForward", Napi::Function::New(env, WithoutSubnormals<LinearForward>));
  exports.Set("linearBackward", Napi::Function::New(env, WithoutSubnormals<LinearBackward>));
  exports.Set("layerNormForward", Napi::Function::New(env, WithoutSubnormals<LayerNormForward>));
  exports.Set("layerNormBackward", Napi::Function::New(env, WithoutSubnormals<LayerNormBackward>));
  exports.Set("activationForward", Napi::Function::New(env, WithoutSubnormals<ActivationForward>));
  exports.Set("activationBackward", Napi::Function::New(env, WithoutSubnormals<ActivationBackward>));
  exports.Set("attentionForward", Napi::Function::New(env, WithoutSubnormals<AttentionForward>));
  exports.Set("attentionBackward", Napi::Function::New(env, WithoutSubnormals<AttentionBackward>));
  exports.Set("attentionDecode", Napi::Function::New(env, WithoutSubnormals<AttentionDecode>));
  exports.Set("crossEntropyForward", Napi::Function::New(env, WithoutSubnormals<CrossEntropyForward>));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, WithoutSubnormals<CrossEntropyBackward>));
  exports.Set("embeddingGather", Napi::Function::New(env, WithoutSubnormals<EmbeddingGather>));
  exports.Set("embeddingScatterAdd", Napi::Function::New(env, WithoutSubnormals<EmbeddingScatterAdd>));
  exports.Set("sumSquares", Napi::Function::New(env, WithoutSubnormals<SumSquares>));
  exports.Set("adamwUpdate", Napi::Function::New(env, WithoutSubnormals<AdamWUpdate>));
  exports.Set("add", Napi::Function::New(env, WithoutSubnormals<Add>));
  exports.Set("gemmBf16", Napi::Function::New(env, WithoutSubnormals<GemmBf16>));
  exports.Set("dropout", Napi::Function::New(env, WithoutSubnormals<Dropout>));
  exports.Set("sgemm", Napi::Function::New(env, WithoutSubnormals<Sgemm>));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(tunesmith_kernels, Init)
