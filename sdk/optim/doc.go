// Package optim provides Adam (Kingma & Ba 2015, Algorithm 1) as a
// gorgonia.Solver whose state is exported.
//
// gorgonia's own AdamSolver keeps its moment estimates in unexported fields,
// so a checkpoint cannot save them and a resumed run cannot match an
// uninterrupted one; it also allocates several copies of every parameter at
// each step. Adam here applies the same update, in place and without
// allocation after the first step, and keeps M, V and the step count T in
// exported fields that package checkpoint saves. It also updates selected rows
// of a parameter only, which the latent mapper uses to stop each query on its
// own (per-query early stop) while the others go on.
package optim
