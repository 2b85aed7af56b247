package psp

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/anogo/anogo/sdk/dpa"
	"github.com/anogo/anogo/sdk/params"
)

// The fixture is PyTorch's float64 forward pass and loss gradients of the
// encoder through the tests' generator, and numpy's W+ scores, written by
// testdata/make_fixture.py (its docstring has the layout).

type fxTensor struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

type fxCase struct {
	F32GradErr    float64              `json:"f32_grad_rel_err"`
	Size          int                  `json:"size"`
	NumWs         int                  `json:"num_ws"`
	WDim          int                  `json:"w_dim"`
	Width         int                  `json:"width"`
	Blocks        int                  `json:"blocks"`
	GenC0         int                  `json:"gen_c0"`
	FeaturesWidth int                  `json:"features_width"`
	N             int                  `json:"n"`
	Params        map[string]fxTensor  `json:"params"`
	Features      map[string]fxTensor  `json:"features"`
	Gen           map[string]fxTensor  `json:"gen"`
	WAvg          []float64            `json:"w_avg"`
	X             []float64            `json:"x"`
	Ws            []float64            `json:"ws"`
	Recon         []float64            `json:"recon"`
	L2            []float64            `json:"l2"`
	LPIPS         []float64            `json:"lpips"`
	Loss          float64              `json:"loss"`
	Grads         map[string][]float64 `json:"grads"`
}

type fxLatent struct {
	NumWs     int       `json:"num_ws"`
	WDim      int       `json:"w_dim"`
	K         int       `json:"k"`
	Train     []float64 `json:"train"`
	Query     []float64 `json:"query"`
	Mean      []float64 `json:"mean"`
	Shrinkage []float64 `json:"shrinkage"`
	Cov       []float64 `json:"cov"`
	Maha      []float64 `json:"maha"`
	KNN       []float64 `json:"knn"`
	L2        []float64 `json:"l2"`
	MahaTrain []float64 `json:"maha_train"`
	KNNTrain  []float64 `json:"knn_train"`
}

type fixture struct {
	Cases  []fxCase `json:"cases"`
	Latent fxLatent `json:"latent"`
}

func loadFixture(t testing.TB) *fixture {
	t.Helper()
	const path = "testdata/fixture.json"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (regenerate with /usr/bin/python3 sdk/psp/testdata/make_fixture.py)", path, err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(f.Cases) != 2 {
		t.Fatalf("%s: %d cases, want 2", path, len(f.Cases))
	}
	return &f
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// relErr is ‖got - want‖ / ‖want‖.
func relErr(got []float32, want []float64) float64 {
	var d, n float64
	for i, w := range want {
		e := float64(got[i]) - w
		d += e * e
		n += w * w
	}
	return math.Sqrt(d / math.Max(n, 1e-300))
}

func checkRel(t *testing.T, what string, got []float32, want []float64, tol float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	e := relErr(got, want)
	if !(e <= tol) {
		t.Errorf("%s: relative error %.3g, allowed %.3g", what, e, tol)
	} else {
		t.Logf("%s: relative error %.2g", what, e)
	}
	return e
}

// setFrom copies the fixture's tensors into s, which must have exactly
// those, with the same shapes.
func setFrom(t *testing.T, s *params.Set, want map[string]fxTensor, prefix string) {
	t.Helper()
	if len(want) != s.Len() {
		t.Fatalf("fixture has %d tensors, the set %d", len(want), s.Len())
	}
	for _, p := range s.Params {
		w, ok := want[p.Name[len(prefix):]]
		if !ok {
			t.Fatalf("fixture lacks %s", p.Name)
		}
		if !p.Value.Shape().Eq(tensor.Shape(w.Shape)) {
			t.Fatalf("%s: shape %v in Go, %v in the fixture", p.Name, p.Value.Shape(), w.Shape)
		}
		copy(p.Value.Data().([]float32), toF32(w.Data))
	}
}

// fixtureSetup builds the case's generator, encoder and feature network.
func fixtureSetup(t *testing.T, c *fxCase) (*testGen, *Model, *dpa.FeatureNet) {
	t.Helper()
	g := &testGen{size: c.Size, numWs: c.NumWs, wdim: c.WDim, c0: c.GenC0, wavg: toF32(c.WAvg)}
	for name, dst := range map[string]*[]float32{"lin.weight": &g.lin, "lin.bias": &g.linB, "conv.weight": &g.conv, "conv.bias": &g.convB, "pix": &g.pix} {
		v, ok := c.Gen[name]
		if !ok {
			t.Fatalf("fixture lacks the generator's %s", name)
		}
		*dst = toF32(v.Data)
	}
	m, err := New(Config{Size: c.Size, NumWs: c.NumWs, WDim: c.WDim, Width: c.Width, Blocks: c.Blocks}, g, 1)
	if err != nil {
		t.Fatal(err)
	}
	setFrom(t, &m.E, c.Params, "")
	fn, err := dpa.NewFeatureNet(dpa.Features{Kind: dpa.Random, Width: c.FeaturesWidth})
	if err != nil {
		t.Fatal(err)
	}
	setFrom(t, &fn.Set, c.Features, "")
	return g, m, fn
}

// The tolerances: float32 values and gradients against PyTorch's float64.
// PyTorch's own float32 gradients differ from its float64 ones by 1.4e-6
// (S = 28) and 5.4e-6 (S = 32) relative over all weights on this fixture
// (its f32_grad_rel_err).
const (
	tolValue = 2e-5
	tolGrad  = 3e-5
)

// TestFixtureEncoder checks the encoder's forward pass, the reconstruction
// through the generator, both loss terms per image, the loss and its
// gradient with respect to every encoder weight against PyTorch.
func TestFixtureEncoder(t *testing.T) {
	f := loadFixture(t)
	for _, c := range f.Cases {
		t.Run(fmt.Sprint(c.Size), func(t *testing.T) {
			g, m, fn := fixtureSetup(t, &c)
			n, s := c.N, c.Size
			gr := gorgonia.NewGraph()
			x := gorgonia.NodeFromAny(gr, tensor.New(tensor.WithShape(n, 1, s, s), tensor.WithBacking(toF32(c.X))), gorgonia.WithName("x"))
			en := m.E.Nodes(gr)
			cfg := DefaultTrainConfig()
			loss, l2, lp, err := m.loss(x, en, g, fn, fn.Set.Nodes(gr), cfg)
			if err != nil {
				t.Fatal(err)
			}
			// The intermediate values, read from the same graph.
			ws, err := m.Encode(x, en, 0)
			if err != nil {
				t.Fatal(err)
			}
			var l2V, lpV gorgonia.Value
			gorgonia.Read(l2, &l2V)
			gorgonia.Read(lp, &lpV)
			grads, err := gorgonia.Grad(loss, en...)
			if err != nil {
				t.Fatal(err)
			}
			vm := gorgonia.NewTapeMachine(gr)
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			checkRel(t, "ws", ws.Value().Data().([]float32), c.Ws, tolValue)
			checkRel(t, "loss", []float32{float32(scalar(loss.Value()))}, []float64{c.Loss}, tolValue)
			var ml2, mlp float64
			for i := range c.L2 {
				ml2 += c.L2[i] / float64(n)
				mlp += c.LPIPS[i] / float64(n)
			}
			checkRel(t, "mean L2", []float32{float32(scalar(l2V))}, []float64{ml2}, tolValue)
			checkRel(t, "mean perceptual", []float32{float32(scalar(lpV))}, []float64{mlp}, tolValue)
			var got []float32
			var want []float64
			worst, worstName := 0.0, ""
			for i, p := range m.E.Params {
				w, ok := c.Grads[p.Name]
				if !ok {
					t.Fatalf("fixture has no gradient of %s", p.Name)
				}
				gv := grads[i].Value().Data().([]float32)
				if e := relErr(gv, w); e > worst {
					worst, worstName = e, p.Name
				}
				got, want = append(got, gv...), append(want, w...)
			}
			e := checkRel(t, "loss gradient", got, want, tolGrad)
			t.Logf("S=%d: %d gradients, relative error of all %.2g (PyTorch's float32: %.2g), worst tensor %s %.2g", s, len(m.E.Params), e, c.F32GradErr, worstName, worst)
		})
	}
}

// TestFixtureScorer checks the scorer's one-pass mapping (codes,
// reconstructions, A_R) against PyTorch.
func TestFixtureScorer(t *testing.T) {
	f := loadFixture(t)
	for _, c := range f.Cases {
		t.Run(fmt.Sprint(c.Size), func(t *testing.T) {
			g, m, _ := fixtureSetup(t, &c)
			s := c.Size
			x := toF32(c.X)
			mp, err := (&Scorer{Model: m, Gen: g, BatchSize: 3}).Map(t.Context(), samplesOf(x, c.N, s, 0))
			if err != nil {
				t.Fatal(err)
			}
			var ws, rec, r []float32
			for i := range mp.Codes {
				ws, rec = append(ws, mp.Codes[i]...), append(rec, mp.Recon[i]...)
				r = append(r, float32(mp.R[i]))
			}
			checkRel(t, "E(x)", ws, c.Ws, tolValue)
			checkRel(t, "G(E(x))", rec, c.Recon, tolValue)
			checkRel(t, "A_R", r, c.L2, tolValue)
		})
	}
}

// TestFixtureLatent checks the Ledoit–Wolf fit and the Mahalanobis, kNN
// and L2 scores against numpy's (scikit-learn's Ledoit–Wolf formula,
// np.linalg.solve, a full distance matrix), and the kNN and Mahalanobis
// scores again against plain float64 loops here.
func TestFixtureLatent(t *testing.T) {
	const tol = 1e-9
	fl := loadFixture(t).Latent
	d := fl.NumWs * fl.WDim
	codes := func(v []float64) [][]float32 {
		var out [][]float32
		for i := 0; i+d <= len(v); i += d {
			out = append(out, toF32(v[i:i+d]))
		}
		return out
	}
	train, query := codes(fl.Train), codes(fl.Query)
	l, err := FitLatent(train, fl.NumWs, fl.WDim, fl.K)
	if err != nil {
		t.Fatal(err)
	}
	// The fit: means and shrinkages in float64, the stored float32 factors.
	for i, w := range fl.Mean {
		if math.Abs(float64(l.Mean[i])-w) > 1e-6*math.Max(1, math.Abs(w)) {
			t.Errorf("mean %d: %v, numpy %v", i, l.Mean[i], w)
		}
	}
	for ly, w := range fl.Shrinkage {
		if math.Abs(l.Shrinkage[ly]-w) > tol {
			t.Errorf("layer %d: shrinkage %v, numpy %v", ly, l.Shrinkage[ly], w)
		}
		t.Logf("layer %d: Ledoit–Wolf shrinkage %.4f", ly, w)
		// L Lᵀ against numpy's covariance.
		wd := fl.WDim
		c := l.Chol[ly*wd*wd:]
		for i := range wd {
			for j := range wd {
				var s float64
				for k := 0; k <= min(i, j); k++ {
					s += float64(c[i*wd+k]) * float64(c[j*wd+k])
				}
				w := fl.Cov[ly*wd*wd+i*wd+j]
				if math.Abs(s-w) > 1e-6*math.Max(1, math.Abs(w)) {
					t.Errorf("layer %d: covariance (%d, %d) %v, numpy %v", ly, i, j, s, w)
				}
			}
		}
	}
	// The scores: within float32 rounding of the fit (the mean and the
	// factors are stored as float32).
	const tolScore = 1e-5
	closeTo := func(what string, got, want []float64) {
		t.Helper()
		for i := range want {
			if !(math.Abs(got[i]-want[i]) <= tolScore*math.Max(1, math.Abs(want[i]))) {
				t.Errorf("%s %d: %v, reference %v", what, i, got[i], want[i])
			}
		}
	}
	var maha, l2, mahaTrain []float64
	for _, w := range query {
		maha, l2 = append(maha, l.Mahalanobis(w)), append(l2, l.L2(w))
	}
	for _, w := range train {
		mahaTrain = append(mahaTrain, l.Mahalanobis(w))
	}
	self := make([]int, len(train))
	for i := range self {
		self[i] = i
	}
	closeTo("Mahalanobis", maha, fl.Maha)
	closeTo("Mahalanobis (training codes)", mahaTrain, fl.MahaTrain)
	closeTo("L2", l2, fl.L2)
	// kNN involves no fitted value: float64 throughout.
	knn, knnTrain := l.KNN(query, nil), l.KNN(train, self)
	for i := range fl.KNN {
		if math.Abs(knn[i]-fl.KNN[i]) > 1e-6*fl.KNN[i] {
			t.Errorf("kNN %d: %v, numpy %v", i, knn[i], fl.KNN[i])
		}
	}
	for i := range fl.KNNTrain {
		if math.Abs(knnTrain[i]-fl.KNNTrain[i]) > 1e-6*fl.KNNTrain[i] {
			t.Errorf("kNN of training code %d (left out): %v, numpy %v", i, knnTrain[i], fl.KNNTrain[i])
		}
	}
	// Plain float64 loops: kNN by sorting all distances, Mahalanobis by
	// solving with the stored factor's product L Lᵀ by Gaussian
	// elimination.
	for i, w := range query {
		ds := make([]float64, len(train))
		for j, tr := range train {
			var q float64
			for k := range w {
				e := float64(w[k]) - float64(tr[k])
				q += e * e
			}
			ds[j] = math.Sqrt(q)
		}
		sortFloats(ds)
		var s float64
		for _, v := range ds[:fl.K] {
			s += v / float64(fl.K)
		}
		if math.Abs(s-knn[i]) > 1e-9*s {
			t.Errorf("kNN %d: %v, plain loop %v", i, knn[i], s)
		}
		if ref := mahaRef(l, w); math.Abs(ref-maha[i]) > 1e-9*math.Max(1, ref) {
			t.Errorf("Mahalanobis %d: %v, Gaussian elimination %v", i, maha[i], ref)
		}
	}
}

func sortFloats(v []float64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// mahaRef computes Σ_l dᵀ (L Lᵀ)⁻¹ d by Gaussian elimination with partial
// pivoting on the stored factors.
func mahaRef(l *Latent, w []float32) float64 {
	wd := l.WDim
	var total float64
	for ly := 0; ly < l.NumWs; ly++ {
		c := l.Chol[ly*wd*wd:]
		a := make([][]float64, wd)
		d := make([]float64, wd)
		for i := range wd {
			a[i] = make([]float64, wd+1)
			for j := range wd {
				for k := 0; k <= min(i, j); k++ {
					a[i][j] += float64(c[i*wd+k]) * float64(c[j*wd+k])
				}
			}
			d[i] = float64(w[ly*wd+i]) - float64(l.Mean[ly*wd+i])
			a[i][wd] = d[i]
		}
		for col := range wd {
			p := col
			for r := col + 1; r < wd; r++ {
				if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
					p = r
				}
			}
			a[col], a[p] = a[p], a[col]
			for r := col + 1; r < wd; r++ {
				f := a[r][col] / a[col][col]
				for k := col; k <= wd; k++ {
					a[r][k] -= f * a[col][k]
				}
			}
		}
		y := make([]float64, wd)
		for i := wd - 1; i >= 0; i-- {
			s := a[i][wd]
			for k := i + 1; k < wd; k++ {
				s -= a[i][k] * y[k]
			}
			y[i] = s / a[i][i]
		}
		for i := range wd {
			total += d[i] * y[i]
		}
	}
	return total
}
