// Package nn provides the layers of anogo's GANs as gorgonia ops: fast,
// allocation-free after the first run, and differentiable by gorgonia.Grad.
//
// The layers are Conv2d, ConvTranspose2d (a true fractionally-strided
// convolution, the adjoint of Conv2d), Linear, BiasAct (bias plus activation,
// fused), BatchNorm (train and eval modes, running statistics in BNStats),
// BatchNormAct (eval-mode BatchNorm and an activation fused into one pass,
// for frozen networks), LayerNorm and LayerNormAct (per sample, for
// WGAN-GP's critic), Upsample2x and MeanPool2, the per-sample losses
// AbsDiffSum (AnoGAN's residual and discrimination losses, Schlegl et al.
// 2017, Eq. 3 and 4), SquaredDiffSum and SquaredDiffMean (f-AnoGAN's) and
// BCEWithLogits (the GAN loss), Flatten and Unflatten, and the residual
// blocks of f-AnoGAN's ResNet built from them, ResBlockUp and ResBlockDown
// (resblock.go). Each returns a node of the graph of its inputs;
// the graph stays gorgonia's, and so do autodiff, parameters and solvers.
// Every backward pass is itself one or more ops of this package, created in
// the op's SymDiff, so gorgonia.Grad builds the whole backward graph.
//
// # Layouts
//
// float32 only. Images are NCHW: [N, C, H, W]; vectors of features [N, F].
// Weights follow PyTorch, so that checkpoints and results can be compared
// with it: Conv2d w [Cout, Cin, K, K], ConvTranspose2d w [Cin, Cout, K, K],
// Linear w [Out, In], biases and BatchNorm's gamma and beta [C]. Kernels are
// square, with the same stride and padding on both axes. The outputs of the
// losses are vectors [N], one value per sample; sum or average them with
// gorgonia.
//
// # Gradients that nobody needs
//
// Every layer with parameters takes a NoGrad: NoInputGrad drops the gradient
// for the data input (the first layer of a network, or a network that is
// being trained but whose input is data), NoParamGrad the gradients for the
// weights, bias, gamma and beta (a frozen network, as in AnoGAN's latent
// mapping, Sec. 2.2). The zero value computes every gradient. A dropped
// gradient is no node at all, so no time is spent on it: gorgonia otherwise
// builds the backward op of every input of every op it differentiates,
// whether or not anything is taken with respect to it. Taking gorgonia.Grad
// with respect to a node whose gradient a layer dropped is an error.
//
// # Buffers
//
// Each op owns its output tensor and reuses it from run to run (the same
// *tensor.Dense is returned whenever the shapes match, which they always do
// once the graph is built); scratch buffers (column matrices) come from a
// pool shared by all ops. After the first run of a machine nothing large is
// allocated, and memory stays flat over any number of steps. The consequence
// for callers: the value of an op's node is valid until the next run of the
// same machine; copy it to keep it. This is safe with gorgonia's gradient
// summation (when a node has several consumers its gradients are added by
// gorgonia's Add, which may write into one of our buffers in place; each op
// overwrites its whole buffer at every run, and never keeps state in it) and
// with gorgonia.Reshape (which may reshape our tensor in place: its shape is
// restored at the next run). Ops never alias their inputs; Flatten and
// Unflatten copy (cheap next to any layer).
//
// BatchNorm's training runs update st (running mean and unbiased variance,
// as PyTorch does) at every forward run; evaluation reads st at every run,
// so statistics loaded after the graph was built are used. Nothing else is
// written. Machines that share a BatchNorm's BNStats must not run at the
// same time.
//
// # Threading
//
// Each layer splits its work into independent tasks (chunks of samples, rows
// of output, channels, or columns of the weight gradient, so that tasks
// write disjoint memory and nothing needs to be reduced) and runs them on
// Workers() goroutines (runtime.GOMAXPROCS(0) by default), each calling
// OpenBLAS single-threaded: Workers() > 1 sets blas.SetThreads(1). Go thus
// owns the cores, and im2col, col2im, BatchNorm and the element-wise work run
// in parallel as well as the matrix products, with no oversubscription.
// SetWorkers(1) with blas.SetThreads(2) gives the other arrangement (only
// the products parallel). On the 2-core development machine, shared with
// other jobs, the discriminator's four convolutions (forward, ∂x and ∂w,
// batch 64) took 1.7–2.5 s with goroutines against 2.9–3.5 s with OpenBLAS's
// threads: im2col and col2im (a fifth of the work) stay serial in the latter,
// and OpenBLAS's spinning threads suffer most when cores are shared.
// For a given number of workers results do not depend on scheduling (each
// task computes the same values whichever goroutine runs it), so runs are
// reproducible; another number of workers may change the last bits, as the
// products are then cut differently.
//
// Convolutions use im2col (through the input's stride phases, so that every
// copy is contiguous) and one sgemm per chunk of samples; small images are
// folded together so that each product has about 1024 columns. The im2col
// and col2im loops are in C (col2im_c.go), tested against their Go form.
// The data kernel of a strided convolution with 16 input channels or more
// (a transposed convolution's forward pass, a convolution's input gradient)
// skips col2im: each stride phase of its output is a stride-1 convolution
// of the output gradient with the taps of matching parity, one sgemm that
// writes the phase (subpixel_c.go).
//
// Two kinds of convolution with 16 channels or more on both sides take
// neither path but Winograd's F(4×4, 3×3) (winograd.go, Lavin & Gray
// 2016), forward, data and weight gradient alike. The 3×3 convolutions of
// stride 1 and padding 1 (f-AnoGAN's residual blocks, Conv2d(x, w, 1, 1,
// ng)) are the 3×3 correlation that it computes as they stand, in 36
// matrix products of a quarter of the direct convolution's multiply-adds;
// planes so small that the 4×4 tiles mostly overhang them (1×1, 2×2, 5×5)
// keep im2col. The DCGAN's stride-2 convolutions (5×5 with padding 2, or
// 4×4 with padding 1) become such correlations with four times the input
// channels after space to depth, in products of a third of the direct
// convolution's multiply-adds. The transformed kernels are cached, checked
// against a copy of the weights at every run, so they follow any change of
// the weights; the cache costs memory (per direction, about 4·36/25 times a
// stride-2 layer's weights and 4 times a 3×3 layer's, plus a copy: 465 MB
// for the paper's DCGAN at 64×64 while mapping, by the layer sizes) and
// holds at most 1 GiB, dropping the least recently used kernels beyond
// that. The Winograd results differ from the direct convolution's in the
// last bits (relative differences below 2e-5 in the tests; up to 6e-6 for
// the 3×3 convolutions, whose direct form differs from float64 sums by
// 7e-7).
//
// # Machines
//
// The ops are written for gorgonia's TapeMachine (symbolic differentiation
// with gorgonia.Grad). They implement gorgonia.SDOp, not ADOp, so the
// LispMachine can run them forward only.
package nn
