// Package score turns query images into anomaly scores (Schlegl et al.
// 2017, Sec. 2.3) and result tables.
//
// For a query x mapped to z_Γ (package mapper), AnoGAN's anomaly score is
// Eq. (6)
//
//	A(x) = (1 - λ)·R(x) + λ·D(x)
//
// where R(x) = L_R(z_Γ) is the residual score (Eq. 3) and D(x) = L_D(z_Γ)
// the discrimination score with feature matching (Eq. 4). The residual image
// x_R = |x - G(z_Γ)| locates the anomalous regions. The GAN_R baseline maps
// with the reference discrimination loss of Sec. 2.2.2 and scores
// Â(x) = (1 - λ)·R̂(x) + λ·D̂(x). P_D is the discriminator's own verdict on
// the query, without mapping: 1 - D(x), the probability it gives to "not a
// real (normal) image".
//
// Every score is "higher is more anomalous". A Scorer returns one Result
// per sample; Table turns results into a gota DataFrame with one row per
// image (id, label, one column per score) and WriteCSV writes it.
package score
