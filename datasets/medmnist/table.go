package medmnist

import "slices"

// Info describes one MedMNIST 2D dataset: its label names (as published by
// MedMNIST v2, Yang et al., Scientific Data 2023), which labels count as
// normal by default and the published split sizes.
type Info struct {
	// Name is the file stem, e.g. "pneumoniamnist".
	Name string
	// Task is MedMNIST's task type: "binary-class", "multi-class",
	// "multi-label" or "ordinal-regression".
	Task string
	// Channels is 1 for grey and 3 for colour images.
	Channels int
	// Labels lists the label names by index.
	Labels []string
	// Normal lists the labels that count as normal by default. For a
	// multi-label dataset it lists the findings a normal image may have;
	// empty means an image is normal only when it has no finding.
	Normal []int
	// Why says why these labels were chosen.
	Why string
	// Counts are the published train, val and test sizes (the same at
	// every MedMNIST+ resolution).
	Counts [3]int
}

// MultiLabel reports whether each image may carry several labels.
func (in Info) MultiLabel() bool { return in.Task == "multi-label" }

// noNatural is the reason given for datasets without a healthy class.
const noNatural = "no class is healthy or pathological; one-class protocol with class 0 normal and the rest anomalous (choose another with normal=K)"

// Datasets lists the twelve MedMNIST 2D datasets. The label names and split
// sizes are MedMNIST v2's (medmnist/info.py); the normal labels are anogo's
// choice, explained in Why and in the package documentation.
var Datasets = []Info{
	{Name: "pathmnist", Task: "multi-class", Channels: 3,
		Labels: []string{"adipose", "background", "debris", "lymphocytes", "mucus", "smooth muscle",
			"normal colon mucosa", "cancer-associated stroma", "colorectal adenocarcinoma epithelium"},
		Normal: []int{6}, Why: "the class named normal colon mucosa; tumour and all other tissue types are anomalous",
		Counts: [3]int{89996, 10004, 7180}},
	{Name: "chestmnist", Task: "multi-label", Channels: 1,
		Labels: []string{"atelectasis", "cardiomegaly", "effusion", "infiltration", "mass", "nodule", "pneumonia",
			"pneumothorax", "consolidation", "edema", "emphysema", "fibrosis", "pleural", "hernia"},
		Normal: nil, Why: "an image with none of the 14 findings (NIH's \"No Finding\") is normal; any finding is anomalous",
		Counts: [3]int{78468, 11219, 22433}},
	{Name: "dermamnist", Task: "multi-class", Channels: 3,
		Labels: []string{"actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma",
			"benign keratosis-like lesions", "dermatofibroma", "melanoma", "melanocytic nevi", "vascular lesions"},
		Normal: []int{5}, Why: "no image shows healthy skin; melanocytic nevi (benign moles, about two thirds of HAM10000) are the normal class",
		Counts: [3]int{7007, 1003, 2005}},
	{Name: "octmnist", Task: "multi-class", Channels: 1,
		Labels: []string{"choroidal neovascularization", "diabetic macular edema", "drusen", "normal"},
		Normal: []int{3}, Why: "the class named normal (healthy retina)",
		Counts: [3]int{97477, 10832, 1000}},
	{Name: "pneumoniamnist", Task: "binary-class", Channels: 1,
		Labels: []string{"normal", "pneumonia"},
		Normal: []int{0}, Why: "the class named normal",
		Counts: [3]int{4708, 524, 624}},
	{Name: "retinamnist", Task: "ordinal-regression", Channels: 3,
		Labels: []string{"0", "1", "2", "3", "4"},
		Normal: []int{0}, Why: "grade 0 of the 5-level diabetic retinopathy scale (no retinopathy)",
		Counts: [3]int{1080, 120, 400}},
	{Name: "breastmnist", Task: "binary-class", Channels: 1,
		Labels: []string{"malignant", "normal, benign"},
		Normal: []int{1}, Why: "the class named \"normal, benign\"; malignant is anomalous",
		Counts: [3]int{546, 78, 156}},
	{Name: "bloodmnist", Task: "multi-class", Channels: 3,
		Labels: []string{"basophil", "eosinophil", "erythroblast",
			"immature granulocytes(myelocytes, metamyelocytes and promyelocytes)", "lymphocyte", "monocyte",
			"neutrophil", "platelet"},
		Normal: []int{0}, Why: "all cells come from healthy donors; " + noNatural,
		Counts: [3]int{11959, 1712, 3421}},
	{Name: "tissuemnist", Task: "multi-class", Channels: 1,
		Labels: []string{"Collecting Duct, Connecting Tubule", "Distal Convoluted Tubule",
			"Glomerular endothelial cells", "Interstitial endothelial cells", "Leukocytes", "Podocytes",
			"Proximal Tubule Segments", "Thick Ascending Limb"},
		Normal: []int{0}, Why: "kidney cell types; " + noNatural,
		Counts: [3]int{165466, 23640, 47280}},
	{Name: "organamnist", Task: "multi-class", Channels: 1, Labels: organs,
		Normal: []int{0}, Why: "organs, axial CT; " + noNatural,
		Counts: [3]int{34581, 6491, 17778}},
	{Name: "organcmnist", Task: "multi-class", Channels: 1, Labels: organs,
		Normal: []int{0}, Why: "organs, coronal CT; " + noNatural,
		Counts: [3]int{13000, 2392, 8268}},
	{Name: "organsmnist", Task: "multi-class", Channels: 1, Labels: organs,
		Normal: []int{0}, Why: "organs, sagittal CT; " + noNatural,
		Counts: [3]int{13940, 2452, 8829}},
}

var organs = []string{"bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right",
	"liver", "lung-left", "lung-right", "pancreas", "spleen"}

// Lookup returns the table entry of a dataset name such as "octmnist".
func Lookup(name string) (Info, bool) {
	i := slices.IndexFunc(Datasets, func(in Info) bool { return in.Name == name })
	if i < 0 {
		return Info{}, false
	}
	return Datasets[i], true
}

// OfficialMD5 maps a release file name to the md5 sum of the official
// MedMNIST file. Only sums that were given to this project or checked
// against a file are listed; a file not listed gets the verdict UnknownFile.
var OfficialMD5 = map[string]string{
	// PneumoniaMNIST 28x28, MedMNIST v2 (Zenodo record 6496656).
	"pneumoniamnist.npz": "28209eda62fecd6e6a2d98b1501bb15f",
}

// Verdict says whether a file is the official MedMNIST release. It is a
// warning for the user, never a reason to refuse a file.
type Verdict int

// Verdicts of Source.Checksum.
const (
	// UnknownFile means no official md5 is on record for the file name.
	UnknownFile Verdict = iota
	// Official means the md5 matches the official release.
	Official
	// NotOfficial means an official md5 is on record and differs.
	NotOfficial
)

func (v Verdict) String() string {
	switch v {
	case Official:
		return "official"
	case NotOfficial:
		return "not the official file"
	default:
		return "unknown file"
	}
}
