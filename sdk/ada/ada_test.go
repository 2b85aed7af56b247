package ada

import (
	"encoding"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The trainer's interfaces (package stylegan2), with Augmentation as an
// alias of the interface literal: *Pipeline satisfies Augmenter as it is.
type (
	trainerAugmentation = interface {
		Apply(dst, x []float32)
		Backward(dst, g []float32)
	}
	trainerAugmenter interface {
		Draw(n, c, h, w int) trainerAugmentation
		Observe(realLogits []float32)
		P() float64
		encoding.BinaryMarshaler
		encoding.BinaryUnmarshaler
	}
)

var _ trainerAugmenter = (*Pipeline)(nil)

func TestDeterministic(t *testing.T) {
	draw := func(seed uint64) []Sample {
		a := New(Options{P: 0.7, Seed: seed})
		var s []Sample
		for range 3 {
			s = append(s, a.DrawBatch(8, 1, 16, 16).Samples...)
		}
		return s
	}
	if !reflect.DeepEqual(draw(11), draw(11)) {
		t.Error("two pipelines with seed 11 draw differently")
	}
	if reflect.DeepEqual(draw(11), draw(12)) {
		t.Error("seeds 11 and 12 draw the same")
	}
}

// step runs one training step: a draw and an observation of logits from r.
func step(a *Pipeline, r *rand.Rand) *Batch {
	b := a.DrawBatch(8, 1, 8, 8)
	logits := make([]float32, 8)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() + 0.8) // r_t about 0.58
	}
	a.Observe(logits)
	return b
}

// TestResume marshals a pipeline in the middle of an interval and checks
// that a new pipeline unmarshalled from it continues exactly as the
// original does.
func TestResume(t *testing.T) {
	o := Options{P: 0.3, Kimg: 0.5, Interval: 3, Seed: 13}
	a := New(o)
	r := rand.New(rand.NewPCG(14, 14))
	for range 7 { // 2 intervals and 1 call
		step(a, r)
	}
	state, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := New(Options{P: 0.9, Fixed: true, Seed: 99, Multipliers: map[Transform]float64{XFlip: 1}})
	if err := b.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Options(), b.Options()) {
		t.Errorf("options: %+v, want %+v", b.Options(), a.Options())
	}
	ra, rb := rand.New(rand.NewPCG(15, 15)), rand.New(rand.NewPCG(15, 15))
	moved := false
	for i := range 20 {
		p0 := a.P()
		sa, sb := step(a, ra).Samples, step(b, rb).Samples
		if !reflect.DeepEqual(sa, sb) {
			t.Fatalf("step %d: draws differ after resume", i)
		}
		if math.Float64bits(a.P()) != math.Float64bits(b.P()) || math.Float64bits(a.RT()) != math.Float64bits(b.RT()) {
			t.Fatalf("step %d: p %v, r_t %v after resume, want %v, %v", i, b.P(), b.RT(), a.P(), a.RT())
		}
		moved = moved || a.P() != p0
	}
	if !moved {
		t.Error("p never moved: the test does not check the accumulators")
	}
}

func TestUnmarshalErrors(t *testing.T) {
	a := New(Options{P: 0.25, Seed: 1})
	good, _ := a.MarshalBinary()
	corrupt := func(off int, v ...byte) []byte {
		b := slices.Clone(good)
		copy(b[off:], v)
		return b
	}
	// Offsets in the layout of state.go.
	const (
		offMult     = 4
		offStrength = offMult + 8*int(NumTransforms)
		offInterval = offStrength + 7*8 + 8
		offFixed    = offInterval + 4 + 8 + 8
		offP        = offFixed + 1 + 8
		offCalls    = offP + 8 + 8 + 8
	)
	for i, c := range []struct {
		data []byte
		want string
	}{
		{nil, "header"},
		{[]byte("ADA"), "header"},
		{[]byte("PNG\x01rest"), "header"},
		{corrupt(3, 2), "version 2"},
		{good[:len(good)-1], "bytes"},
		{append(slices.Clone(good), 0), "bytes"},
		{corrupt(offMult, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f), "multiplier"},           // NaN
		{corrupt(offStrength, 0, 0, 0, 0, 0, 0, 0, 0), "strength is 0"},          // XIntMax
		{corrupt(offStrength+8, 0, 0, 0, 0, 0, 0, 0xf0, 0xbf), "ScaleStd is -1"}, // -1.0
		{corrupt(offInterval, 0, 0, 0, 0), "Interval"},
		{corrupt(offFixed, 2), "Fixed is 2"},
		{corrupt(offP, 0, 0, 0, 0, 0, 0, 0, 0x40), "p is 2"}, // 2.0
		{corrupt(offCalls, 4), "4 calls"},
		{corrupt(len(good)-20, 'x'), "random source"},
	} {
		b := New(Options{Seed: 2})
		before, _ := b.MarshalBinary()
		err := b.UnmarshalBinary(c.data)
		if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: error %v, want ErrState and %q", i, err, c.want)
		}
		if after, _ := b.MarshalBinary(); string(after) != string(before) {
			t.Errorf("%d: a failed UnmarshalBinary changed the pipeline", i)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for i, c := range []struct {
		o    Options
		want string
	}{
		{Options{Multipliers: map[Transform]float64{NumTransforms: 1}}, "unknown transform"},
		{Options{Multipliers: map[Transform]float64{Scale: -1}}, "multiplier of scale"},
		{Options{ContrastStd: math.Inf(1)}, "ContrastStd"},
		{Options{Interval: -1}, "Interval"},
		{Options{Kimg: -5}, "Kimg"},
		{Options{P: 1.5}, "P is 1.5"},
		{Options{P: math.NaN()}, "P is NaN"},
	} {
		err := c.o.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: %v, want an error with %q", i, err, c.want)
		}
	}
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("the zero Options: %v", err)
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("New with P = 2 did not panic")
		}
	}()
	New(Options{P: 2})
}

func TestDefaults(t *testing.T) {
	o := New(Options{}).Options()
	want := Options{
		Multipliers: Grey(), XIntMax: 0.125, ScaleStd: 0.2, RotateMax: 1, AnisoStd: 0.2,
		XFracStd: 0.125, BrightnessStd: 0.2, ContrastStd: 0.5, Target: 0.6, Interval: 4, Kimg: 500,
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("defaults %+v, want %+v", o, want)
	}
	if len(o.Multipliers) != 10 {
		t.Errorf("%d transforms, want 10", len(o.Multipliers))
	}
}
