// Package deps pins the modules that the SDK's packages use while they are
// being written; it is removed once every module is imported for real.
package deps

import (
	_ "github.com/danaugrs/go-tsne/tsne"
	_ "github.com/go-gota/gota/dataframe"
	_ "github.com/janpfeifer/gonb/gonbui"
	_ "github.com/sbinet/npyio/npz"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/suyashkumar/dicom"
	_ "go4.org/unsafe/assume-no-moving-gc"
	_ "golang.org/x/image/tiff"
	_ "gonum.org/v1/gonum/stat"
	_ "gonum.org/v1/plot"
	_ "gonum.org/v1/plot/vg/vgpdf"
	_ "gonum.org/v1/plot/vg/vgsvg"
	_ "gorgonia.org/gorgonia"
	_ "gorgonia.org/tensor"
)
