package idx

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strconv"

	"github.com/anogo/anogo/datasets/internal/pixel"
	"github.com/anogo/anogo/sdk/data"
)

// Standard file names of MNIST and Fashion-MNIST, each also accepted with a
// .gz suffix.
const (
	TrainImages = "train-images-idx3-ubyte"
	TrainLabels = "train-labels-idx1-ubyte"
	TestImages  = "t10k-images-idx3-ubyte"
	TestLabels  = "t10k-labels-idx1-ubyte"
)

// Source is the one-class view of an MNIST-style data set: class K is
// normal, every other class anomalous. The train split holds only the class
// K images of the train file (the one-class protocol trains on normal
// images only); the test split holds every image of the test file, labelled
// 0 (class K) or 1 (any other class).
type Source struct {
	dir                     string
	class                   int
	trainImages, testImages string // paths
	trainLabels, testLabels []uint8
	h, w                    int
	nTrain                  int // class K images in the train file
}

// Open opens the four IDX files in dir (standard names, plain or gzipped)
// with class as the normal class. It reads the labels and checks every
// header; images are read when a split is iterated.
func Open(dir string, class int) (*Source, error) {
	if class < 0 || class > 255 {
		return nil, fmt.Errorf("idx: %s: class %d out of range (IDX labels are bytes, 0 to 255)", dir, class)
	}
	s := &Source{dir: dir, class: class}
	paths := make([]string, 4)
	for i, name := range []string{TrainImages, TrainLabels, TestImages, TestLabels} {
		p, err := find(dir, name)
		if err != nil {
			return nil, err
		}
		paths[i] = p
	}
	s.trainImages, s.testImages = paths[0], paths[2]
	var err error
	var trainH, testH Header
	if trainH, err = header(paths[0], 3); err != nil {
		return nil, err
	}
	if testH, err = header(paths[2], 3); err != nil {
		return nil, err
	}
	if trainH.Dims[1] != testH.Dims[1] || trainH.Dims[2] != testH.Dims[2] {
		return nil, fmt.Errorf("idx: %s: train images are %dx%d, test images %dx%d", dir, trainH.Dims[1], trainH.Dims[2], testH.Dims[1], testH.Dims[2])
	}
	s.h, s.w = trainH.Dims[1], trainH.Dims[2]
	if s.trainLabels, err = labels(paths[1], trainH.Items()); err != nil {
		return nil, err
	}
	if s.testLabels, err = labels(paths[3], testH.Items()); err != nil {
		return nil, err
	}
	for _, l := range s.trainLabels {
		if int(l) == class {
			s.nTrain++
		}
	}
	if s.nTrain == 0 {
		return nil, fmt.Errorf("idx: %s: no train image has class %d", paths[1], class)
	}
	return s, nil
}

// find returns dir/name or dir/name.gz, whichever exists (the plain file
// first).
func find(dir, name string) (string, error) {
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".gz")} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("idx: %s: no %s or %s.gz (want the four MNIST files %s, %s, %s, %s)", dir, name, name, TrainImages, TrainLabels, TestImages, TestLabels)
}

// header opens an IDX file, checks that it has nd dimensions and returns
// its header.
func header(path string, nd int) (Header, error) {
	f, err := OpenFile(path)
	if err != nil {
		return Header{}, err
	}
	defer f.Close()
	h := f.Header()
	if len(h.Dims) != nd {
		return h, fmt.Errorf("idx: %s: %d dimensions, want %d", path, len(h.Dims), nd)
	}
	return h, nil
}

// labels reads a label file of n items.
func labels(path string, n int) ([]uint8, error) {
	f, err := OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := f.Header()
	if len(h.Dims) != 1 {
		return nil, fmt.Errorf("idx: %s: %d dimensions, want 1 for a label file", path, len(h.Dims))
	}
	if h.Items() != n {
		return nil, fmt.Errorf("idx: %s: %d labels for %d images", path, h.Items(), n)
	}
	out := make([]uint8, 0, n)
	for {
		b, err := f.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b[0])
	}
}

// Name returns the spec "idx:DIR:class=K".
func (s *Source) Name() string { return "idx:" + s.dir + ":class=" + strconv.Itoa(s.class) }

// Splits returns train and test.
func (s *Source) Splits() []string { return []string{data.Train, data.Test} }

// Class returns the normal class.
func (s *Source) Class() int { return s.class }

// Len returns the number of samples of a split.
func (s *Source) Len(split string) int {
	switch split {
	case data.Train:
		return s.nTrain
	case data.Test:
		return len(s.testLabels)
	}
	return 0
}

// Samples streams one split. Sample IDs are "FILE:INDEX", the index
// counting images in the file, e.g. "t10k-images-idx3-ubyte.gz:17"; pixels
// are scaled with v/127.5 - 1.
func (s *Source) Samples(split string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		var path string
		var labels []uint8
		switch split {
		case data.Train:
			path, labels = s.trainImages, s.trainLabels
		case data.Test:
			path, labels = s.testImages, s.testLabels
		default:
			yield(data.Sample{}, fmt.Errorf("idx: %s: no split %q (have train, test)", s.dir, split))
			return
		}
		if err := s.stream(path, labels, split == data.Train, yield); err != nil {
			yield(data.Sample{}, err)
		}
	}
}

func (s *Source) stream(path string, labels []uint8, onlyNormal bool, yield func(data.Sample, error) bool) error {
	f, err := OpenFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if h := f.Header(); len(h.Dims) != 3 || h.Items() != len(labels) || h.Dims[1] != s.h || h.Dims[2] != s.w {
		return fmt.Errorf("idx: %s: header %v changed since the file was opened", path, h.Dims)
	}
	for i := 0; ; i++ {
		b, err := f.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		label := data.Anomalous
		if int(labels[i]) == s.class {
			label = data.Normal
		}
		if onlyNormal && label != data.Normal {
			continue
		}
		im := data.NewImage(s.h, s.w)
		for p, v := range b {
			im.Pix[p] = pixel.Scale8(v)
		}
		if !yield(data.Sample{ID: f.Name + ":" + strconv.Itoa(i), Image: im, Label: label}, nil) {
			return nil
		}
	}
}
