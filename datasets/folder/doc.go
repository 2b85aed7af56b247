// Package folder provides folders of image files as anomaly-detection data
// sets: a folder of normal images, a folder of anomalous ones and an
// optional folder of pixel masks, in the style of anomalib's Folder data
// module.
//
// Images are PNG, JPEG, TIFF, BMP or (by extension .dcm/.dicom) DICOM,
// 8- or 16-bit grey or colour, of any size, converted to grey values in
// [-1, 1]: 8-bit with v/127.5 - 1, 16-bit with v/32767.5 - 1, colour by
// ITU-R 601 luma first. A mask file matches an image by base name
// (a.png's mask is a.* or a_mask.* in the mask folder); its non-zero pixels
// are anomalous (1). With size=S every image is resized to S x S, bilinear
// for images and nearest-neighbour for masks.
//
// Splits: train holds the normal images; test holds normal images and then
// the anomalous ones. The test normals are the test_normal folder when
// given, else the held-out fraction of the normal folder (Options.Holdout),
// else, by default, the normal folder again, so that train and test share
// their normal images; give test_normal or holdout for an unbiased
// evaluation.
//
// Open only lists the folders; Samples reads one file per step, so a
// folder of 100,000 images never sits in memory. An empty folder, an
// unreadable image or a mask of the wrong size is an error naming the
// folder or file.
package folder
