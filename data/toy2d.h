// toy2d.h — small synthetic data sets for watching generative models learn in 1 or 2
// dimensions, where the whole distribution fits in one scatter plot.
//
// Every function draws from the Generator it is given, so the same seed gives the same points.
// Points come back as a Tensor [n, 2] ([n, 1] for the 1D mixture); where the set has natural
// classes, the class of each point is written to *labels ([n], as float) when labels is given.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace hd {

// Gaussian blobs at equal angles on a circle: mode k sits at radius * (cos 2πk/modes, sin 2πk/modes)
// and each point picks its mode uniformly. The classic test of GAN mode collapse (a collapsed
// generator covers only a few of the blobs). labels: the mode 0..modes-1.
Tensor ring_of_gaussians(int64_t n, Generator& gen, int modes = 8, float radius = 2.f, float std = 0.02f,
                         Tensor* labels = nullptr);

// The Swiss roll seen from the side, like the (x, z) columns of sklearn's make_swiss_roll:
// t ~ U[1.5π, 4.5π], point = (t cos t, t sin t) / 4.5π, so everything lies in [-1, 1].
// noise: standard deviation of Gaussian noise added to each coordinate, in those output units.
Tensor swiss_roll(int64_t n, Generator& gen, float noise = 0.f);

// Two interleaving half circles, like sklearn's make_moons: n/2 (rounded down) points evenly
// spaced on the upper moon (label 0), the rest on the lower one (label 1), in random order,
// plus Gaussian noise of standard deviation `noise`. x spans about [-1, 2], y about [-0.5, 1].
Tensor two_moons(int64_t n, Generator& gen, float noise = 0.1f, Tensor* labels = nullptr);

// [n, 1] samples of the 1D mixture sum_k w_k N(means_k, stds_k^2). weights need not sum to 1
// (they are normalised); all three vectors have one entry per component. labels: the component.
Tensor gaussian_mixture_1d(int64_t n, Generator& gen, const std::vector<double>& means,
                           const std::vector<double>& stds, const std::vector<double>& weights,
                           Tensor* labels = nullptr);

// Its density p(x) = sum_k w_k / (sqrt(2π) s_k) exp(-(x - m_k)^2 / (2 s_k^2)), weights normalised:
// to draw the true curve under a histogram of a model's samples.
double gaussian_mixture_pdf(double x, const std::vector<double>& means, const std::vector<double>& stds,
                            const std::vector<double>& weights);

}  // namespace hd
