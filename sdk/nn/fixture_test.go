package nn

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"testing"

	"gorgonia.org/gorgonia"
)

// fixtureTensor is a tensor as make_fixture.py writes it.
type fixtureTensor struct {
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"`
}

type fixtureCase struct {
	Name   string                   `json:"name"`
	Op     string                   `json:"op"`
	Params map[string]any           `json:"params"`
	Inputs map[string]fixtureTensor `json:"inputs"`
	R      fixtureTensor            `json:"R"`
	Out    fixtureTensor            `json:"out"`
	Grads  map[string]fixtureTensor `json:"grads"`
	Extra  map[string]fixtureTensor `json:"extra"`
}

func loadFixture(t *testing.T) []fixtureCase {
	t.Helper()
	return loadFixtureFile(t, "testdata/fixture.json", "make_fixture.py")
}

// loadFixtureFile reads the cases of a fixture file written by the script
// (in testdata) that the error message names.
func loadFixtureFile(t *testing.T, path, script string) []fixtureCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (regenerate with /usr/bin/python3 testdata/%s)", path, err, script)
	}
	var f struct {
		Cases []fixtureCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s: no cases", path)
	}
	return f.Cases
}

func param(c fixtureCase, name string) float64 {
	v, ok := c.Params[name].(float64)
	if !ok {
		panic(fmt.Sprintf("fixture case %s: no numeric parameter %q", c.Name, name))
	}
	return v
}

var actByName = map[string]Act{
	"identity": Identity, "relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid,
}

// TestPyTorchFixture runs every case of testdata/fixture.json (made by
// make_fixture.py with PyTorch 1.13) and compares the output, the gradients
// of sum(out·R) with respect to every input and, for BatchNorm, the running
// statistics.
func TestPyTorchFixture(t *testing.T) {
	// float32 sums of up to 300 products in another order than PyTorch's
	// differ by a few ulps: the largest difference seen, relative to the
	// largest value of its tensor, is 3e-7.
	const tol = 1e-5
	for _, c := range loadFixture(t) {
		runFixtureCase(t, c, tol, func(in map[string]*gorgonia.Node) (out *gorgonia.Node, stats map[string]*BNStats, err error) {
			var st *BNStats
			switch c.Op {
			case "conv2d":
				out, err = Conv2d(in["x"], in["w"], int(param(c, "stride")), int(param(c, "pad")), 0)
			case "conv_transpose2d":
				out, err = ConvTranspose2d(in["x"], in["w"], int(param(c, "stride")), int(param(c, "pad")), int(param(c, "out_pad")), 0)
			case "linear":
				out, err = Linear(in["x"], in["w"], 0)
			case "batchnorm":
				st = &BNStats{
					Mean:     append([]float32(nil), c.Extra["running_mean_before"].Data...),
					Var:      append([]float32(nil), c.Extra["running_var_before"].Data...),
					Momentum: float32(param(c, "momentum")),
					Eps:      float32(param(c, "eps")),
				}
				out, err = BatchNorm(in["x"], in["gamma"], in["beta"], st, c.Params["train"] == true, 0)
			case "biasact":
				act, ok := actByName[c.Params["act"].(string)]
				if !ok {
					t.Fatalf("%s: unknown activation %v", c.Name, c.Params["act"])
				}
				out, err = BiasAct(in["x"], in["b"], act, float32(param(c, "alpha")), 0)
			case "bce_with_logits":
				out, err = BCEWithLogits(in["logits"], float32(param(c, "target")))
			case "abs_diff_sum":
				out, err = AbsDiffSum(in["a"], in["b"], 0)
			default:
				return nil, nil, fmt.Errorf("unknown op %q", c.Op)
			}
			if st != nil {
				stats = map[string]*BNStats{"": st}
			}
			return out, stats, err
		})
	}
}

// runFixtureCase builds one fixture case's inputs as graph inputs, its
// layer with build, and compares the output, the gradients of sum(out·R)
// with respect to every input and the running statistics of every
// BatchNorm build reports (Extra "<name>.running_mean", or "running_mean"
// for the name "") with tol.
func runFixtureCase(t *testing.T, c fixtureCase, tol float64, build func(map[string]*gorgonia.Node) (*gorgonia.Node, map[string]*BNStats, error)) {
	t.Helper()
	g := gorgonia.NewGraph()
	names := make([]string, 0, len(c.Inputs))
	for n := range c.Inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	in := map[string]*gorgonia.Node{}
	for _, n := range names {
		ft := c.Inputs[n]
		in[n] = newInput(g, n, append([]float32(nil), ft.Data...), ft.Shape...)
	}
	out, stats, err := build(in)
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	r := newInput(g, "R", append([]float32(nil), c.R.Data...), out.Shape()...)
	loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.HadamardProd(out, r))))
	var outVal gorgonia.Value
	gorgonia.Read(out, &outVal)
	wrt := make(gorgonia.Nodes, len(names))
	for i, n := range names {
		wrt[i] = in[n]
	}
	grads, err := gorgonia.Grad(loss, wrt...)
	if err != nil {
		t.Fatalf("%s: Grad: %v", c.Name, err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatalf("%s: run: %v", c.Name, err)
	}
	got, err := float32s(outVal)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, c.Name+" out", got, c.Out.Data, tol)
	for i, n := range names {
		compare(t, c.Name+" ∂"+n, values(t, grads[i]), c.Grads[n].Data, tol)
	}
	for name, st := range stats {
		key := "running_"
		if name != "" {
			key = name + ".running_"
		}
		compare(t, c.Name+" "+name+" running mean", st.Mean, c.Extra[key+"mean"].Data, tol)
		compare(t, c.Name+" "+name+" running var", st.Var, c.Extra[key+"var"].Data, tol)
	}
}

// compare fails unless max|got - want| ≤ tol·max(1, max|want|).
func compare(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	if d := maxRelDiff(got, want); d > tol || math.IsNaN(d) {
		t.Errorf("%s: differs by %.3g (relative to the largest value), tol %g", what, d, tol)
	} else if testing.Verbose() {
		t.Logf("%s: relative difference %.3g", what, d)
	}
}
