// Package penalty provides the gradient penalties of GAN critics, WGAN-GP
// (Gulrajani et al. 2017) and R1 (Mescheder et al. 2018), with their
// weight gradients, for networks whose layers cannot be differentiated
// twice.
//
// # Why
//
// A penalty on ∇_x D needs the derivative of a gradient. gorgonia v0.9.18
// cannot give it: Backpropagate caches each node's first derivative and
// reuses it when Grad is called again, so gradients of gradients come out
// wrong even with gorgonia's own ops, and sdk/nn's backward ops declare
// themselves non-differentiable, so a penalty written the WGAN-GP way
// (Grad of D with respect to x, then Grad of loss + penalty with respect to
// the weights) is refused ("No gradients found for node") or, in other
// forms, contributes nothing: a weight gradient bit-identical to the one
// without it (TestNaiveGorgoniaDropsPenalty fails if it ever changes the
// gradient silently). This package needs first derivatives only.
//
// # How
//
// Write the penalty's derivative with respect to g_i = ∇_x D(x_i) as
// c_i·v_i. Then ∂P/∂θ = Σ_i c_i·∂/∂θ[g_i·v_i] (v_i held fixed), and since
// the mixed partials of D commute,
//
//	∂/∂θ[∇_x D(x)·v] = d/dt ∇_θ D(x + t·v) at t = 0,
//
// a directional derivative of the ordinary weight gradient (a
// Hessian-vector product), which MixedGrad takes by central differences of
// Critic.WeightGrad at x_i ± h_i·v_i. For WGAN-GP, v_i = g_i and
// c_i = 2λ(‖g_i‖−1)/(N‖g_i‖); for R1, v_i = g_i and c_i = γ/N. Each sample
// has its own step, h_i = ε·max(‖x_i‖, 1)/‖v_i‖, and the weight c_i/h_i in
// the weighted sum that WeightGrad differentiates, so one pair of passes
// gives the whole sum over the batch. By default Richardson's extrapolation
// of the steps h and 2h cancels the O(h²) error: four weight-gradient
// passes; Options.Central uses one pair.
//
// Kinks. For a ReLU or LeakyReLU network, ∇_θ D jumps where a unit changes
// sign, and with thousands of units some unit always lies within any useful
// step of its kink: differences across kinks were 301% off on the test
// fixture (TestUnfrozenKinks). Autograd's double backpropagation treats the slopes as constants,
// so WeightGrad takes an anchor batch, at, whose activation pattern every
// piecewise-linear activation uses: the differences then see a network
// that is exactly linear in x between the kinks' frozen slopes, and only
// smooth layers (LayerNorm) leave an error, O(ε²) centrally and O(ε⁴) with
// Richardson's extrapolation.
//
// # Accuracy and cost
//
// Against torch.autograd.grad(..., create_graph=True) in float64, on a
// float32 critic of f-AnoGAN's layer types (conv, LeakyReLU, LayerNorm over
// (C, H, W), 2x2 mean pooling, linear; 1x8x8 inputs, batch 4;
// testdata/make_fixture.py), the relative error of the whole weight gradient
// is 5e-6 with Richardson's extrapolation and ε = 1e-2 (the tests allow
// 3e-5), 3.5e-5 with one central difference and ε = 2e-3 (allowed 2e-4);
// PyTorch's own float32 result is 2.5e-7 off. The penalty values agree to
// 1e-6. The steps are a trade between the smooth layers' O(ε²) or O(ε⁴)
// error and float32 rounding, about 5e-8/ε relative (docs/penalty.md has
// the measurements).
//
// A call costs one InputGrad (a forward and a backward pass to x) and four
// WeightGrad calls (two with Central), each a forward and a backward pass,
// plus, for a critic that recomputes its anchor's activation pattern, one
// forward pass per WeightGrad. On the test critic (batch 4, 2 shared cores)
// InputGrad took 0.4–0.5 ms, WeightGrad 0.4–0.6 ms, WGANGP 2.4–3.4 ms and
// with Central 1.2–1.5 ms (TestCost). Double backpropagation, where it
// exists, costs about three passes. Each call allocates scratch of three
// times the parameters' size (a float64 sum and one float32 gradient).
//
// # What is refused
//
// The penalties need D(x_i) to depend on x_i alone. A critic with BatchNorm
// in train mode couples the samples; one that implements BatchCoupler and
// says so is refused with ErrBatchCoupled, and CheckPerSample finds the
// others in their tests. A critic that ignores at although it has kinks is
// not detected at run time (it is the most likely mistake of a new critic:
// test it against a PyTorch fixture, as this package's tests do). Gradients
// that are not finite are errors.
package penalty
