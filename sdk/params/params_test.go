package params

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/checkpoint"
	"github.com/anogo/anogo/sdk/optim"
)

func dense(vals []float32, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(vals))
}

// layer returns a set of one linear layer and one BatchNorm layer whose
// values are offset by off, so that two sets built alike differ.
func layer(off float32) *Set {
	s := &Set{}
	s.Add("fc.w", dense([]float32{1 + off, 2, 3, 4, 5, 6}, 2, 3))
	st := s.AddBN("bn", 2)
	st.Mean[0], st.Var[1] = off, 2+off
	s.Add("fc.b", dense([]float32{off, -off}, 2))
	return s
}

func TestAddAndGet(t *testing.T) {
	s := layer(0)
	if got := []string{s.Params[0].Name, s.Params[1].Name, s.Params[2].Name, s.Params[3].Name}; !slices.Equal(got, []string{"fc.w", "bn.gamma", "bn.beta", "fc.b"}) {
		t.Errorf("names %v", got)
	}
	if g := s.Get("bn.gamma").Data().([]float32); !slices.Equal(g, []float32{1, 1}) {
		t.Errorf("gamma %v, want ones", g)
	}
	if s.Get("nope") != nil || s.BatchNorm("nope") != nil || s.Index("nope") != -1 {
		t.Error("a missing name was found")
	}
	if s.BatchNorm("bn").Var[1] != 2 || s.Len() != 4 || len(s.Values()) != 4 {
		t.Errorf("BatchNorm %+v, Len %d", s.BatchNorm("bn"), s.Len())
	}
	for i, f := range []func(){
		func() { s.Add("fc.w", dense([]float32{1}, 1)) },
		func() { s.AddBN("bn", 2) },
		func() { s.Add("f64", tensor.New(tensor.WithShape(1), tensor.WithBacking([]float64{1}))) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "params: ") {
					t.Errorf("case %d: recovered %v, want a params panic", i, r)
				}
			}()
			f()
		}()
	}
}

// TestLookupByName: nodes are found by name whatever the order of the
// parameters; a missing name, or nodes that are not the set's, is an error
// naming it.
func TestLookupByName(t *testing.T) {
	s := layer(0)
	g := gorgonia.NewGraph()
	slices.Reverse(s.Params)
	l := s.Lookup(s.Nodes(g))
	if n := l.Node("fc.w"); n == nil || n.Value().(*tensor.Dense) != s.Get("fc.w") {
		t.Fatalf("fc.w: %v", n)
	}
	if l.BatchNorm("bn") != s.BN[0].BNStats || l.Err() != nil {
		t.Fatalf("bn: %v", l.Err())
	}
	if l.Node("conv.w") != nil || l.Err() == nil || !strings.Contains(l.Err().Error(), `"conv.w"`) {
		t.Errorf("missing parameter: %v", l.Err())
	}
	if l := s.Lookup(s.Nodes(g)); l.BatchNorm("bn2") != nil || l.Err() == nil || !strings.Contains(l.Err().Error(), `"bn2"`) {
		t.Errorf("missing statistics: %v", l.Err())
	}
	if l := s.Lookup(s.Nodes(g)[1:]); l.Node("fc.w") != nil || l.Err() == nil {
		t.Errorf("3 nodes for 4 parameters: %v", l.Err())
	}
}

// TestCheckpointRoundTrip: AddTo, Save, Load and RestoreFrom give the
// values back, into tensors whose graphs see them, under the names the
// package comment gives.
func TestCheckpointRoundTrip(t *testing.T) {
	for i, c := range []struct {
		prefix string
		stats  []string
	}{
		{"", []string{"bn.mean", "bn.var"}},
		{"x", []string{"x.bnstats0.mean", "x.bnstats0.var"}},
	} {
		src, dst := layer(1), layer(0)
		src.StatsPrefix, dst.StatsPrefix = c.prefix, c.prefix
		ck := &checkpoint.Checkpoint{Kind: "test"}
		src.AddTo(ck)
		var names []string
		for _, x := range ck.Tensors {
			names = append(names, x.Name)
		}
		if want := append([]string{"fc.w", "bn.gamma", "bn.beta", "fc.b"}, c.stats...); !slices.Equal(names, want) {
			t.Errorf("%d: names %v, want %v", i, names, want)
		}
		path := filepath.Join(t.TempDir(), "p.ckpt")
		if err := checkpoint.Save(path, ck); err != nil {
			t.Fatal(err)
		}
		ld, err := checkpoint.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		w := dst.Get("fc.w")
		if err := dst.RestoreFrom(ld); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if dst.Get("fc.w") != w {
			t.Errorf("%d: RestoreFrom replaced a tensor instead of filling it", i)
		}
		for j := range src.Params {
			if a, b := src.Params[j].Value.Data().([]float32), dst.Params[j].Value.Data().([]float32); !slices.Equal(a, b) {
				t.Errorf("%d: %s restored as %v, saved %v", i, src.Params[j].Name, b, a)
			}
		}
		if !slices.Equal(dst.BN[0].Mean, src.BN[0].Mean) || !slices.Equal(dst.BN[0].Var, src.BN[0].Var) {
			t.Errorf("%d: statistics restored as %+v, saved %+v", i, *dst.BN[0].BNStats, *src.BN[0].BNStats)
		}
	}
}

// TestRestoreErrors: a missing or mis-shaped tensor is an error naming it.
func TestRestoreErrors(t *testing.T) {
	full := &checkpoint.Checkpoint{}
	layer(1).AddTo(full)
	drop := func(name string) *checkpoint.Checkpoint {
		c := &checkpoint.Checkpoint{}
		for _, x := range full.Tensors {
			if x.Name != name {
				c.Tensors = append(c.Tensors, x)
			}
		}
		return c
	}
	reshaped := drop("fc.w")
	reshaped.Add("fc.w", make([]float32, 6), 3, 2)
	short := drop("bn.var")
	short.Add("bn.var", make([]float32, 3), 3)
	for i, c := range []struct {
		ck   *checkpoint.Checkpoint
		want string
	}{
		{drop("fc.b"), `no tensor "fc.b"`},
		{drop("bn.mean"), `no tensor "bn.mean"`},
		{reshaped, `"fc.w" has shape [3 2], the network's is [2 3]`},
		{short, `"bn.var" has 3 values, the network's 2`},
	} {
		if err := layer(0).RestoreFrom(c.ck); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d: %v, want an error containing %s", i, err, c.want)
		}
	}
}

// TestAdamRoundTrip: the state of one optimiser of two sets, saved and
// restored by name into a fresh optimiser, continues exactly as the
// original does.
func TestAdamRoundTrip(t *testing.T) {
	a, b := layer(0), &Set{}
	b.Add("enc.w", dense([]float32{0.5, -0.5, 0.25}, 3))
	grads := func(step int) [][]float32 {
		var out [][]float32
		for _, s := range []*Set{a, b} {
			for _, p := range s.Params {
				g := make([]float32, p.Value.Shape().TotalSize())
				for j := range g {
					g[j] = float32((j+1)*(step%3+1)) * 0.1
				}
				out = append(out, g)
			}
		}
		return out
	}
	values := func() [][]float32 { return append(a.Values(), b.Values()...) }
	opt := optim.NewAdam(0.01, 0.5)
	for step := 0; step < 3; step++ {
		if err := opt.Update(values(), grads(step)); err != nil {
			t.Fatal(err)
		}
	}
	ck := &checkpoint.Checkpoint{}
	AddAdam(ck, "adam", opt, a, b)
	if _, ok := ck.Get("adam.m.enc.w"); !ok {
		t.Fatal("no adam.m.enc.w")
	}
	got := optim.NewAdam(0.01, 0.5)
	if err := RestoreAdam(ck, "adam", got, a, b); err != nil {
		t.Fatal(err)
	}
	if got.T != 3 {
		t.Fatalf("T %d, want 3", got.T)
	}
	saved := values()
	for i := range saved {
		saved[i] = slices.Clone(saved[i])
	}
	if err := opt.Update(values(), grads(3)); err != nil {
		t.Fatal(err)
	}
	want := values()
	for i := range want {
		want[i] = slices.Clone(want[i])
		copy(values()[i], saved[i])
	}
	if err := got.Update(values(), grads(3)); err != nil {
		t.Fatal(err)
	}
	for i, v := range values() {
		if !slices.Equal(v, want[i]) {
			t.Errorf("parameter %d after the restored step: %v, want %v", i, v, want[i])
		}
	}

	// The step count is exact beyond float32's integers.
	opt.T = 1<<30 + 7
	ck = &checkpoint.Checkpoint{}
	AddAdam(ck, "adam", opt, a, b)
	if err := RestoreAdam(ck, "adam", got, a, b); err != nil || got.T != 1<<30+7 {
		t.Errorf("T %d (%v), want %d", got.T, err, 1<<30+7)
	}

	// Without prefix.t (older files) the caller's T stands; a missing
	// moment is an error naming it.
	var old, broken checkpoint.Checkpoint
	for _, x := range ck.Tensors {
		if x.Name != "adam.t" {
			old.Tensors = append(old.Tensors, x)
		}
		if x.Name != "adam.v.bn.beta" {
			broken.Tensors = append(broken.Tensors, x)
		}
	}
	fresh := optim.NewAdam(0.01, 0.5)
	if err := RestoreAdam(&old, "adam", fresh, a, b); err != nil || fresh.M != nil {
		t.Errorf("T 0 without adam.t: %v, moments %v", err, fresh.M)
	}
	fresh.T = 5
	if err := RestoreAdam(&old, "adam", fresh, a, b); err != nil || fresh.T != 5 || len(fresh.M) != 5 {
		t.Errorf("T 5 without adam.t: %v, T %d, %d moments", err, fresh.T, len(fresh.M))
	}
	if err := RestoreAdam(&broken, "adam", optim.NewAdam(0.01, 0.5), a, b); err == nil || !strings.Contains(err.Error(), `"adam.v.bn.beta"`) {
		t.Errorf("a missing moment: %v", err)
	}
}

func TestAddAdamPanics(t *testing.T) {
	a := layer(0)
	opt := optim.NewAdam(0.01, 0.5)
	if err := opt.Update(a.Values(), a.Values()); err != nil {
		t.Fatal(err)
	}
	for i, sets := range [][]*Set{{a, a}, {a, {Params: []Param{{"x", dense([]float32{1}, 1)}}}}, {}} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "params: ") {
					t.Errorf("case %d: recovered %v, want a params panic", i, r)
				}
			}()
			AddAdam(&checkpoint.Checkpoint{}, "adam", opt, sets...)
		}()
	}
}
