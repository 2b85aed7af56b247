package params

import (
	"fmt"
	"slices"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/nn"
)

// Param is one named float32 weight tensor.
type Param struct {
	Name  string
	Value *tensor.Dense
}

// Stats are the running statistics of the BatchNorm layer called Name.
type Stats struct {
	Name string
	*nn.BNStats
}

// Set is the parameters and BatchNorm statistics of one network. The zero
// value is an empty set.
//
// Params are kept in the order they were added: Values, Nodes and an
// optimiser's moments follow it. Network code should not rely on it but
// take every weight by name (Lookup).
type Set struct {
	Params []Param
	BN     []Stats
	// StatsPrefix, when not empty, names the statistics of BN[i] in
	// checkpoints by position, <StatsPrefix>.bnstats<i>.mean and .var, as
	// DCGAN checkpoints do; empty names them after their layer,
	// <name>.mean and <name>.var, which new models should use.
	StatsPrefix string
}

// Add adds the parameter name with value t and returns t. It panics if the
// set already has a parameter of that name or t does not hold float32s.
func (s *Set) Add(name string, t *tensor.Dense) *tensor.Dense {
	if s.Index(name) >= 0 {
		panic(fmt.Sprintf("params: duplicate parameter %q", name))
	}
	if _, ok := t.Data().([]float32); !ok {
		panic(fmt.Sprintf("params: parameter %q holds %T, want []float32", name, t.Data()))
	}
	s.Params = append(s.Params, Param{Name: name, Value: t})
	return t
}

// AddBN adds a BatchNorm layer of c channels called name: its scale
// name.gamma (ones) and shift name.beta (zeros) as parameters, and its
// running statistics (nn.NewBNStats), which it returns. A model with
// another initialisation sets the scale through Get(name + ".gamma").
func (s *Set) AddBN(name string, c int) *nn.BNStats {
	if s.BatchNorm(name) != nil {
		panic(fmt.Sprintf("params: duplicate BatchNorm layer %q", name))
	}
	gamma := make([]float32, c)
	for i := range gamma {
		gamma[i] = 1
	}
	s.Add(name+".gamma", tensor.New(tensor.WithShape(c), tensor.WithBacking(gamma)))
	s.Add(name+".beta", tensor.New(tensor.WithShape(c), tensor.WithBacking(make([]float32, c))))
	st := nn.NewBNStats(c)
	s.BN = append(s.BN, Stats{Name: name, BNStats: st})
	return st
}

// Index returns the position of the parameter called name in s.Params (and
// among the nodes Nodes returns), or -1.
func (s *Set) Index(name string) int {
	for i, p := range s.Params {
		if p.Name == name {
			return i
		}
	}
	return -1
}

// Get returns the value of the parameter called name, or nil.
func (s *Set) Get(name string) *tensor.Dense {
	if i := s.Index(name); i >= 0 {
		return s.Params[i].Value
	}
	return nil
}

// BatchNorm returns the running statistics of the BatchNorm layer called
// name, or nil.
func (s *Set) BatchNorm(name string) *nn.BNStats {
	for _, st := range s.BN {
		if st.Name == name {
			return st.BNStats
		}
	}
	return nil
}

// Len returns the number of parameters.
func (s *Set) Len() int { return len(s.Params) }

// Values returns the parameters' backing slices in order: what an
// optimiser updates in place.
func (s *Set) Values() [][]float32 {
	out := make([][]float32, len(s.Params))
	for i, p := range s.Params {
		out[i] = p.Value.Data().([]float32)
	}
	return out
}

// Nodes binds the parameters to graph g: one node per parameter, in order,
// named after it and sharing its tensor, so that an update of the tensor is
// seen by every graph.
func (s *Set) Nodes(g *gorgonia.ExprGraph) gorgonia.Nodes {
	out := make(gorgonia.Nodes, len(s.Params))
	for i, p := range s.Params {
		out[i] = gorgonia.NodeFromAny(g, p.Value, gorgonia.WithName(p.Name))
	}
	return out
}

// Lookup finds the nodes of a set's parameters by name. The first name it
// cannot find is kept as its error; Node then returns nil, so network code
// may take several weights and check Err once before using them.
type Lookup struct {
	set   *Set
	nodes gorgonia.Nodes
	err   error
}

// Lookup returns a Lookup over nodes, the set's parameters as Nodes bound
// them to a graph or as nodes standing for them in the same order (the
// values after an update, say).
func (s *Set) Lookup(nodes gorgonia.Nodes) *Lookup {
	l := &Lookup{set: s, nodes: nodes}
	if len(nodes) != len(s.Params) {
		l.err = fmt.Errorf("params: %d nodes for %d parameters", len(nodes), len(s.Params))
	}
	return l
}

// Node returns the node of the parameter called name, or nil (and Err
// names it) when the set has none.
func (l *Lookup) Node(name string) *gorgonia.Node {
	if l.err != nil {
		return nil
	}
	i := l.set.Index(name)
	if i < 0 {
		l.err = fmt.Errorf("params: no parameter %q", name)
		return nil
	}
	return l.nodes[i]
}

// BatchNorm returns the running statistics of the BatchNorm layer called
// name, or nil (and Err names it) when the set has none.
func (l *Lookup) BatchNorm(name string) *nn.BNStats {
	if l.err != nil {
		return nil
	}
	st := l.set.BatchNorm(name)
	if st == nil {
		l.err = fmt.Errorf("params: no BatchNorm statistics %q", name)
	}
	return st
}

// Err returns the first lookup that failed, or nil.
func (l *Lookup) Err() error { return l.err }

// statsName is the checkpoint name stem of the statistics of s.BN[i].
func (s *Set) statsName(i int) string {
	if s.StatsPrefix != "" {
		return fmt.Sprintf("%s.bnstats%d", s.StatsPrefix, i)
	}
	return s.BN[i].Name
}

// AddTo adds the parameters (under their names, with their shapes) and the
// BatchNorm statistics (see the package comment for their names) to c. The
// data are referenced, not copied.
func (s *Set) AddTo(c *checkpoint.Checkpoint) {
	for _, p := range s.Params {
		c.Add(p.Name, p.Value.Data().([]float32), p.Value.Shape()...)
	}
	for i, st := range s.BN {
		name := s.statsName(i)
		c.Add(name+".mean", st.Mean, len(st.Mean))
		c.Add(name+".var", st.Var, len(st.Var))
	}
}

// RestoreFrom copies the parameters and BatchNorm statistics that AddTo
// wrote from c into the set's tensors (in place: graphs bound to them see
// the restored values). A tensor c lacks, or whose shape differs from the
// set's, is an error naming it. Tensors of c that the set does not have
// are ignored.
func (s *Set) RestoreFrom(c *checkpoint.Checkpoint) error {
	for _, p := range s.Params {
		t, ok := c.Get(p.Name)
		if !ok {
			return fmt.Errorf("params: the checkpoint has no tensor %q", p.Name)
		}
		if want := p.Value.Shape(); !slices.Equal(t.Shape, want) || len(t.Data) != want.TotalSize() {
			return fmt.Errorf("params: tensor %q has shape %v, the network's is %v", p.Name, t.Shape, []int(want))
		}
		copy(p.Value.Data().([]float32), t.Data)
	}
	for i, st := range s.BN {
		name := s.statsName(i)
		if err := into(c, name+".mean", st.Mean); err != nil {
			return err
		}
		if err := into(c, name+".var", st.Var); err != nil {
			return err
		}
	}
	return nil
}

// into copies the tensor called name of c into dst, which it must fill.
func into(c *checkpoint.Checkpoint, name string, dst []float32) error {
	t, ok := c.Get(name)
	if !ok {
		return fmt.Errorf("params: the checkpoint has no tensor %q", name)
	}
	if len(t.Data) != len(dst) {
		return fmt.Errorf("params: tensor %q has %d values, the network's %d", name, len(t.Data), len(dst))
	}
	copy(dst, t.Data)
	return nil
}
