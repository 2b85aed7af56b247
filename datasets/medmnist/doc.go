// Package medmnist provides MedMNIST npz files (MedMNIST v2, Yang et al.,
// Scientific Data 2023, and the larger MedMNIST+ resolutions) as anomaly-
// detection data sets.
//
// # Files
//
// An npz file is a zip archive of NumPy .npy arrays, stored or deflated;
// MedMNIST's holds train_images, train_labels, val_images, val_labels,
// test_images and test_labels. Images are uint8 (N, H, W) or, for colour
// datasets, (N, H, W, 3), at 28, 64, 128 or 224 pixels; labels are (N, 1),
// or (N, 14) for the multi-label chestmnist. The .npy reader is strict
// (package internal/npy): every header is checked against the size of its
// zip member before anything is allocated, and the images are streamed one
// at a time from the archive, so opening a file reads only its labels.
// Float images (float32/float64 in [0, 1]) are accepted too; a NaN or an
// out-of-range value stops the iteration with an error naming the image.
//
// Grey images are scaled with v/127.5 - 1; colour images are reduced to
// ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B) first. The dataset is named
// by the file: pneumoniamnist.npz, pneumoniamnist_64.npz, ...
//
// # Normal labels
//
// MedMNIST's datasets are classification tasks; the table Datasets says
// which labels count as normal by default (label names as MedMNIST
// publishes them):
//
//   - pathmnist: 6 "normal colon mucosa". Adipose, background, debris,
//     lymphocytes, mucus and smooth muscle are healthy tissue too but are
//     not what the class name means; choose normal=0|1|2|3|4|5|6 for
//     "no tumour" (7 and 8 are cancer-associated stroma and adenocarcinoma).
//   - chestmnist: an image without any of the 14 findings (NIH ChestX-ray14's
//     "No Finding") is normal. For this multi-label dataset normal= lists
//     findings that a normal image may still have.
//   - dermamnist: 5 "melanocytic nevi". No class shows healthy skin; nevi
//     are benign moles and two thirds of HAM10000, the natural majority
//     against melanoma, carcinomas and the other lesions.
//   - octmnist: 3 "normal".
//   - pneumoniamnist: 0 "normal".
//   - retinamnist: 0, diabetic retinopathy grade 0 (no retinopathy) of the
//     five-level scale.
//   - breastmnist: 1 "normal, benign"; 0 "malignant" is anomalous.
//   - bloodmnist, tissuemnist, organamnist, organcmnist, organsmnist: no
//     class is healthy or diseased (blood cells of healthy donors, kidney
//     cell types, abdominal organs). They follow the one-class protocol of
//     MNIST: class 0 normal, the rest anomalous; choose the class with
//     normal=K.
//
// A file whose name is not in the table needs its normal labels given.
//
// # Checksums
//
// Source.Checksum compares the file's md5 with OfficialMD5 and returns a
// Verdict: Official, NotOfficial or UnknownFile. It is a warning, never a
// refusal: a rebuilt or re-compressed copy loads like the official file.
// OfficialMD5 lists only sums given to this project or checked against a
// file (so far the 28x28 pneumoniamnist.npz); other files are UnknownFile.
package medmnist
