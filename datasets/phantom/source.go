package phantom

import (
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/anogo/anogo/sdk/data"
)

// idPrefix starts the ID of every phantom sample: "phantom:test/17".
const idPrefix = "phantom:"

// Source is the phantom data set of one Config. It implements data.Source
// and generates each sample when it is iterated; nothing is cached.
type Source struct {
	cfg Config
}

// New returns the phantom data set of cfg, or an error if cfg fails
// Validate.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Source{cfg: cfg}, nil
}

// Open returns the phantom data set described by opts, in the syntax of
// ParseConfig ("" gives DefaultConfig). This is the entry point of the
// source named "phantom" or "phantom:OPTIONS".
func Open(opts string) (data.Source, error) {
	cfg, err := ParseConfig(opts)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// Config returns the configuration of s.
func (s *Source) Config() Config { return s.cfg }

// Name returns "phantom" for DefaultConfig and "phantom:OPTIONS" otherwise,
// OPTIONS being Config.String.
func (s *Source) Name() string {
	if s.cfg == DefaultConfig() {
		return "phantom"
	}
	return idPrefix + s.cfg.String()
}

// Splits lists the non-empty splits in the order train, val, test.
func (s *Source) Splits() []string {
	var out []string
	for _, sp := range []string{data.Train, data.Val, data.Test} {
		if n, _ := s.cfg.size(sp); n > 0 {
			out = append(out, sp)
		}
	}
	return out
}

// Samples generates the scans of split one after another. An unknown split
// yields a single error.
func (s *Source) Samples(split string) iter.Seq2[data.Sample, error] {
	return func(yield func(data.Sample, error) bool) {
		n, err := s.cfg.size(split)
		if err != nil {
			yield(data.Sample{}, err)
			return
		}
		for i := range n {
			sc, err := Generate(s.cfg, split, i)
			if !yield(sc.Sample, err) || err != nil {
				return
			}
		}
	}
}

// ROI returns the retina region of a whole-scan sample of s: 1 from the
// inner limiting membrane down to Bruch's membrane, 0 elsewhere (see
// Scan.ROI). The scan is regenerated from its ID ("phantom:test/17"), so the
// sample must come from s; a patch ID or an image of another size is an
// error. ROI makes *Source satisfy the ROI interface of package patch.
func (s *Source) ROI(smp data.Sample) (*data.Image, error) {
	split, i, err := s.scan(smp, "ROI")
	if err != nil {
		return nil, err
	}
	sc, err := Generate(s.cfg, split, i)
	if err != nil {
		return nil, err
	}
	return sc.ROI, nil
}

// Ideal returns the ideal reconstruction (see Ideal) of a whole-scan
// sample of s, regenerated from its ID like ROI. It makes *Source satisfy
// anogan.Idealer.
func (s *Source) Ideal(smp data.Sample) (*data.Image, error) {
	split, i, err := s.scan(smp, "ideal reconstruction")
	if err != nil {
		return nil, err
	}
	return Ideal(s.cfg, split, i)
}

// scan returns the split and index of a whole-scan sample of s, or an error
// naming what was asked for when the ID is not a scan's or the image is not
// of the source's size.
func (s *Source) scan(smp data.Sample, what string) (split string, i int, err error) {
	if split, i, err = ParseID(smp.ID); err != nil {
		return "", 0, err
	}
	if smp.Image != nil && (smp.Image.H != s.cfg.Height || smp.Image.W != s.cfg.Width) {
		return "", 0, fmt.Errorf("phantom: %s of %s: image is %dx%d, the source draws %dx%d",
			what, smp.ID, smp.Image.W, smp.Image.H, s.cfg.Width, s.cfg.Height)
	}
	return split, i, nil
}

// ID returns the sample ID of scan i of split: "phantom:test/17".
func ID(split string, i int) string {
	return idPrefix + split + "/" + strconv.Itoa(i)
}

// ParseID reads split and index back from an ID written by ID.
func ParseID(id string) (split string, i int, err error) {
	rest, ok := strings.CutPrefix(id, idPrefix)
	if ok {
		var num string
		split, num, ok = strings.Cut(rest, "/")
		if ok {
			i, err = strconv.Atoi(num)
			ok = err == nil && i >= 0
		}
	}
	if !ok {
		return "", 0, fmt.Errorf("phantom: %q is not a phantom scan ID (want %q)", id, "phantom:SPLIT/INDEX")
	}
	if _, err := splitCode(split); err != nil {
		return "", 0, err
	}
	return split, i, nil
}

// size returns the number of scans in split.
func (c Config) size(split string) (int, error) {
	switch split {
	case data.Train:
		return c.Train, nil
	case data.Val:
		return c.Val, nil
	case data.Test:
		return c.Test, nil
	}
	_, err := splitCode(split)
	return 0, err
}

// fraction returns the anomaly fraction of split.
func (c Config) fraction(split string) float64 {
	if split == data.Train {
		return c.Contamination
	}
	return c.AnomalyFraction
}

// splitCode numbers the splits for seeding; an unknown split is an error.
func splitCode(split string) (uint64, error) {
	switch split {
	case data.Train:
		return 1, nil
	case data.Val:
		return 2, nil
	case data.Test:
		return 3, nil
	}
	return 0, fmt.Errorf("phantom: unknown split %q (have %s, %s, %s)", split, data.Train, data.Val, data.Test)
}
