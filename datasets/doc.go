// Package datasets provides the registry of anogo's data sources: one
// string, a spec, names a source for the command line and the notebooks, and
// Open turns it into a data.Source; Describe summarises a source.
//
// Nothing is downloaded at run time: every source reads files the user has
// put on disk (see README.md in this directory), except the synthetic
// phantom.
//
// # Specs
//
//	phantom[:k=v,...]
//	    The synthetic OCT phantom (package phantom); the options are those
//	    of phantom.ParseConfig, e.g. phantom:seed=3,train=200.
//	medmnist:PATH.npz[:normal=L1|L2]
//	    A MedMNIST v2 or MedMNIST+ npz file (package medmnist). The file
//	    name picks the dataset (pneumoniamnist.npz, octmnist_64.npz, ...);
//	    normal= lists the labels that count as normal, defaulting to the
//	    table below. Splits train, val, test.
//	idx:DIR:class=K
//	    MNIST or Fashion-MNIST IDX files in DIR (package idx), one-class
//	    protocol: class K normal, the rest anomalous; train holds class K
//	    only, test every test image.
//	folder:normal=DIR[,abnormal=DIR][,masks=DIR][,test_normal=DIR][,test_abnormal=DIR][,size=S][,holdout=F]
//	    Image folders (package folder): PNG, JPEG, TIFF, BMP or DICOM,
//	    masks matched by file name, size=S resizes to SxS. Train holds the
//	    normal images; test holds test_normal's images (or, without it, the
//	    holdout fraction of the normal images, or with holdout=0 all of
//	    them again) and the abnormal ones.
//	dicom:DIR
//	    Single-frame grey DICOM files with unknown labels (package dicom);
//	    one split, test.
//
// A path may contain ':' (options start after the last ':' followed by a
// key=value); folder paths may not contain ','.
//
// # Normal labels of MedMNIST
//
// MedMNIST's 2D datasets are classification data sets; anomaly detection
// needs one side called normal. The defaults, with MedMNIST v2's label
// names:
//
//	pathmnist       6 normal colon mucosa (tumour and other tissue anomalous)
//	chestmnist      no finding: all 14 labels 0 (multi-label; normal=L lists findings tolerated)
//	dermamnist      5 melanocytic nevi (benign moles; no healthy-skin class exists)
//	octmnist        3 normal
//	pneumoniamnist  0 normal
//	retinamnist     0 (diabetic retinopathy grade 0, no retinopathy)
//	breastmnist     1 normal, benign (malignant anomalous)
//	bloodmnist      0 basophil (all cells come from healthy donors)
//	tissuemnist     0 collecting duct, connecting tubule (kidney cell types)
//	organamnist     0 bladder (organs, axial CT)
//	organcmnist     0 bladder (organs, coronal CT)
//	organsmnist     0 bladder (organs, sagittal CT)
//
// The last five have no healthy or diseased class; they follow the
// one-class protocol of MNIST, class 0 normal and the rest anomalous, and
// another class is chosen with normal=K. The medmnist package documents
// each choice.
package datasets
