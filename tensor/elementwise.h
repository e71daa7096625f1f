// elementwise.h — elementwise kernels with NumPy/PyTorch broadcasting.
//
// Broadcasting: shapes are aligned from the right; a size-1 axis (or a missing one)
// stretches to match the other operand. [4, 1, 3] op [5, 1] -> [4, 5, 3].
// Comparison results are float tensors of 0 and 1, so a mask multiplies directly.
#pragma once

#include "tensor/tensor.h"

namespace hd {

// The broadcast shape of a and b; throws naming `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// --- binary, broadcasting ---
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
// cond != 0 picks a, else b; all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// --- with a scalar ---
Tensor add(const Tensor& a, float s);
Tensor mul(const Tensor& a, float s);
Tensor pow(const Tensor& a, float p);
Tensor rsub(float s, const Tensor& a);  // s - a
Tensor rdiv(float s, const Tensor& a);  // s / a
Tensor gt(const Tensor& a, float s);
Tensor lt(const Tensor& a, float s);
Tensor ge(const Tensor& a, float s);
Tensor le(const Tensor& a, float s);
Tensor eq(const Tensor& a, float s);
Tensor clamp(const Tensor& a, float lo, float hi);

// --- unary ---
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor log1p(const Tensor& a);
Tensor sqrt(const Tensor& a);
Tensor abs(const Tensor& a);
Tensor sign(const Tensor& a);
Tensor sin(const Tensor& a);
Tensor cos(const Tensor& a);
Tensor erf(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor sigmoid(const Tensor& a);  // 1 / (1 + e^-x), computed without overflow for large |x|
Tensor relu(const Tensor& a);
// relu's input gradient in one pass: g * (x > 0 ? 1 : 0), the same values as mul(g, gt(x, 0)) without the
// mask tensor. g and x must have the same shape.
Tensor relu_backward(const Tensor& g, const Tensor& x);
Tensor silu(const Tensor& a);  // x sigmoid(x), one pass
// silu's input gradient in one pass: g * s (1 + x (1 - s)), s = sigmoid(x). g and x must have the same shape.
Tensor silu_backward(const Tensor& g, const Tensor& x);
Tensor square(const Tensor& a);

// --- fused loss kernels (same shapes, no broadcasting) ---
// Per element: max(x, 0) - x y + log(1 + e^-|x|), the binary cross-entropy of logits x against targets y.
Tensor binary_cross_entropy_with_logits(const Tensor& x, const Tensor& y);
// Its gradient with respect to x, given the gradient g of the per-element losses: g (sigmoid(x) - y).
Tensor binary_cross_entropy_with_logits_backward(const Tensor& g, const Tensor& x, const Tensor& y);

// --- operators for readable formulas ---
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, float s) { return add(a, s); }
inline Tensor operator+(float s, const Tensor& a) { return add(a, s); }
inline Tensor operator-(const Tensor& a, float s) { return add(a, -s); }
inline Tensor operator-(float s, const Tensor& a) { return rsub(s, a); }
inline Tensor operator*(const Tensor& a, float s) { return mul(a, s); }
inline Tensor operator*(float s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, float s) { return mul(a, 1.f / s); }
inline Tensor operator/(float s, const Tensor& a) { return rdiv(s, a); }

// --- in place, same shape (optimizers and accumulation) ---
void add_(Tensor& a, const Tensor& b);             // a += b (b broadcasts to a's shape)
void axpy_(Tensor& y, float alpha, const Tensor& x);  // y += alpha * x, same shape
void mul_(Tensor& a, float s);                     // a *= s

}  // namespace hd
