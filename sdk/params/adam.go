package params

import (
	"fmt"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/optim"
)

// stepBase splits an optimiser's step count into two float32 values that
// each hold an integer exactly (T = hi·stepBase + lo, both below 2^24).
const stepBase = 1 << 24

// AddAdam adds the state of a, the optimiser of the parameters of sets (in
// that order, as a is given them at every step), to c under prefix: its
// step count T as prefix.t and its moments by parameter name as
// prefix.m.<name> and prefix.v.<name> (none before the first step). The
// moments are referenced, not copied. It panics if a's state does not
// match the sets' parameters, or if two of them share a name.
//
// The learning rate and the βs are settings, not state: the model saves
// them with its configuration.
func AddAdam(c *checkpoint.Checkpoint, prefix string, a *optim.Adam, sets ...*Set) {
	c.Add(prefix+".t", []float32{float32(a.T / stepBase), float32(a.T % stepBase)}, 2)
	if a.M == nil {
		return
	}
	i := 0
	seen := map[string]bool{}
	for _, s := range sets {
		for _, p := range s.Params {
			if seen[p.Name] {
				panic(fmt.Sprintf("params: parameter %q in two sets of one optimiser", p.Name))
			}
			seen[p.Name] = true
			n := p.Value.Shape().TotalSize()
			if i >= len(a.M) || len(a.M[i]) != n || len(a.V[i]) != n {
				panic(fmt.Sprintf("params: the optimiser's state does not match parameter %d (%q, %d values)", i, p.Name, n))
			}
			c.Add(prefix+".m."+p.Name, a.M[i], n)
			c.Add(prefix+".v."+p.Name, a.V[i], n)
			i++
		}
	}
	if i != len(a.M) {
		panic(fmt.Sprintf("params: the optimiser has state for %d parameters, the sets %d", len(a.M), i))
	}
}

// RestoreAdam sets a's step count and moments from c as AddAdam wrote them
// under prefix for the parameters of sets. A checkpoint without prefix.t
// (DCGAN checkpoints written before it, which kept T in their metadata)
// leaves a.T as the caller set it. With T = 0 the moments are cleared, as
// before a first step; otherwise a tensor c lacks or whose size differs is
// an error naming it.
func RestoreAdam(c *checkpoint.Checkpoint, prefix string, a *optim.Adam, sets ...*Set) error {
	if t, ok := c.Get(prefix + ".t"); ok {
		if len(t.Data) != 2 || t.Data[0] < 0 || t.Data[1] < 0 || t.Data[1] >= stepBase {
			return fmt.Errorf("params: tensor %q holds %v, not a step count", prefix+".t", t.Data)
		}
		a.T = int(t.Data[0])*stepBase + int(t.Data[1])
	}
	if a.T == 0 {
		a.M, a.V = nil, nil
		return nil
	}
	var m, v [][]float32
	for _, s := range sets {
		for _, p := range s.Params {
			n := p.Value.Shape().TotalSize()
			mi, vi := make([]float32, n), make([]float32, n)
			if err := into(c, prefix+".m."+p.Name, mi); err != nil {
				return err
			}
			if err := into(c, prefix+".v."+p.Name, vi); err != nil {
				return err
			}
			m, v = append(m, mi), append(v, vi)
		}
	}
	a.M, a.V = m, v
	return nil
}

// AddRMSProp adds the state of r, the optimiser of the parameters of sets,
// to c under prefix, as AddAdam does: its step count as prefix.t and its
// running means of g² by parameter name as prefix.s.<name> (none before the
// first step), referenced, not copied.
func AddRMSProp(c *checkpoint.Checkpoint, prefix string, r *optim.RMSProp, sets ...*Set) {
	c.Add(prefix+".t", []float32{float32(r.T / stepBase), float32(r.T % stepBase)}, 2)
	if r.S == nil {
		return
	}
	i := 0
	for _, s := range sets {
		for _, p := range s.Params {
			n := p.Value.Shape().TotalSize()
			if i >= len(r.S) || len(r.S[i]) != n {
				panic(fmt.Sprintf("params: the optimiser's state does not match parameter %d (%q, %d values)", i, p.Name, n))
			}
			c.Add(prefix+".s."+p.Name, r.S[i], n)
			i++
		}
	}
	if i != len(r.S) {
		panic(fmt.Sprintf("params: the optimiser has state for %d parameters, the sets %d", len(r.S), i))
	}
}

// RestoreRMSProp sets r's step count and state from c as AddRMSProp wrote
// them under prefix. A tensor c lacks or whose size differs is an error
// naming it.
func RestoreRMSProp(c *checkpoint.Checkpoint, prefix string, r *optim.RMSProp, sets ...*Set) error {
	t, ok := c.Get(prefix + ".t")
	if !ok {
		return fmt.Errorf("params: the checkpoint has no tensor %q (the optimiser's step count)", prefix+".t")
	}
	if len(t.Data) != 2 || t.Data[0] < 0 || t.Data[1] < 0 || t.Data[1] >= stepBase {
		return fmt.Errorf("params: tensor %q holds %v, not a step count", prefix+".t", t.Data)
	}
	r.T = int(t.Data[0])*stepBase + int(t.Data[1])
	if r.T == 0 {
		r.S = nil
		return nil
	}
	var st [][]float32
	for _, s := range sets {
		for _, p := range s.Params {
			v := make([]float32, p.Value.Shape().TotalSize())
			if err := into(c, prefix+".s."+p.Name, v); err != nil {
				return err
			}
			st = append(st, v)
		}
	}
	r.S = st
	return nil
}
