// autograd/elementwise.h — differentiable elementwise ops (broadcasting like tensor/elementwise.h).
//
// Each op's forward and backward rule sit together in elementwise.cpp. For broadcasting ops the
// gradient of an input that was stretched is summed back to that input's shape (sum_to).
#pragma once

#include "autograd/variable.h"

namespace hd {

Variable add(const Variable& a, const Variable& b);  // d/da = 1, d/db = 1
Variable sub(const Variable& a, const Variable& b);  // d/da = 1, d/db = -1
Variable mul(const Variable& a, const Variable& b);  // d/da = b, d/db = a
Variable div(const Variable& a, const Variable& b);  // d/da = 1/b, d/db = -a/b^2
Variable maximum(const Variable& a, const Variable& b);  // gradient to the larger (split evenly on ties)
Variable minimum(const Variable& a, const Variable& b);
// cond (a constant mask, != 0 picks a) selects elementwise; the gradient follows the selection.
Variable where(const Tensor& cond, const Variable& a, const Variable& b);

Variable add(const Variable& a, float s);
Variable mul(const Variable& a, float s);
Variable pow(const Variable& a, float p);  // d/da = p * a^(p-1)
Variable neg(const Variable& a);
Variable exp(const Variable& a);    // d/da = e^a (the output, reused)
Variable log(const Variable& a);    // d/da = 1/a
Variable log1p(const Variable& a);  // log(1 + a), accurate for small a; d/da = 1/(1 + a)
Variable sqrt(const Variable& a);   // d/da = 1 / (2 sqrt(a))
Variable abs(const Variable& a);    // d/da = sign(a)
Variable sin(const Variable& a);    // d/da = cos(a)
Variable cos(const Variable& a);    // d/da = -sin(a)
Variable square(const Variable& a); // d/da = 2a
// Limits values to [lo, hi]; the gradient is passed where a is inside the interval, 0 outside.
Variable clamp(const Variable& a, float lo, float hi);

inline Variable operator+(const Variable& a, const Variable& b) { return add(a, b); }
inline Variable operator-(const Variable& a, const Variable& b) { return sub(a, b); }
inline Variable operator*(const Variable& a, const Variable& b) { return mul(a, b); }
inline Variable operator/(const Variable& a, const Variable& b) { return div(a, b); }
inline Variable operator-(const Variable& a) { return neg(a); }
inline Variable operator+(const Variable& a, float s) { return add(a, s); }
inline Variable operator+(float s, const Variable& a) { return add(a, s); }
inline Variable operator-(const Variable& a, float s) { return add(a, -s); }
inline Variable operator-(float s, const Variable& a) { return add(neg(a), s); }
inline Variable operator*(const Variable& a, float s) { return mul(a, s); }
inline Variable operator*(float s, const Variable& a) { return mul(a, s); }
inline Variable operator/(const Variable& a, float s) { return mul(a, 1.f / s); }
inline Variable operator/(float s, const Variable& a) { return mul(pow(a, -1.f), s); }

}  // namespace hd
