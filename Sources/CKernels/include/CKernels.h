#ifndef LIDIT_CKERNELS_H
#define LIDIT_CKERNELS_H
// Element-wise inner loops written in C so clang vectorises them (Swift's SIMD conversions and
// rounding lower poorly). Each function is compiled for AVX2+FMA and for baseline x86-64 and
// picked at load time, so the binary runs on any x86-64 machine.
#include <stddef.h>

void lidit_vexp(const float *x, float *y, size_t n);
// In place: row = softmax(row). A row whose maximum is -inf becomes zeros.
void lidit_softmax_row(float *row, size_t n);
void lidit_silu(const float *x, float *y, size_t n);
void lidit_gelu_tanh(const float *x, float *y, size_t n);
// dx = act'(x)·dy (accumulate = 0; dx may alias dy) or dx += act'(x)·dy (accumulate = 1).
void lidit_silu_backward(const float *x, const float *dy, float *dx, size_t n, int accumulate);
void lidit_gelu_tanh_backward(const float *x, const float *dy, float *dx, size_t n, int accumulate);

// What the CPU can run, for choosing an OpenBLAS kernel family when its dispatch falls back to a
// generic one: 2 = AVX-512 (F, CD, BW, DQ, VL), 1 = AVX2 with FMA, 0 = neither (or not x86-64).
int lidit_cpu_vector_level(void);

#endif
