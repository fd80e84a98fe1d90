#include "CKernels.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__)
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

// Cephes expf: range reduction by ln 2 in two parts, degree-6 polynomial, 2^n built from
// exponent bits in two halves (so n = ±127 cannot overflow). Relative error < 2e-7.
static inline float exp_approx(float x) {
    const float hi = 88.72283f, lo = -87.33654f;
    float v = x > hi ? hi : x;
    v = v < lo ? lo : v;
    float n = floorf(v * 1.442695040888963f + 0.5f);
    float r = v - n * 0.693359375f;
    r = r - n * (-2.12194440e-4f);
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    int32_t ni = (int32_t)n;
    int32_t h = ni >> 1;
    uint32_t b1 = (uint32_t)(h + 127) << 23, b2 = (uint32_t)(ni - h + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, 4);
    memcpy(&s2, &b2, 4);
    float result = p * s1 * s2;
    result = x < lo ? 0.0f : result;
    result = x > hi ? INFINITY : result;
    return result;
}

MULTIVERSION
void lidit_vexp(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = exp_approx(x[i]);
}

MULTIVERSION
void lidit_softmax_row(float *row, size_t n) {
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++) m = row[i] > m ? row[i] : m;
    if (m == -INFINITY) { for (size_t i = 0; i < n; i++) row[i] = 0; return; }
    // Sum in double in a fixed order: the same on every machine and thread count.
    for (size_t i = 0; i < n; i++) row[i] = exp_approx(row[i] - m);
    float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) lanes[j] += row[i + j];
    double total = 0;
    for (int j = 0; j < 8; j++) total += lanes[j];
    for (; i < n; i++) total += row[i];
    float inv = (float)(1.0 / total);
    for (size_t i = 0; i < n; i++) row[i] *= inv;
}

MULTIVERSION
void lidit_silu(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) { float v = x[i]; y[i] = v / (1.0f + exp_approx(-v)); }
}

MULTIVERSION
void lidit_gelu_tanh(const float *x, float *y, size_t n) {
    // 1 + tanh(u) = 2 − 2/(e^{2u} + 1)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
        y[i] = 0.5f * v * (2.0f - 2.0f / (exp_approx(2.0f * u) + 1.0f));
    }
}

// dx = act'(x)·dy, or dx += act'(x)·dy when `accumulate`; dx may alias dy when not accumulating.
MULTIVERSION
void lidit_silu_backward(const float *x, const float *dy, float *dx, size_t n, int accumulate) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float s = 1.0f / (1.0f + exp_approx(-v));
        float g = s * (1.0f + v * (1.0f - s)) * dy[i];
        dx[i] = accumulate ? dx[i] + g : g;
    }
}

MULTIVERSION
void lidit_gelu_tanh_backward(const float *x, const float *dy, float *dx, size_t n, int accumulate) {
    // gelu(v) = v·σ(2u), u = √(2/π)(v + 0.044715v³): d/dv = σ + v·σ(1−σ)·2u'
    for (size_t i = 0; i < n; i++) {
        float v = x[i], v2 = v * v;
        float u = 0.7978845608028654f * (v + 0.044715f * v2 * v);
        float s = 1.0f / (1.0f + exp_approx(-2.0f * u));
        float du = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * v2);
        float g = (s + v * s * (1.0f - s) * 2.0f * du) * dy[i];
        dx[i] = accumulate ? dx[i] + g : g;
    }
}

int lidit_cpu_vector_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return 1;
#endif
    return 0;
}
