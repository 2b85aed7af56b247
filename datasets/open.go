package datasets

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/anogo/anogo/datasets/dicom"
	"github.com/anogo/anogo/datasets/folder"
	"github.com/anogo/anogo/datasets/idx"
	"github.com/anogo/anogo/datasets/medmnist"
	"github.com/anogo/anogo/datasets/phantom"
	"github.com/anogo/anogo/sdk/data"
)

// Syntax summarises the source specs that Open accepts, for a command's
// help text.
const Syntax = `phantom[:k=v,...]                      synthetic OCT phantom (keys: see package phantom)
medmnist:PATH.npz[:normal=L1|L2]       MedMNIST npz file; normal labels default per dataset
idx:DIR:class=K                        MNIST/Fashion-MNIST IDX files; class K normal, the rest anomalous
folder:normal=DIR[,abnormal=DIR][,masks=DIR][,test_normal=DIR][,test_abnormal=DIR][,size=S][,holdout=F]
                                       image folders (PNG, JPEG, TIFF, BMP, DICOM)
dicom:DIR                              DICOM files with unknown labels (one split, test)`

// Open opens the source that spec names (see the package documentation
// and Syntax). Errors name the spec and the problem.
func Open(spec string) (data.Source, error) {
	spec = strings.TrimSpace(spec)
	src, err := open(spec)
	if err != nil {
		return nil, fmt.Errorf("datasets: %q: %w", spec, err)
	}
	return src, nil
}

func open(spec string) (data.Source, error) {
	kind, rest, _ := strings.Cut(spec, ":")
	switch kind {
	case "phantom":
		return phantom.Open(rest)
	case "medmnist":
		path, opts := splitOptions(rest)
		if path == "" {
			return nil, errors.New("no file (want medmnist:PATH.npz[:normal=L1|L2])")
		}
		kv, err := options(opts, "normal")
		if err != nil {
			return nil, err
		}
		var normal []int
		if v, ok := kv["normal"]; ok {
			if normal, err = labelList(v); err != nil {
				return nil, err
			}
		}
		return medmnist.Open(path, normal)
	case "idx":
		dir, opts := splitOptions(rest)
		if dir == "" {
			return nil, errors.New("no directory (want idx:DIR:class=K)")
		}
		kv, err := options(opts, "class")
		if err != nil {
			return nil, err
		}
		v, ok := kv["class"]
		if !ok {
			return nil, errors.New("no normal class (want idx:DIR:class=K)")
		}
		class, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("class=%s is not an integer", v)
		}
		return idx.Open(dir, class)
	case "folder":
		kv, err := options(rest, "normal", "abnormal", "masks", "test_normal", "test_abnormal", "size", "holdout")
		if err != nil {
			return nil, err
		}
		o := folder.Options{Normal: kv["normal"], Abnormal: kv["abnormal"], Masks: kv["masks"],
			TestNormal: kv["test_normal"], TestAbnormal: kv["test_abnormal"]}
		if v, ok := kv["size"]; ok {
			if o.Size, err = strconv.Atoi(v); err != nil || o.Size <= 0 {
				return nil, fmt.Errorf("size=%s is not a positive integer", v)
			}
		}
		if v, ok := kv["holdout"]; ok {
			if o.Holdout, err = strconv.ParseFloat(v, 64); err != nil {
				return nil, fmt.Errorf("holdout=%s is not a number", v)
			}
		}
		return folder.Open(o)
	case "dicom":
		if rest == "" {
			return nil, errors.New("no directory (want dicom:DIR)")
		}
		return dicom.Open(rest)
	case "":
		return nil, errors.New("empty source name")
	default:
		return nil, fmt.Errorf("unknown source %q (want phantom, medmnist, idx, folder or dicom)", kind)
	}
}

// splitOptions splits "PATH:k=v,..." at its last colon when what follows
// holds a '=', so that paths may contain colons.
func splitOptions(s string) (path, opts string) {
	i := strings.LastIndexByte(s, ':')
	if i >= 0 && strings.Contains(s[i+1:], "=") {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// options parses "k=v,k=v" and refuses keys not in allowed, repeated keys
// and empty values.
func options(s string, allowed ...string) (map[string]string, error) {
	kv := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return kv, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("option %q is not key=value", part)
		}
		known := false
		for _, a := range allowed {
			known = known || a == k
		}
		if !known {
			return nil, fmt.Errorf("unknown option %q (want %s)", k, strings.Join(allowed, ", "))
		}
		if _, dup := kv[k]; dup {
			return nil, fmt.Errorf("option %q given twice", k)
		}
		kv[k] = v
	}
	return kv, nil
}

// labelList parses "1|2|5".
func labelList(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, "|") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("normal=%s: %q is not a label (want non-negative integers separated by |)", s, p)
		}
		out = append(out, n)
	}
	return out, nil
}
