// Package tsne provides an exact t-distributed stochastic neighbour
// embedding (t-SNE; van der Maaten and Hinton, "Visualizing data using
// t-SNE", JMLR 9, 2008) of a few thousand points into the plane, as in
// Fig. 2b of the AnoGAN paper (Schlegl et al. 2017), which embeds the
// discriminator's last-convolution features of normal and anomalous images.
//
// The embedding costs O(n^2) memory and O(n^2) time per iteration, with no
// Barnes-Hut approximation, and is reproducible: the same Options.Seed gives
// the same output bit for bit, whatever the number of CPUs.
package tsne
