package ada

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// The state's layout, little endian:
//
//	"ADA" version(1)
//	multipliers      NumTransforms × float64
//	strengths        7 × float64 (XIntMax ... ContrastStd)
//	Target float64, Interval uint32, Kimg float64, P float64,
//	Fixed byte (0 or 1), Seed uint64
//	p float64, sum int64, count int64, calls uint32, rt float64
//	random source    pcgSize bytes (rand.PCG's MarshalBinary)
const (
	stateMagic   = "ADA"
	stateVersion = 1
	pcgSize      = 20
	stateSize    = len(stateMagic) + 1 + 8*int(NumTransforms) + 8*7 + 8 + 4 + 8 + 8 + 1 + 8 + 8 + 8 + 8 + 4 + 8 + pcgSize
)

// ErrState is returned (wrapped) by UnmarshalBinary for data that is not a
// pipeline's state.
var ErrState = errors.New("ada: not a pipeline state")

// MarshalBinary returns the pipeline's whole state: its options, p, the
// r_t accumulators of the current interval and its random source, so that
// UnmarshalBinary resumes it exactly.
func (a *Pipeline) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, stateSize)
	b = append(b, stateMagic...)
	b = append(b, stateVersion)
	f := func(v float64) { b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v)) }
	for _, m := range a.mult {
		f(m)
	}
	o := &a.o
	for _, v := range []float64{o.XIntMax, o.ScaleStd, o.RotateMax, o.AnisoStd, o.XFracStd, o.BrightnessStd, o.ContrastStd} {
		f(v)
	}
	f(o.Target)
	b = binary.LittleEndian.AppendUint32(b, uint32(o.Interval))
	f(o.Kimg)
	f(o.P)
	if o.Fixed {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.LittleEndian.AppendUint64(b, o.Seed)
	f(a.p)
	b = binary.LittleEndian.AppendUint64(b, uint64(a.sum))
	b = binary.LittleEndian.AppendUint64(b, uint64(a.count))
	b = binary.LittleEndian.AppendUint32(b, uint32(a.calls))
	f(a.rt)
	r, err := a.pcg.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("ada: marshalling the random source: %w", err)
	}
	if len(r) != pcgSize {
		return nil, fmt.Errorf("ada: the random source's state is %d bytes, want %d", len(r), pcgSize)
	}
	b = append(b, r...)
	return b, nil
}

// UnmarshalBinary replaces the pipeline's state with one written by
// MarshalBinary. It returns an error wrapping ErrState, and leaves the
// pipeline as it was, if data is short, of another version, or holds
// invalid values.
func (a *Pipeline) UnmarshalBinary(data []byte) error {
	if len(data) < len(stateMagic)+1 || string(data[:len(stateMagic)]) != stateMagic {
		return fmt.Errorf("%w: no %q header", ErrState, stateMagic)
	}
	if v := data[len(stateMagic)]; v != stateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrState, v, stateVersion)
	}
	if len(data) != stateSize {
		return fmt.Errorf("%w: %d bytes, want %d", ErrState, len(data), stateSize)
	}
	b := data[len(stateMagic)+1:]
	u64 := func() uint64 {
		v := binary.LittleEndian.Uint64(b)
		b = b[8:]
		return v
	}
	u32 := func() uint32 {
		v := binary.LittleEndian.Uint32(b)
		b = b[4:]
		return v
	}
	f := func() float64 { return math.Float64frombits(u64()) }

	var o Options
	o.Multipliers = make(map[Transform]float64, NumTransforms)
	for t := range NumTransforms {
		if m := f(); m != 0 || math.Signbit(m) {
			o.Multipliers[t] = m
		}
	}
	strengths := []*float64{&o.XIntMax, &o.ScaleStd, &o.RotateMax, &o.AnisoStd, &o.XFracStd, &o.BrightnessStd, &o.ContrastStd}
	for _, s := range strengths {
		*s = f()
	}
	o.Target = f()
	o.Interval = int(u32())
	o.Kimg = f()
	o.P = f()
	fixed := b[0]
	b = b[1:]
	o.Seed = u64()
	p := f()
	sum, count := int64(u64()), int64(u64())
	calls := int(u32())
	rt := f()
	pcg := new(rand.PCG)
	if err := pcg.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("%w: random source: %v", ErrState, err)
	}

	// A state holds its options with the defaults filled in: a zero there
	// would silently become a default.
	for _, s := range strengths {
		if *s == 0 {
			return fmt.Errorf("%w: a strength is 0", ErrState)
		}
	}
	if o.Target == 0 || o.Interval == 0 || o.Kimg == 0 {
		return fmt.Errorf("%w: Target, Interval or Kimg is 0", ErrState)
	}
	if err := o.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	switch {
	case fixed > 1:
		return fmt.Errorf("%w: Fixed is %d", ErrState, fixed)
	case !(p >= 0 && p <= 1):
		return fmt.Errorf("%w: p is %v", ErrState, p)
	case count < 0 || sum < -count || sum > count:
		return fmt.Errorf("%w: %d signs summing to %d", ErrState, count, sum)
	case calls >= o.Interval:
		return fmt.Errorf("%w: %d calls in an interval of %d", ErrState, calls, o.Interval)
	case !math.IsNaN(rt) && !(rt >= -1 && rt <= 1):
		return fmt.Errorf("%w: r_t is %v", ErrState, rt)
	}
	o.Fixed = fixed == 1

	a.o = o
	a.setMult()
	a.p, a.sum, a.count, a.calls, a.rt = p, sum, count, calls, rt
	a.pcg = pcg
	a.rng = rand.New(pcg)
	return nil
}
