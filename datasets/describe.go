package datasets

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/anogo/anogo/sdk/data"
)

// A Provenancer says where its data comes from, e.g. whether a file is the
// official release; Describe prints it. medmnist.Source implements it.
type Provenancer interface {
	Provenance() string
}

// labelNames names data.Sample labels.
var labelNames = map[int]string{data.Normal: "normal", data.Anomalous: "anomalous", data.Unknown: "unknown"}

type group struct {
	count, masks int
	sizes        map[[2]int]int
	min, max     float32
}

// Describe reads every sample of src and writes, per split and label, the
// number of samples, the image size(s), the range of values and how many
// samples have a mask; a source with a Provenance method (a MedMNIST file)
// first gets its provenance, including the md5 verdict. It returns the
// first error met while reading or writing.
func Describe(w io.Writer, src data.Source) error {
	if _, err := fmt.Fprintf(w, "source: %s\n", src.Name()); err != nil {
		return err
	}
	if p, ok := src.(Provenancer); ok {
		if _, err := fmt.Fprintln(w, p.Provenance()); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "split\tlabel\tcount\tsize\tmin\tmax\tmasks")
	var readErr error
	for _, split := range src.Splits() {
		groups := map[int]*group{}
		for smp, err := range src.Samples(split) {
			if err != nil {
				readErr = err
				break
			}
			if err := smp.Image.Check(smp.ID); err != nil {
				readErr = err
				break
			}
			g := groups[smp.Label]
			if g == nil {
				g = &group{sizes: map[[2]int]int{}, min: smp.Image.Pix[0], max: smp.Image.Pix[0]}
				groups[smp.Label] = g
			}
			g.count++
			g.sizes[[2]int{smp.Image.H, smp.Image.W}]++
			for _, v := range smp.Image.Pix {
				g.min, g.max = min(g.min, v), max(g.max, v)
			}
			if smp.Mask != nil {
				g.masks++
			}
		}
		for _, l := range slices.Sorted(maps.Keys(groups)) {
			g := groups[l]
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.3f\t%.3f\t%d\n", split, labelName(l), g.count, sizes(g.sizes), g.min, g.max, g.masks)
		}
		if readErr != nil {
			break
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return readErr
}

func labelName(l int) string {
	if n, ok := labelNames[l]; ok {
		return n
	}
	return fmt.Sprintf("label %d", l)
}

// sizes formats the image sizes of a group, most frequent first: "28x28",
// or "64x64 (3), 28x28 (1)", or the three most frequent and a count.
func sizes(m map[[2]int]int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b [2]int) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	if len(keys) == 1 {
		return fmt.Sprintf("%dx%d", keys[0][0], keys[0][1])
	}
	var parts []string
	for i, k := range keys {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("%d sizes", len(keys)))
			break
		}
		parts = append(parts, fmt.Sprintf("%dx%d (%d)", k[0], k[1], m[k]))
	}
	return strings.Join(parts, ", ")
}
