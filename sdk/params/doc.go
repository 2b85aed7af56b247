// Package params provides a network's named parameters: its weight tensors,
// its BatchNorm running statistics and, for checkpoints, its optimiser's
// state, all looked up by name.
//
// A model builds one Set per network (a generator, a critic, an encoder):
// Add and AddBN register the weights under names such as "g.fc.w" or
// "d.bn1", the network code binds them to a graph with Nodes and takes each
// weight by its name through a Lookup, so that adding or moving a layer
// cannot hand a layer another layer's weights (they used to be consumed in
// creation order). AddTo and RestoreFrom write and read the weights and
// statistics of a checkpoint.Checkpoint by name, with errors naming a
// missing or mis-shaped tensor; AddAdam and RestoreAdam do the same for an
// optim.Adam's step count and moments, by parameter name, so that a resumed
// run continues exactly.
//
// This is the one copy of that plumbing: the DCGAN (package dcgan, whose Net
// is a Set) and the aCAE use it, and so should any new model.
//
// Checkpoint names: a parameter is saved under its own name; the statistics
// of a BatchNorm layer called name as name.mean and name.var, or, when the
// Set's StatsPrefix is set, by position as <StatsPrefix>.bnstats<i>.mean and
// .var, the names DCGAN and aCAE checkpoints have always used; the state of
// an optimiser saved under prefix as prefix.t (the step count) and
// prefix.m.<name> and prefix.v.<name> (the moments of parameter name).
package params
